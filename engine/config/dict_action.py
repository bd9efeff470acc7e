"""``--cfg-options KEY=VALUE ...`` on the command line, for merge_from_dict."""
from argparse import Action
from typing import Any, List, Tuple


def parse_scalar(text: str) -> Any:
    """'1' -> 1, '0.5' -> 0.5, 'true'/'False' -> bool, 'None' -> None."""
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    if text.lower() in ('true', 'false'):
        return text.lower() == 'true'
    if text == 'None':
        return None
    return text


def _split_top_level(text: str) -> List[str]:
    """Split on commas that are not inside brackets."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char in '([':
            depth += 1
        elif char in ')]':
            depth -= 1
            if depth < 0:
                raise ValueError(f'unbalanced brackets in {text!r}')
        elif char == ',' and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    if depth != 0:
        raise ValueError(f'unbalanced brackets in {text!r}')
    parts.append(text[start:])
    return parts


def parse_value(text: str) -> Any:
    """Parse '1,2', '[a,b]', '(1,[2,3])' or a scalar."""
    text = text.strip('\'"').replace(' ', '')
    bracketed: Tuple[str, str] = ('', '')
    if len(text) >= 2 and (text[0], text[-1]) in (('(', ')'), ('[', ']')):
        bracketed = (text[0], text[-1])
        text = text[1:-1]
    elif ',' not in text:
        return parse_scalar(text)
    items = [parse_value(part) for part in _split_top_level(text) if part]
    return tuple(items) if bracketed[0] == '(' else items


class DictAction(Action):
    """Collect ``KEY=VALUE`` arguments into a dict of parsed values.

    Values may be scalars, comma-separated lists (``a=1,2``) or bracketed,
    nested lists and tuples (``a=[(1,2),(3,4)]``).
    """

    def __call__(self, parser, namespace, values, option_string=None):
        options = dict(getattr(namespace, self.dest, None) or {})
        for item in values or ():
            key, sep, value = item.partition('=')
            if not sep:
                parser.error(
                    f'{option_string or self.dest}: expected KEY=VALUE, got '
                    f'{item!r}')
            options[key] = parse_value(value)
        setattr(namespace, self.dest, options)
