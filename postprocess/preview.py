"""Previews: a labelled contact sheet of frames, PNG output, and a palette GIF."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, PngImagePlugin

from postprocess.files import atomic_path
from postprocess.frames import (
    FrameError,
    check_frames,
    check_image,
    check_positive,
    to_uint8,
)
from postprocess.images import write_image

_FONT = cv2.FONT_HERSHEY_SIMPLEX


def _resize_width(frames: np.ndarray, width: int) -> np.ndarray:
    """Resize uint8 frames to `width` keeping the aspect ratio (area filter when shrinking)."""
    height = max(1, round(frames.shape[1] * width / frames.shape[2]))
    interpolation = cv2.INTER_AREA if width < frames.shape[2] else cv2.INTER_LINEAR
    return np.stack([cv2.resize(frame, (width, height), interpolation=interpolation) for frame in frames])


def _fit_label(text: str, width: int, scale: float) -> tuple[str, float]:
    """Shrink the font scale (down to 0.3) and then cut the text so it fits `width` pixels."""
    text_width = cv2.getTextSize(text, _FONT, 1.0, 1)[0][0]
    scale = max(0.3, min(scale, (width - 4) / max(text_width, 1)))
    while len(text) > 1 and cv2.getTextSize(text, _FONT, scale, 1)[0][0] > width - 4:
        text = text[:-3] + ".." if len(text) > 3 else text[:-1]
    return text, scale


def contact_sheet(
    frames,
    columns: int = 4,
    labels: Sequence[str] | None = None,
    thumb_width: int | None = None,
    gap: int = 4,
    background: tuple[int, int, int] = (24, 24, 24),
) -> np.ndarray:
    """A grid of thumbnails, row by row, with an optional text label under each: a uint8 (H, W, 3) image."""
    frames = to_uint8(check_frames(frames))
    if columns < 1:
        raise FrameError(f"columns: {columns} is not allowed; it must be at least 1")
    if labels is not None and len(labels) != len(frames):
        raise FrameError(f"labels: {len(labels)} labels for {len(frames)} frames; give one label per frame")
    if thumb_width is not None:
        frames = _resize_width(frames, int(check_positive("thumb_width", thumb_width)))
    count, height, width, _ = frames.shape
    columns = min(columns, count)
    rows = -(-count // columns)
    label_scale = max(0.3, width / 400)
    label_height = 0 if labels is None else cv2.getTextSize("Ag", _FONT, label_scale, 1)[0][1] * 2 + 4
    cell_height, cell_width = height + label_height, width
    sheet = np.empty((rows * cell_height + (rows + 1) * gap, columns * cell_width + (columns + 1) * gap, 3), np.uint8)
    sheet[:] = background
    for index, frame in enumerate(frames):
        top = gap + (index // columns) * (cell_height + gap)
        left = gap + (index % columns) * (cell_width + gap)
        sheet[top : top + height, left : left + width] = frame
        if labels is not None:
            text, scale = _fit_label(str(labels[index]), width, label_scale)
            baseline = top + height + (label_height + cv2.getTextSize(text, _FONT, scale, 1)[0][1]) // 2
            cv2.putText(sheet, text, (left + 2, baseline), _FONT, scale, (235, 235, 235), 1, cv2.LINE_AA)
    return sheet


def png_metadata(metadata: dict) -> PngImagePlugin.PngInfo:
    """A PNG text chunk "videogen" holding what made the image, as JSON."""
    info = PngImagePlugin.PngInfo()
    info.add_text("videogen", json.dumps(metadata, sort_keys=True))
    return info


def save_png(image, path: str | os.PathLike, metadata: dict | None = None) -> None:
    """Write an (H, W, 3) RGB image (uint8 or float in [0, 1]) as a PNG, atomically, with metadata if given."""
    if Path(path).suffix.lower() != ".png":
        raise FrameError(f"path: {path} does not end in .png")
    if metadata is None:
        write_image(image, path)
        return
    with atomic_path(path) as temporary:
        Image.fromarray(to_uint8(check_image(image))).save(temporary, format="PNG", pnginfo=png_metadata(metadata))


def save_gif(frames: np.ndarray, path: str | os.PathLike, durations_ms, comment: str | None = None,
             dither: Image.Dither = Image.Dither.NONE) -> None:
    """A looping GIF of uint8 frames with one shared 256-colour palette (median cut over sampled frames).

    One palette for the whole clip keeps colours from flickering between frames. durations_ms: one number
    or one per frame. Writes `path` directly; callers wrap it in atomic_path.
    """
    samples = frames[np.linspace(0, len(frames) - 1, min(len(frames), 8)).round().astype(int)]
    palette = Image.fromarray(np.concatenate(list(samples), axis=0)).quantize(256, method=Image.Quantize.MEDIANCUT)
    images = [Image.fromarray(frame).quantize(palette=palette, dither=dither) for frame in frames]
    extra = {} if comment is None else {"comment": comment}
    images[0].save(path, format="GIF", save_all=True, append_images=images[1:], duration=durations_ms, loop=0,
                   optimize=False, **extra)


def write_gif_preview(frames, path: str | os.PathLike, fps: float, max_width: int | None = 320) -> None:
    """Write a looping GIF preview (one shared palette, at most max_width wide), atomically."""
    frames = to_uint8(check_frames(frames))
    fps = check_positive("fps", fps)
    if max_width is not None and frames.shape[2] > max_width:
        frames = _resize_width(frames, int(check_positive("max_width", max_width)))
    with atomic_path(path) as temporary:
        save_gif(frames, temporary, round(1000 / fps))
