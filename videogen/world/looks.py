"""Looks: picture styles applied to rendered frames (natural, watercolor, pixel art, ink sketch, 1970s film)."""

from __future__ import annotations

import cv2
import numpy as np

LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601


def _per_frame(frames: np.ndarray, function) -> np.ndarray:
    return np.stack([function(frame) for frame in frames])


def _edges(frames: np.ndarray) -> np.ndarray:
    """Gradient magnitude of luminance per frame (Sobel), (F, H, W)."""
    luma = frames @ LUMA
    return _per_frame(luma, lambda image: np.hypot(cv2.Sobel(image, cv2.CV_32F, 1, 0, ksize=3),
                                                   cv2.Sobel(image, cv2.CV_32F, 0, 1, ksize=3)))


def _paper(shape: tuple[int, int], seed: int, scale: float) -> np.ndarray:
    """A static paper grain (H, W): smoothed white noise, mean 0, about unit spread."""
    grain = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    grain = cv2.GaussianBlur(grain, (0, 0), scale)
    return grain / (grain.std() + 1e-6)


def pixel_art(frames: np.ndarray) -> np.ndarray:
    """Pixel art: area-downsample to 40 columns, posterise to 7 levels per channel, nearest-neighbour upsample.

    Levels are even in sqrt (a gamma of 2), so dusk and night keep their shapes instead of collapsing to black."""
    height, width = frames.shape[1:3]
    block = max(2, round(width / 40))
    small = (max(1, width // block), max(1, height // block))
    posterised = lambda frame: (np.round(np.sqrt(cv2.resize(frame, small, interpolation=cv2.INTER_AREA)) * 6) / 6) ** 2
    return _per_frame(frames, lambda frame: cv2.resize(posterised(frame), (width, height),
                                                         interpolation=cv2.INTER_NEAREST))


def watercolor(frames: np.ndarray, seed: int) -> np.ndarray:
    """Watercolor: edge-preserving smoothing, soft pigment pooling at edges, lifted washes and paper grain."""
    width = frames.shape[2]
    sigma = max(1.0, width / 96)
    smooth = _per_frame(frames, lambda frame: cv2.bilateralFilter(frame, -1, 0.15, sigma * 2))
    smooth = _per_frame(smooth, lambda frame: cv2.GaussianBlur(frame, (0, 0), sigma * 0.6))
    pooling = np.clip(_edges(smooth) * 1.5, 0, 0.4)[..., None]
    paper = _paper(frames.shape[1:3], seed, sigma)[None, ..., None]
    washed = 0.2 + 0.8 * smooth * (1 - pooling) + 0.035 * paper
    return washed + (np.float32(1.0) - washed) * 0.12


def ink_sketch(frames: np.ndarray, seed: int) -> np.ndarray:
    """Ink and wash: dark ink lines on edges over a pale, desaturated colour wash on warm paper."""
    luma = (frames @ LUMA)[..., None]
    wash = luma + (frames - luma) * 0.45  # keep a little colour so the light of the hour still reads
    lines = np.clip(_edges(frames) * 3.0, 0, 1)[..., None]
    paper = _rgb_paper() + 0.02 * _paper(frames.shape[1:3], seed, 0.8)[None, ..., None]
    return (paper * (0.3 + 0.7 * wash ** 0.7)) * (1 - 0.85 * lines)


def _rgb_paper() -> np.ndarray:
    return np.array([0.97, 0.94, 0.86], dtype=np.float32)


def film70s(frames: np.ndarray, seed: int) -> np.ndarray:
    """1970s film: warm cast, faded (lifted) blacks, lower saturation, vignette and fresh grain every frame."""
    height, width = frames.shape[1:3]
    luma = (frames @ LUMA)[..., None]
    graded = luma + (frames - luma) * 0.7
    graded = 0.09 + 0.82 * graded * np.array([1.08, 1.0, 0.78], dtype=np.float32)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    radius = np.hypot((x - width / 2) / width, (y - height / 2) / width)
    vignette = (1 - 0.7 * radius**2)[None, ..., None]
    grain = np.random.default_rng(seed).standard_normal(frames.shape[:3]).astype(np.float32)[..., None] * 0.03
    return graded * vignette + grain


def apply_look(frames: np.ndarray, look: str, seed: int = 0) -> np.ndarray:
    """Apply a named look to (F, H, W, 3) float32 frames in [0, 1]; the result is clipped to [0, 1]."""
    frames = np.ascontiguousarray(frames, dtype=np.float32)
    styled = {
        "natural": lambda: frames,
        "watercolor": lambda: watercolor(frames, seed),
        "pixel_art": lambda: pixel_art(frames),
        "ink_sketch": lambda: ink_sketch(frames, seed),
        "film70s": lambda: film70s(frames, seed),
    }[look]()
    return np.clip(styled, 0.0, 1.0).astype(np.float32)
