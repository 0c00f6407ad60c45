"""The one error type every front door turns into a single line and exit code 2."""


class UsageError(ValueError):
    """A bad request: the message names the setting, what was given and what is allowed."""
