"""Frame tooling: interpolation, upscaling, colour, transitions, previews and muxing."""

from postprocess.frames import FrameError

__all__ = ["FrameError"]
