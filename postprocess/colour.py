"""Colour across frames and shots: LAB histogram matching to a reference, and deflickering."""

from __future__ import annotations

import cv2
import numpy as np
from scipy.ndimage import uniform_filter1d

from postprocess.frames import (
    FrameError,
    check_frames,
    check_image,
    like,
    to_float,
    to_uint8,
)


def _cdf(channel: np.ndarray) -> np.ndarray:
    """(256,) cumulative distribution of a uint8 channel."""
    counts = np.bincount(channel.ravel(), minlength=256).astype(np.float64)
    return np.cumsum(counts) / counts.sum()


def match_colour(frames, reference=None, strength: float = 1.0) -> np.ndarray:
    """Colour coherence: match each frame's L, a and b histograms to those of a reference image (Deforum's LAB mode).

    `reference` defaults to the first frame; `strength` in [0, 1] blends from the original (0) to the match (1).
    """
    frames = check_frames(frames)
    reference = frames[0] if reference is None else check_image(reference, "reference")
    if not 0 <= strength <= 1:
        raise FrameError(f"strength: {strength} is not allowed; use a number from 0 to 1")
    reference_lab = cv2.cvtColor(to_uint8(reference), cv2.COLOR_RGB2LAB)
    reference_cdfs = [_cdf(reference_lab[..., channel]) for channel in range(3)]
    levels = np.arange(256, dtype=np.float64)
    matched = np.empty(frames.shape, np.uint8)
    for index, frame in enumerate(to_uint8(frames)):
        lab = cv2.cvtColor(frame, cv2.COLOR_RGB2LAB)
        for channel in range(3):
            # Each level goes to the reference level at the same quantile (classic histogram specification).
            table = np.interp(_cdf(lab[..., channel]), reference_cdfs[channel], levels)
            lab[..., channel] = np.rint(table).astype(np.uint8)[lab[..., channel]]
        matched[index] = cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)
    if strength == 1:
        return like(matched, frames)
    return like((1 - strength) * to_float(frames) + strength * to_float(matched), frames)


def deflicker(frames, window: int = 5) -> np.ndarray:
    """Even out frame-to-frame brightness: scale each frame's channel means to their moving average over `window`
    frames (the arithmetic-mean mode of ffmpeg's deflicker filter)."""
    frames = check_frames(frames)
    if isinstance(window, bool) or int(window) != window or window < 2:
        raise FrameError(f"window: {window} is not allowed; it must be a whole number of at least 2")
    values = to_float(frames)
    means = values.mean(axis=(1, 2))  # (F, 3)
    smoothed = uniform_filter1d(means, size=int(window), axis=0, mode="nearest")
    gains = smoothed / np.maximum(means, 1e-4)
    return like(values * gains[:, None, None, :].astype(np.float32), frames)
