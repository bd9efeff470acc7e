"""Config files and dicts with attribute access, inheritance and overrides."""
from .config import Config, import_modules_from_strings
from .config_dict import ConfigDict
from .dict_action import DictAction

__all__ = ['Config', 'ConfigDict', 'DictAction', 'import_modules_from_strings']
