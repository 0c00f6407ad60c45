"""Upscaling (x2, x4) and enhancement: denoise, deblock and a bounded, halo-free sharpen."""

from __future__ import annotations

import cv2
import numpy as np

from postprocess.flow import backward_warp, consistency, dis_flow, gray
from postprocess.frames import FrameError, check_frames, like, to_float, to_uint8

METHODS = ("learned", "lanczos", "bicubic")
SCALES = (2, 4)


def _resize_all(frames: np.ndarray, scale: int, interpolation: int) -> np.ndarray:
    size = (frames.shape[2] * scale, frames.shape[1] * scale)
    return np.stack([cv2.resize(frame, size, interpolation=interpolation) for frame in frames])


def _check_strength(name: str, value: float, top: float = 1.0) -> float:
    if not 0 <= value <= top:
        raise FrameError(f"{name}: {value} is not allowed; use a number from 0 to {top:g}")
    return float(value)


def _stabilise_detail(upscaled: np.ndarray, low: np.ndarray, scale: int, weight: float) -> np.ndarray:
    """Motion-compensated recursive filtering of the learned detail (network output minus Lanczos): each frame's
    detail is pulled toward the previous frame's, warped along DIS flow between the low-resolution frames and
    trusted as far as the flow passes the forward-backward check. Detail that hops between frames under sub-pixel
    motion is what reads as flicker; averaging it along the motion removes that and recovers some resolution."""
    base = _resize_all(low, scale, cv2.INTER_LANCZOS4)
    detail = upscaled - base
    size = upscaled.shape[2:0:-1]
    grays = [gray(frame) for frame in low]
    for index in range(1, len(low)):
        to_previous, from_previous = dis_flow(grays[index], grays[index - 1]), dis_flow(grays[index - 1], grays[index])
        trust = weight * cv2.resize(consistency(to_previous, from_previous), size, interpolation=cv2.INTER_LINEAR)
        flow = cv2.resize(to_previous, size, interpolation=cv2.INTER_LINEAR) * scale  # (h, w, 2) -> (H, W, 2)
        previous = backward_warp(detail[index - 1], flow)
        detail[index] += trust[..., None] * (previous - detail[index])
    return base + detail


def upscale(frames, scale: int = 2, method: str = "learned", stabilise: float = 0.7) -> np.ndarray:
    """Frames enlarged `scale` times: "learned" (the shipped x2 network of postprocess.superres, applied twice for
    x4), "lanczos" or "bicubic". On clips, `stabilise` (0..1) is the weight of the previous frame's
    motion-compensated learned detail, which keeps the network from adding flicker (0: every frame alone)."""
    frames = check_frames(frames)
    if scale not in SCALES:
        raise FrameError(f"scale: {scale} is not allowed; use one of {', '.join(map(str, SCALES))}")
    if method not in METHODS:
        raise FrameError(f"method: {method!r} is not an upscaling method; use one of {', '.join(METHODS)}")
    stabilise = _check_strength("stabilise", stabilise)
    values = to_float(frames)
    if method == "learned":
        # Imported here so torch loads only when the network is used.
        from postprocess.superres import upscale_x2

        upscaled = values
        for _ in range(scale // 2):
            upscaled = upscale_x2(upscaled)
        if len(values) > 1 and stabilise:
            upscaled = _stabilise_detail(upscaled, values, scale, stabilise)
    else:
        upscaled = _resize_all(values, scale, cv2.INTER_LANCZOS4 if method == "lanczos" else cv2.INTER_CUBIC)
    return like(upscaled, frames)


def denoise(frames, strength: float = 0.5) -> np.ndarray:
    """Non-local means denoising (Buades et al. 2005, OpenCV's colour variant); strength 0..1 sets the filter h."""
    frames = check_frames(frames)
    strength = _check_strength("denoise", strength)
    if strength == 0:
        return frames.copy()
    h = 12.0 * strength
    cleaned = [cv2.fastNlMeansDenoisingColored(frame, None, h, h, 5, 15) for frame in to_uint8(frames)]
    return like(np.stack(cleaned), frames)


def _deblock_axis(values: np.ndarray, threshold: float, axis: int) -> np.ndarray:
    """Along `axis` of (F, H, W, 3), turn each small step across an 8-pixel block boundary into a ramp over the
    four pixels around it; steps of `threshold` or more, or with busy sides, are real edges and stay (after the
    H.264 loop filter, List et al. 2003)."""
    result = values.copy()
    boundaries = np.arange(8, values.shape[axis] - 1, 8)
    if boundaries.size == 0:
        return result
    p1, p0, q0, q1 = (np.take(values, boundaries + offset, axis=axis) for offset in (-2, -1, 0, 1))
    delta = q0 - p0
    flat_sides = (np.abs(p1 - p0) < threshold / 2) & (np.abs(q1 - q0) < threshold / 2)
    artefact = ((np.abs(delta) < threshold) & flat_sides).all(axis=-1, keepdims=True)
    delta = np.where(artefact, delta, 0)
    # Flat blocks a | b become a + (b - a) * (1/8, 3/8, 5/8, 7/8) over p1, p0, q0, q1.
    for offset, change in ((-2, delta / 8), (-1, 3 * delta / 8), (0, -3 * delta / 8), (1, -delta / 8)):
        index = [slice(None)] * values.ndim
        index[axis] = boundaries + offset
        result[tuple(index)] += change
    return result


def deblock(frames, strength: float = 0.5) -> np.ndarray:
    """Soften 8x8 block edges left by JPEG/H.264-style coding; strength 0..1 sets the largest step treated as one."""
    frames = check_frames(frames)
    threshold = 0.12 * _check_strength("deblock", strength)
    values = to_float(frames)
    values = _deblock_axis(_deblock_axis(values, threshold, axis=2), threshold, axis=1)
    return like(values, frames)


def sharpen(frames, amount: float = 0.5, radius: float = 1.0) -> np.ndarray:
    """Unsharp mask with its overshoot clamped to each pixel's 3x3 neighbourhood range, so it cannot draw halos;
    amount 0..2."""
    frames = check_frames(frames)
    amount = _check_strength("sharpen", amount, top=2.0)
    if radius <= 0:
        raise FrameError(f"radius: {radius} is not allowed; it must be a number above 0")
    values = to_float(frames)
    kernel = np.ones((3, 3), np.uint8)
    sharpened = np.empty_like(values)
    for index, frame in enumerate(values):
        detail = frame - cv2.GaussianBlur(frame, (0, 0), radius)
        low, high = cv2.erode(frame, kernel), cv2.dilate(frame, kernel)
        sharpened[index] = np.clip(frame + amount * detail, low, high)
    return like(sharpened, frames)


def enhance(frames, denoise_strength: float = 0.0, deblock_strength: float = 0.0, sharpen_amount: float = 0.0) -> np.ndarray:
    """Deblock, then denoise, then sharpen, each skipped at 0."""
    frames = check_frames(frames)
    if deblock_strength:
        frames = deblock(frames, deblock_strength)
    if denoise_strength:
        frames = denoise(frames, denoise_strength)
    if sharpen_amount:
        frames = sharpen(frames, sharpen_amount)
    return frames
