"""Frame clips as every tool sees them: validation, dtype conversion and the package's error type."""

from __future__ import annotations

import numpy as np


class FrameError(ValueError):
    """Bad frames or settings for a frame tool; the message is one line naming what, the value and what is allowed."""


def check_frames(frames, name: str = "frames") -> np.ndarray:
    """Return `frames` as an (F, H, W, 3) array after checking it is a non-empty uint8 or float clip."""
    try:
        array = np.asarray(frames)
    except ValueError as error:  # ragged lists of frames
        raise FrameError(f"{name}: frames of different sizes cannot form one clip ({error})") from None
    if array.ndim != 4 or array.shape[-1] != 3:
        raise FrameError(f"{name}: expected an array of shape (F, H, W, 3), got shape {array.shape}")
    if array.shape[0] == 0:
        raise FrameError(f"{name}: zero-length clip; at least 1 frame is needed")
    if array.shape[1] == 0 or array.shape[2] == 0:
        raise FrameError(f"{name}: frames of size {array.shape[2]}x{array.shape[1]} are empty")
    if array.dtype != np.uint8 and not np.issubdtype(array.dtype, np.floating):
        raise FrameError(f"{name}: dtype {array.dtype} is not allowed; use uint8 or float in [0, 1]")
    return array


def check_image(image, name: str = "image") -> np.ndarray:
    """Return `image` as an (H, W, 3) array after checking it like a one-frame clip."""
    array = np.asarray(image)
    if array.ndim != 3:
        raise FrameError(f"{name}: expected an image of shape (H, W, 3), got shape {array.shape}")
    return check_frames(array[None], name)[0]


def check_positive(name: str, value: float) -> float:
    """Return `value` as a float after checking it is a finite number above zero."""
    number = float(value)
    if not np.isfinite(number) or number <= 0:
        raise FrameError(f"{name}: {value} is not allowed; it must be a number above 0")
    return number


def to_float(frames: np.ndarray) -> np.ndarray:
    """Frames as float32 in [0, 1] (uint8 is divided by 255, floats are clipped)."""
    if frames.dtype == np.uint8:
        return frames.astype(np.float32) / 255.0
    return np.clip(frames, 0.0, 1.0).astype(np.float32, copy=False)


def to_uint8(frames: np.ndarray) -> np.ndarray:
    """Frames as uint8 (floats in [0, 1] are scaled, rounded and clipped)."""
    if frames.dtype == np.uint8:
        return frames
    return (np.clip(frames, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def like(frames: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Float frames in [0, 1] converted back to the dtype family of `reference` (uint8 stays uint8, floats give float32)."""
    return to_uint8(frames) if reference.dtype == np.uint8 else to_float(frames)
