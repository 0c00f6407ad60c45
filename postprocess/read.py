"""The reader: video files, GIFs and PNG sequences -> uint8 frames (F, H, W, 3) and an exact frame rate.

decord gives frame-accurate random access where it is installed; PyAV is the fallback and the source of
stream facts (codec, pixel format, colour tags, rational rate, container tags).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from postprocess.frames import FrameError
from postprocess.mux import PNG_FRAME_NAME

try:
    import decord
except ImportError:  # decord has no wheels for some platforms; PyAV reads everything it reads
    decord = None


@dataclass(frozen=True)
class VideoInfo:
    """Stream facts of a clip as its container declares them."""

    num_frames: int
    width: int
    height: int
    fps: Fraction
    codec: str
    pix_fmt: str | None = None
    color_primaries: str | None = None
    metadata: dict = field(default_factory=dict)


def _is_png_sequence(path: Path) -> bool:
    return path.is_dir() and (path / PNG_FRAME_NAME.format(0)).is_file()


def _open(path: Path):
    try:
        return av.open(str(path))
    except (av.FFmpegError, OSError):
        raise FrameError(f"input: {path} is not a readable video (missing, corrupt or an unknown format)") from None


def probe(path: str | os.PathLike) -> VideoInfo:
    """Read a clip's stream facts without decoding it (PNG sequences: from their metadata.json)."""
    path = Path(path)
    if _is_png_sequence(path):
        files = sorted(path.glob("frame_*.png"))
        width, height = Image.open(files[0]).size
        metadata = json.loads((path / "metadata.json").read_text()) if (path / "metadata.json").is_file() else {}
        return VideoInfo(len(files), width, height, Fraction(metadata.get("fps", "24")), "png", "rgb24", None, metadata)
    with _open(path) as container:
        if not container.streams.video:
            raise FrameError(f"input: {path} has no video stream")
        stream = container.streams.video[0]
        context = stream.codec_context
        num_frames = stream.frames or sum(1 for _ in container.demux(stream) if _.size)
        rate = stream.average_rate or stream.guessed_rate or Fraction(24)
        primaries = getattr(context, "color_primaries", None)
        return VideoInfo(
            num_frames, context.width, context.height, Fraction(rate), context.name, context.pix_fmt,
            str(primaries) if primaries is not None else None,
            {key.lower(): value for key, value in container.metadata.items()},  # Matroska upper-cases tags
        )


def read_video(path: str | os.PathLike, indices: list[int] | None = None) -> tuple[np.ndarray, Fraction]:
    """Frames (F, H, W, 3) uint8 (all, or those at `indices`) and the clip's frame rate."""
    path = Path(path)
    if _is_png_sequence(path):
        files = sorted(path.glob("frame_*.png"))
        chosen = files if indices is None else [files[i] for i in indices]
        return np.stack([np.asarray(Image.open(f).convert("RGB")) for f in chosen]), probe(path).fps
    info = probe(path)
    if decord is not None and path.suffix.lower() != ".gif":
        reader = decord.VideoReader(str(path), ctx=decord.cpu(0))
        frames = reader.get_batch(list(range(len(reader))) if indices is None else list(indices)).asnumpy()
    else:
        frames = _read_with_pyav(path)
        frames = frames if indices is None else frames[list(indices)]
    if len(frames) == 0:
        raise FrameError(f"input: {path} holds no frames")
    return frames, info.fps


def _read_with_pyav(path: Path) -> np.ndarray:
    """Decode every frame with PyAV (GIF palettes and all codecs FFmpeg knows)."""
    with _open(path) as container:
        try:
            frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
        except av.FFmpegError as error:
            raise FrameError(f"input: {path} is corrupt ({error})") from None
    return np.stack(frames) if frames else np.zeros((0, 1, 1, 3), np.uint8)
