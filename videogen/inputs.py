"""Input files of the conditioned modes: images, clips, masks and outpaint specs, read as float frames in [0, 1].

Images are read by PIL in any mode it knows. Palette, grey, bilevel and CMYK images are converted to RGB
(CMYK without colour management); 16-bit grey is scaled from 65535 and 16-bit RGB is read at 8 bits.
Transparency is refused in images (what lies under it is undefined: flatten the image first) and multiplies
masks (transparent = keep). Float images and files PIL cannot read are one-line UsageErrors.

Masks: white (at least 50% grey) = regenerate, black = keep. A mask file must have the input's size: it is
not resized to fit, because a stretched mask silently regenerates the wrong place. It follows the input
through any resize to the working size, as do `rect:X,Y,W,H` and `ellipse:CX,CY,RX,RY` specs, which are in
the input's pixels.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from postprocess import FrameError
from postprocess.frames import to_float
from postprocess.read import probe, read_video
from videogen.errors import UsageError

SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I")
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi", ".gif")
STILL_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
NOT_A_CLIP = "is not a readable video (use MP4, WebM, MOV, GIF or a folder of PNG frames)"
MASK_SHAPE = re.compile(r"^(rect|ellipse):\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*$")
OUTPAINT_HELP = "use PIXELS (every side), SIDE=PIXELS pairs such as left=64,right=64, or an aspect ratio such as 16:9"
SIDES = ("top", "right", "bottom", "left")


def is_video_path(path: str | Path) -> bool:
    """A clip (video file, GIF or folder of PNG frames) rather than a still image, judged by its name."""
    path = Path(path)
    return path.is_dir() or path.suffix.lower() in VIDEO_SUFFIXES


def _existing(path: str | Path, setting: str) -> Path:
    path = Path(path).expanduser()
    if not path.exists():
        raise UsageError(f"{setting}: {path} does not exist")
    return path


def _existing_clip(path: str | Path, setting: str) -> Path:
    path = _existing(path, setting)
    if path.suffix.lower() in STILL_SUFFIXES:  # FFmpeg would read it as a one-frame clip
        raise UsageError(f"{setting}: {path} is a still image, not a clip; pass it as an image (init_image, --image)")
    return path


def read_pixels(path: str | Path, setting: str) -> tuple[np.ndarray, np.ndarray | None]:
    """An image file as RGB (H, W, 3) float32 in [0, 1] and its alpha (H, W) in [0, 1], or None when it has none."""
    path = _existing(path, setting)
    try:
        with Image.open(path) as image:
            image.load()
    except (UnidentifiedImageError, OSError, ValueError) as error:
        reason = "not an image PIL can read" if isinstance(error, UnidentifiedImageError) else f"unreadable ({error})"
        raise UsageError(f"{setting}: {path} is {reason}; use PNG, JPEG, WebP, TIFF or BMP") from None
    if image.mode in SIXTEEN_BIT_MODES:
        grey = np.asarray(image, dtype=np.float32) / 65535.0
        return np.repeat(np.clip(grey, 0, 1)[..., None], 3, axis=-1), None
    if image.mode == "F":
        raise UsageError(f"{setting}: {path} is a floating-point image (mode F); save it as an 8- or 16-bit image")
    has_alpha = "A" in image.getbands() or "transparency" in image.info
    if not has_alpha:
        return to_float(np.asarray(image.convert("RGB"))), None
    rgba = to_float(np.asarray(image.convert("RGBA")))
    return rgba[..., :3], rgba[..., 3]


def load_image(path: str | Path, setting: str = "init_image") -> np.ndarray:
    """An image file as (H, W, 3) float32 in [0, 1]; UsageError for non-images and transparent pixels."""
    rgb, alpha = read_pixels(path, setting)
    if alpha is not None and alpha.min() < 1:
        raise UsageError(f"{setting}: {path} has transparent pixels; flatten it onto a background first (to regenerate them, pass them as a mask)")
    return rgb


def load_video(path: str | Path, setting: str = "init_video") -> tuple[np.ndarray, Fraction]:
    """A clip as (F, H, W, 3) float32 in [0, 1] and its frame rate; UsageError for anything that is not a clip."""
    path = _existing_clip(path, setting)
    try:
        frames, fps = read_video(path)
    except FrameError:
        raise UsageError(f"{setting}: {path} {NOT_A_CLIP}") from None
    return to_float(frames), fps


def probe_video(path: str | Path, setting: str = "init_video") -> tuple[int, int, int, Fraction]:
    """(frames, width, height, fps) of a clip from its container, without decoding it."""
    path = _existing_clip(path, setting)
    try:
        info = probe(path)
    except FrameError:
        raise UsageError(f"{setting}: {path} {NOT_A_CLIP}") from None
    return info.num_frames, info.width, info.height, info.fps


def working_size(height: int, width: int, target_height: int | None, target_width: int | None, factor: int = 8) -> tuple[int, int]:
    """(height, width) to generate at: the targets, or else the input's size (one target: its aspect) rounded to multiples of `factor`."""
    if target_height and target_width:
        return target_height, target_width
    if target_width:
        target_height = target_width * height / width
    elif target_height:
        target_width = target_height * width / height
    else:
        target_height, target_width = height, width
    return tuple(max(factor, round(side / factor) * factor) for side in (target_height, target_width))


def resize_frames(frames: np.ndarray, height: int, width: int, nearest: bool = False) -> np.ndarray:
    """(F, H, W, C) or (F, H, W) float frames resized to (height, width): area filter when shrinking, cubic when growing."""
    if frames.shape[1:3] == (height, width):
        return frames
    if nearest:
        interpolation = cv2.INTER_NEAREST
    else:
        interpolation = cv2.INTER_AREA if height * width < frames.shape[1] * frames.shape[2] else cv2.INTER_CUBIC
    resized = np.stack([cv2.resize(frame, (width, height), interpolation=interpolation) for frame in frames])
    return np.clip(resized, 0, 1).astype(np.float32)


def draw_mask_shape(spec: str, height: int, width: int) -> np.ndarray | None:
    """`rect:X,Y,W,H` (top-left corner and size) or `ellipse:CX,CY,RX,RY` (centre and radii) in pixels as an (H, W) bool mask; None for other text."""
    match = MASK_SHAPE.match(spec.strip())
    if match is None:
        if spec.strip().startswith(("rect:", "ellipse:")):
            raise UsageError(f"mask: got {spec!r}; use rect:X,Y,W,H or ellipse:CX,CY,RX,RY in whole pixels")
        return None
    shape, a, b, c, d = match.group(1), *map(int, match.groups()[1:])
    canvas = np.zeros((height, width), np.uint8)
    if shape == "rect":
        canvas[max(b, 0) : max(b + d, 0), max(a, 0) : max(a + c, 0)] = 1
    else:
        cv2.ellipse(canvas, (a, b), (c, d), 0, 0, 360, 1, thickness=-1)
    return canvas.astype(bool)


def mask_from_pixels(rgb: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """White (>= 50% grey luma) = regenerate; transparent = keep."""
    luma = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    return (luma if alpha is None else luma * alpha) >= 0.5


def check_mask(mask: np.ndarray, setting: str = "mask") -> np.ndarray:
    """`mask` (bool, 1 = regenerate) unless it selects nothing or everything."""
    if not mask.any():
        raise UsageError(f"{setting}: selects no pixels, so there is nothing to regenerate (white = regenerate, black = keep)")
    if mask.all():
        raise UsageError(f"{setting}: covers every pixel, so nothing of the input is kept; use image_to_image / video_to_video or a text mode")
    return mask


def load_mask(spec: str, height: int, width: int, num_frames: int | None = None) -> np.ndarray:
    """A mask for an input of (height, width) pixels: a shape spec, an image file, or (num_frames given) a mask clip.

    Returns (H, W) bool, or (F, H, W) for a mask clip; True = regenerate. Sizes must match the input's.
    """
    drawn = draw_mask_shape(spec, height, width)
    if drawn is not None:
        return check_mask(drawn)
    if num_frames is not None and is_video_path(spec):
        clip, _ = load_video(spec, "mask")
        if len(clip) != num_frames:
            raise UsageError(f"mask: {spec} has {len(clip)} frames but the input has {num_frames}; give one mask frame per input frame")
        mask, found = mask_from_pixels(clip, None), clip.shape[1:3]
    else:
        rgb, alpha = read_pixels(spec, "mask")
        mask, found = mask_from_pixels(rgb, alpha), rgb.shape[:2]
    if found != (height, width):
        raise UsageError(f"mask: {spec} is {found[1]}x{found[0]} but the input is {width}x{height}; masks are not resized, give one of the input's size")
    return check_mask(mask)


@dataclass(frozen=True)
class Padding:
    """Pixels added on each side of the canvas."""

    top: int
    right: int
    bottom: int
    left: int

    def __iter__(self):
        return iter((self.top, self.right, self.bottom, self.left))


def _round_up(value: int | Fraction, factor: int) -> int:
    return math.ceil(Fraction(value) / factor) * factor


def parse_outpaint(spec: str, height: int, width: int, factor: int = 8) -> Padding:
    """Padding for an outpaint spec on a (height, width) input: `64` (every side), `left=64,right=32`, or an aspect `16:9`.

    Pixel specs must give a canvas whose sides are multiples of `factor`; an aspect grows the short side to
    the ratio (to the nearest multiple of `factor`; the other side up to one), padding both ends evenly.
    """
    text = str(spec).strip().lower()
    try:
        if ":" in text:
            ratio = Fraction(*map(int, text.split(":")))
            if ratio <= 0:
                raise ValueError(text)
            canvas_height, canvas_width = _round_up(height, factor), _round_up(width, factor)
            if Fraction(canvas_width, canvas_height) < ratio:
                canvas_width = max(canvas_width, round(canvas_height * ratio / factor) * factor)
            else:
                canvas_height = max(canvas_height, round(canvas_width / ratio / factor) * factor)
            extra_height, extra_width = canvas_height - height, canvas_width - width
            padding = Padding(extra_height // 2, extra_width - extra_width // 2, extra_height - extra_height // 2, extra_width // 2)
        elif "=" in text:
            sides = dict.fromkeys(SIDES, 0)
            for part in text.split(","):
                side, pixels = (item.strip() for item in part.split("="))
                if side not in sides:
                    raise ValueError(side)
                sides[side] = int(pixels)
            padding = Padding(**sides)
        else:
            padding = Padding(*[int(text)] * 4)
    except (ValueError, ZeroDivisionError, TypeError):
        raise UsageError(f"outpaint: got {spec!r}; {OUTPAINT_HELP}") from None
    if min(padding) < 0 or max(padding) == 0:
        raise UsageError(f"outpaint: got {spec!r}, which adds no pixels to a {width}x{height} input; {OUTPAINT_HELP}")
    new_height, new_width = height + padding.top + padding.bottom, width + padding.left + padding.right
    if new_height % factor or new_width % factor:
        raise UsageError(f"outpaint: {spec!r} makes a {new_width}x{new_height} canvas from {width}x{height}; both sides must be multiples of {factor}")
    return padding
