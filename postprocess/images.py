"""Still images in and out: PNG, JPEG and WebP, RGB uint8, written atomically."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from postprocess.files import atomic_path
from postprocess.frames import FrameError, check_image, to_uint8

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def is_image_path(path: str | os.PathLike) -> bool:
    """Whether `path` names a still image file by its suffix."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def read_image(path: str | os.PathLike) -> np.ndarray:
    """(H, W, 3) uint8 RGB from an image file."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FrameError(f"input: {path} is not a readable image (missing, corrupt or an unknown format)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def write_image(image, path: str | os.PathLike) -> None:
    """Write an (H, W, 3) RGB image (uint8 or float in [0, 1]) as PNG, JPEG or WebP by the suffix, atomically."""
    suffix = Path(path).suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise FrameError(f"output: {path} has suffix {suffix or '(none)'!r}; use one of {', '.join(IMAGE_SUFFIXES)}")
    image = to_uint8(check_image(image))
    ok, encoded = cv2.imencode(suffix, cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise FrameError(f"output: OpenCV could not encode {path}")
    with atomic_path(path) as temporary:
        temporary.write_bytes(encoded.tobytes())
