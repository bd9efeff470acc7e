"""Small helpers shared by the engine packages."""
from .manager import ManagerMixin

__all__ = ['ManagerMixin']
