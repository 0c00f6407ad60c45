"""Global image motion between frames: what a camera move looks like in 2D, measured or predicted."""

from __future__ import annotations

import cv2
import numpy as np

from postprocess.flow import dis_flow, gray
from postprocess.frames import to_uint8

from .errors import CameraError

MOTION_FIELDS = ("dx", "dy", "rotation_deg", "scale")
TEXTURE_QUANTILE = 0.4  # fit only the 60% most textured pixels: flow in flat regions is interpolated, not seen
DESPECKLE = 5  # median filter width: removes rain streaks, snowflakes and film grain, keeps edges


def fit_similarity(flow: np.ndarray, step: int = 4, mask: np.ndarray | None = None) -> np.ndarray:
    """(dx, dy, rotation_deg, scale) of the similarity transform that best explains a flow field (H, W, 2):
    RANSAC fit of a 4-DoF partial affine (cv2.estimateAffinePartial2D) to point matches on a grid, so the
    dominant surface (usually the background) wins over nearer layers moving differently. `mask` (H, W) bool
    limits the points to where the flow is trusted. dx, dy is the motion of the image centre in pixels;
    rotation is clockwise on screen (y down) positive."""
    height, width = flow.shape[:2]
    rows, columns = np.mgrid[step // 2:height:step, step // 2:width:step]
    if mask is not None and mask[rows, columns].sum() >= 12:  # too few trusted points: use them all
        keep = mask[rows, columns]
        rows, columns = rows[keep], columns[keep]
    points = np.stack([columns, rows], axis=-1).reshape(-1, 2).astype(np.float32)
    moved = points + flow[rows, columns].reshape(-1, 2).astype(np.float32)
    finite = np.isfinite(moved).all(axis=1)
    matrix, _ = cv2.estimateAffinePartial2D(points[finite], moved[finite], method=cv2.RANSAC,
                                            ransacReprojThreshold=0.5, maxIters=4000, confidence=0.999)
    if matrix is None:
        return np.full(4, np.nan)
    centre = np.array([(width - 1) / 2, (height - 1) / 2])
    dx, dy = matrix[:, :2] @ centre + matrix[:, 2] - centre
    return np.array([dx, dy, np.degrees(np.arctan2(matrix[1, 0], matrix[0, 0])), np.sqrt(np.linalg.det(matrix[:, :2]))])


def motion_luma(frames: np.ndarray) -> np.ndarray:
    """What the motion estimator looks at, (F, H, W) uint8: luma stretched by the clip's 1st-99th percentiles (one
    mapping for the whole clip, so brightness stays constant between frames; night and fog gain contrast), then
    median-filtered so that falling rain and snow and per-frame grain do not outvote the scene."""
    frames = np.asarray(frames)
    if frames.ndim not in (3, 4) or len(frames) < 2:
        raise CameraError(f"frames of shape {frames.shape}; allowed (F, H, W, 3) or (F, H, W) with F >= 2")
    luma = np.stack([gray(frame) if frame.ndim == 3 else to_uint8(frame) for frame in frames]).astype(np.float32)
    low, high = np.percentile(luma, [1, 99])
    stretched = np.clip((luma - low) * (255.0 / max(high - low, 1.0)), 0, 255).astype(np.uint8)
    return np.stack([cv2.medianBlur(image, DESPECKLE) for image in stretched])


def texture_mask(luma: np.ndarray) -> np.ndarray:
    """(H, W) bool: the pixels whose Sobel gradient magnitude is above the TEXTURE_QUANTILE of the image."""
    gradient = np.hypot(cv2.Sobel(luma, cv2.CV_32F, 1, 0), cv2.Sobel(luma, cv2.CV_32F, 0, 1))
    return gradient >= np.quantile(gradient, TEXTURE_QUANTILE)


def measured_flows(frames: np.ndarray):
    """Per consecutive pair of frames (F, H, W, 3) (uint8, or float in [0, 1]): the DIS optical flow (Kroeger et al.
    2016, OpenCV's MEDIUM preset) between their motion_luma, and the texture_mask of the first; yields (flow, mask)."""
    luma = motion_luma(frames)
    for before, after in zip(luma, luma[1:]):
        yield dis_flow(before, after, "medium"), texture_mask(before)


def estimate_global_motion(frames: np.ndarray) -> np.ndarray:
    """Per consecutive pair of frames: measured_flows reduced by fit_similarity over the textured pixels to
    (dx, dy, rotation_deg, scale); returns (F-1, 4)."""
    return np.array([fit_similarity(flow, mask=mask) for flow, mask in measured_flows(frames)])


def flow_gain(frames: np.ndarray, expected_flows: np.ndarray, min_motion_px: float = 0.5) -> float:
    """How much of an expected motion a clip shows: the median, over textured pixels whose expected flow is at
    least `min_motion_px`, of the measured DIS flow's component along the expected flow divided by its length.
    1 when the clip moves as predicted, 0 when it stands still, negative when it moves backwards.

    expected_flows (F-1, H, W, 2), e.g. `Trajectory.flow(width, height, depth)` for a known depth map; pixels
    whose expected flow is NaN (where nothing stands still, such as a sky with drifting clouds) are skipped."""
    ratios = []
    for (measured, textured), expected in zip(measured_flows(frames), np.asarray(expected_flows)):
        length_squared = (expected**2).sum(-1)
        keep = textured & np.isfinite(length_squared) & (length_squared >= min_motion_px**2)
        ratios.append((measured[keep] * expected[keep]).sum(-1) / length_squared[keep])
    ratios = np.concatenate(ratios)
    if not len(ratios):
        raise CameraError(f"no textured pixel moves by {min_motion_px} px or more in the expected flow")
    return float(np.median(ratios))
