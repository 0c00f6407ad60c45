"""Editing tools on frame clips (F, H, W, 3): trim, concatenate, transitions, speed, loops and framing.

Each is a pure function: frames in, new frames out, in the input's dtype (uint8 stays uint8, floats give float32).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from postprocess.frames import FrameError, check_frames, check_positive, like, to_float
from postprocess.interpolate import detect_cuts, interpolate_pair, retime
from postprocess.preview import save_png

TRANSITIONS = ("crossfade", "dip_to_black", "wipe")


def trim(frames, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Frames start..stop-1 (Python slice rules, negatives count from the end)."""
    frames = check_frames(frames)
    kept = frames[start:stop]
    if len(kept) == 0:
        raise FrameError(f"trim: start={start}, stop={stop} leaves no frames of a {len(frames)}-frame clip")
    return kept.copy()


def _same_size(clips: Sequence[np.ndarray], names: Sequence[str]) -> None:
    """Raise FrameError naming the first clip whose frame size differs from the first clip's."""
    height, width = clips[0].shape[1:3]
    for clip, name in zip(clips[1:], names[1:]):
        if clip.shape[1:3] != (height, width):
            raise FrameError(
                f"{name}: frames are {clip.shape[2]}x{clip.shape[1]} but {names[0]}'s are {width}x{height}; "
                "resize, crop_to_aspect or pad_to_aspect them to one size first"
            )


def _common_dtype(clips: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The clips unchanged when all are uint8, else all as float32 in [0, 1]."""
    return list(clips) if all(clip.dtype == np.uint8 for clip in clips) else [to_float(clip) for clip in clips]


def concat(clips: Sequence) -> np.ndarray:
    """Clips one after another; all must have the same frame size."""
    if len(clips) == 0:
        raise FrameError("clips: no clips given; concat needs at least 1")
    names = [f"clip {index + 1}" for index in range(len(clips))]
    checked = [check_frames(clip, name) for clip, name in zip(clips, names)]
    _same_size(checked, names)
    return np.concatenate(_common_dtype(checked))


def _transition_weights(count: int) -> np.ndarray:
    """(count,) weights of the incoming clip, strictly between 0 and 1."""
    return np.arange(1, count + 1, dtype=np.float32) / (count + 1)


def transition(a, b, kind: str = "crossfade", frames: int = 12) -> np.ndarray:
    """Join two clips whose last / first `frames` frames overlap: crossfade, dip_to_black or a left-to-right wipe.

    The result has len(a) + len(b) - frames frames.
    """
    a, b = check_frames(a, "a"), check_frames(b, "b")
    _same_size([a, b], ["a", "b"])
    if kind not in TRANSITIONS:
        raise FrameError(f"kind: {kind!r} is not a transition; use one of {', '.join(TRANSITIONS)}")
    if isinstance(frames, bool) or int(frames) != frames or not 1 <= frames <= min(len(a), len(b)):
        raise FrameError(f"frames: {frames} is not allowed; use a whole number from 1 to {min(len(a), len(b))} "
                         "(the shorter clip's length)")
    a, b = _common_dtype([a, b])
    outgoing, incoming = to_float(a[len(a) - frames :]), to_float(b[:frames])
    weights = _transition_weights(frames)[:, None, None, None]  # (n, 1, 1, 1)
    if kind == "crossfade":
        overlap = (1 - weights) * outgoing + weights * incoming
    elif kind == "dip_to_black":
        overlap = np.clip(1 - 2 * weights, 0, None) * outgoing + np.clip(2 * weights - 1, 0, None) * incoming
    else:
        width = a.shape[2]
        edge = max(1.0, width / 50)  # a soft edge a few pixels wide
        columns = np.arange(width, dtype=np.float32)[None, None, :, None]  # (1, 1, W, 1)
        reveal = np.clip((weights * (width + 2 * edge) - edge - columns) / edge + 0.5, 0, 1)
        overlap = reveal * incoming + (1 - reveal) * outgoing
    return np.concatenate([a[: len(a) - frames], like(overlap, a), b[frames:]])


def change_speed(frames, speed: float, preset: str = "medium") -> np.ndarray:
    """Play `speed` times faster (round(F / speed) frames); below 1 is slow motion by flow interpolation."""
    return retime(frames, src_fps=check_positive("speed", speed), dst_fps=1.0, preset=preset)


def reverse(frames) -> np.ndarray:
    """The clip played backwards."""
    return check_frames(frames)[::-1].copy()


def boomerang(frames) -> np.ndarray:
    """Forwards then backwards, without repeating the turning frames, so it loops seamlessly."""
    frames = check_frames(frames)
    return np.concatenate([frames, frames[-2:0:-1]])


def seamless_loop(frames, bridge: int = 4, preset: str = "medium") -> np.ndarray:
    """The clip plus `bridge` frames interpolated from its last frame back to its first, so playback can loop.

    Across a scene cut (the last and first frames are different shots) the bridge is a crossfade instead.
    """
    frames = check_frames(frames)
    if isinstance(bridge, bool) or int(bridge) != bridge or bridge < 1:
        raise FrameError(f"bridge: {bridge} is not allowed; it must be a whole number of at least 1")
    times = np.arange(1, bridge + 1) / (bridge + 1)
    last, first = frames[-1], frames[0]
    if detect_cuts(np.stack([last, first]))[0]:
        weights = times[:, None, None, None].astype(np.float32)
        bridging = like((1 - weights) * to_float(last) + weights * to_float(first), frames)
    else:
        bridging = interpolate_pair(last, first, times, preset)
    return np.concatenate(_common_dtype([frames, bridging]))


def parse_aspect(aspect: str | float) -> float:
    """Width / height from "16:9", "2.39" or a number."""
    text = str(aspect).strip()
    try:
        if ":" in text:
            width, height = (float(part) for part in text.split(":"))
            ratio = width / height
        else:
            ratio = float(text)
    except (ValueError, ZeroDivisionError):
        raise FrameError(f"aspect: {aspect!r} is not an aspect ratio; use W:H such as 16:9, or a number") from None
    return check_positive("aspect", ratio)


def crop_to_aspect(frames, aspect: str | float) -> np.ndarray:
    """The centred crop of each frame with the given width:height ratio."""
    frames = check_frames(frames)
    ratio = parse_aspect(aspect)
    height, width = frames.shape[1:3]
    new_width, new_height = min(width, round(height * ratio)), min(height, round(width / ratio))
    top, left = (height - new_height) // 2, (width - new_width) // 2
    return frames[:, top : top + new_height, left : left + new_width].copy()


def pad_to_aspect(frames, aspect: str | float, colour: tuple[float, float, float] = (0, 0, 0)) -> np.ndarray:
    """Letterbox (bars above and below) or pillarbox (bars left and right) to the width:height ratio."""
    frames = check_frames(frames)
    ratio = parse_aspect(aspect)
    height, width = frames.shape[1:3]
    new_width, new_height = max(width, round(height * ratio)), max(height, round(width / ratio))
    top, left = (new_height - height) // 2, (new_width - width) // 2
    fill = np.asarray(colour, np.float32) / (255.0 if frames.dtype == np.uint8 else 1.0)
    padded = np.empty((len(frames), new_height, new_width, 3), frames.dtype)
    padded[:] = like(fill, frames)
    padded[:, top : top + height, left : left + width] = frames
    return padded


def resize(frames, width: int, height: int) -> np.ndarray:
    """Every frame resized to width x height (area filter when shrinking, Lanczos when enlarging)."""
    frames = check_frames(frames)
    size = (int(check_positive("width", width)), int(check_positive("height", height)))
    shrinking = size[0] * size[1] < frames.shape[1] * frames.shape[2]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LANCZOS4
    return like(np.stack([cv2.resize(frame, size, interpolation=interpolation) for frame in frames]), frames)


def extract_frames(frames, folder: str | os.PathLike, every: int = 1, prefix: str = "frame") -> list[Path]:
    """Write every `every`-th frame as folder/{prefix}_{index:05d}.png (each file atomically); return the paths."""
    frames = check_frames(frames)
    if isinstance(every, bool) or int(every) != every or every < 1:
        raise FrameError(f"every: {every} is not allowed; it must be a whole number of at least 1")
    paths = []
    for index in range(0, len(frames), int(every)):
        path = Path(folder) / f"{prefix}_{index:05d}.png"
        save_png(frames[index], path)
        paths.append(path)
    return paths
