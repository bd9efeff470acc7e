"""Errors of the legacy API that need more than a built-in type."""


class MissingOutputError(KeyError):
    """A model step returned a dict without a key the runner or a hook needs.
    A ``KeyError`` (what mmcv raised) whose message prints as written."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ''
