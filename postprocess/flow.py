"""Dense optical flow and the warping maths built on it (OpenCV DIS flow, cv2.remap backward warping)."""

from __future__ import annotations

import functools

import cv2
import numpy as np

from postprocess.frames import to_uint8

DIS_PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


def gray(frame: np.ndarray) -> np.ndarray:
    """uint8 luma of an RGB frame (uint8, or float in [0, 1]), as DIS flow expects."""
    return cv2.cvtColor(to_uint8(frame), cv2.COLOR_RGB2GRAY)


def dis_flow(gray0: np.ndarray, gray1: np.ndarray, preset: str = "medium") -> np.ndarray:
    """(H, W, 2) flow from frame 0 to frame 1 with DIS (Kroeger et al. 2016): gray0(p) ~ gray1(p + flow(p))."""
    dis = cv2.DISOpticalFlow_create(DIS_PRESETS[preset])
    return dis.calc(gray0, gray1, None)


def feature_matches(gray0: np.ndarray, gray1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, 2) and (N, 2) positions of mutually nearest ORB matches (Rublee et al. 2011) between two frames."""
    orb = cv2.ORB_create(nfeatures=400, edgeThreshold=15, patchSize=15, fastThreshold=10)
    keys0, descriptors0 = orb.detectAndCompute(gray0, None)
    keys1, descriptors1 = orb.detectAndCompute(gray1, None)
    if descriptors0 is None or descriptors1 is None:
        return np.zeros((0, 2), np.float32), np.zeros((0, 2), np.float32)
    matches = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True).match(descriptors0, descriptors1)
    points0 = np.float32([keys0[match.queryIdx].pt for match in matches]).reshape(-1, 2)
    points1 = np.float32([keys1[match.trainIdx].pt for match in matches]).reshape(-1, 2)
    return points0, points1


def guided_flow(gray0, gray1, flow, points0, points1, preset: str = "medium", miss_px: float = 2.0) -> np.ndarray:
    """`flow` repaired where it missed large motions: DIS re-run from the feature matches it disagrees with,
    kept per pixel where it explains frame 0 better (lower local warping error), as in flow fusion."""
    height, width = flow.shape[:2]
    x = np.clip(np.rint(points0[:, 0]).astype(int), 0, width - 1)
    y = np.clip(np.rint(points0[:, 1]).astype(int), 0, height - 1)
    displacement = points1 - points0
    missed = np.flatnonzero(np.hypot(*(flow[y, x] - displacement).T) > miss_px)
    if len(missed) >= 3:
        # Keep the missed matches that move like one of their two nearest missed neighbours: an object DIS lost moves
        # coherently, while false matches on grain or repeated texture scatter.
        spacing = np.hypot(*(points0[missed, None] - points0[None, missed]).transpose(2, 0, 1))  # (M, M)
        np.fill_diagonal(spacing, np.inf)
        neighbours = missed[np.argsort(spacing, axis=1)[:, :2]]  # (M, 2)
        difference = np.hypot(*(displacement[neighbours] - displacement[missed, None]).transpose(2, 0, 1))
        # ORB positions on coarse pyramid levels are a pixel or two off, and more so on large motions.
        agreeing = difference < np.maximum(2 * miss_px, 0.2 * np.hypot(*displacement[missed].T))[:, None]
        missed = missed[agreeing.any(axis=1)]
    if len(missed) < 3:
        return flow
    # Spread the missed matches' motion around them (normalized Gaussian convolution) as DIS's starting flow.
    sigma = max(height, width) / 32
    impulses, weights = np.zeros_like(flow), np.zeros((height, width), np.float32)
    impulses[y[missed], x[missed]] = displacement[missed]
    weights[y[missed], x[missed]] = 1.0
    spread_weights = cv2.GaussianBlur(weights, (0, 0), sigma) * (2 * np.pi * sigma**2)  # 1 at a lone match
    spread = cv2.GaussianBlur(impulses, (0, 0), sigma) * (2 * np.pi * sigma**2) / np.maximum(spread_weights, 1e-6)[..., None]
    start = np.where((spread_weights > 0.1)[..., None], spread, flow).astype(np.float32)
    guided = cv2.DISOpticalFlow_create(DIS_PRESETS[preset]).calc(gray0, gray1, start)
    reference, target = gray0.astype(np.float32), gray1.astype(np.float32)
    error = [cv2.blur(np.abs(reference - backward_warp(target, candidate)), (9, 9)) for candidate in (flow, guided)]
    return np.where((error[1] < error[0])[..., None], guided, flow)


@functools.lru_cache(maxsize=8)
def pixel_grid(height: int, width: int) -> np.ndarray:
    """(H, W, 2) float32 pixel coordinates (x, y), cached and read-only."""
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    grid = np.stack([xs, ys], axis=-1)
    grid.flags.writeable = False
    return grid


def backward_warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Sample `image` at p + flow(p) with bilinear cv2.remap (edges replicated)."""
    coordinates = pixel_grid(*flow.shape[:2]) + flow
    return cv2.remap(image, coordinates, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def consistency(flow_forward: np.ndarray, flow_backward: np.ndarray) -> np.ndarray:
    """(H, W) confidence in [0, 1] of the forward flow from forward-backward agreement (Sundaram et al. 2010).

    A pixel whose round trip p -> p + f(p) -> back does not return home is occluded in the other frame or
    mismatched; the soft threshold 0.01 |f|^2 + 0.5 px^2 is Sundaram's, as a Gaussian falloff instead of a cut.
    """
    returned = backward_warp(flow_backward, flow_forward)  # backward flow at each pixel's landing point
    round_trip = flow_forward + returned
    mismatch = round_trip[..., 0] ** 2 + round_trip[..., 1] ** 2
    lengths = flow_forward[..., 0] ** 2 + flow_forward[..., 1] ** 2 + returned[..., 0] ** 2 + returned[..., 1] ** 2
    return np.exp(-mismatch / (0.01 * lengths + 0.5))


def splat(values: np.ndarray, targets: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forward-splat per-pixel `values` (H, W, C) with `weights` (H, W) to the nearest pixel of `targets` (H, W, 2).

    Returns the weighted sum (H, W, C) and the total weight (H, W) that landed on each pixel.
    """
    height, width, channels = values.shape
    x = np.rint(targets[..., 0]).astype(np.int32).ravel()
    y = np.rint(targets[..., 1]).astype(np.int32).ravel()
    inside = (x >= 0) & (x < width) & (y >= 0) & (y < height)
    index = (y * width + x)[inside]
    weight = weights.ravel()[inside]
    landed = values.reshape(-1, channels)[inside]  # (H, W, C) -> (N, C)
    total = np.bincount(index, weight, minlength=height * width).astype(np.float32)
    summed = [np.bincount(index, weight * landed[:, c], minlength=height * width) for c in range(channels)]
    return np.stack(summed, axis=-1).astype(np.float32).reshape(height, width, channels), total.reshape(height, width)
