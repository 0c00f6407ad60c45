"""The one error type of the cameras package."""


class CameraError(ValueError):
    """A bad camera spec or argument: one line naming the setting, what was given and what is allowed."""
