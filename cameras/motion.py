"""Global image motion between frames: what a camera move looks like in 2D, measured or predicted."""

from __future__ import annotations

import cv2
import numpy as np

from postprocess.flow import dis_flow, gray
from postprocess.frames import to_uint8

from .errors import CameraError

MOTION_FIELDS = ("dx", "dy", "rotation_deg", "scale")


def fit_similarity(flow: np.ndarray, step: int = 4) -> np.ndarray:
    """(dx, dy, rotation_deg, scale) of the similarity transform that best explains a flow field (H, W, 2):
    RANSAC fit of a 4-DoF partial affine (cv2.estimateAffinePartial2D) to point matches on a grid, so the
    dominant surface (usually the background) wins over nearer layers moving differently.
    dx, dy is the motion of the image centre in pixels; rotation is clockwise on screen (y down) positive."""
    height, width = flow.shape[:2]
    rows, columns = np.mgrid[step // 2:height:step, step // 2:width:step]
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


def estimate_global_motion(frames: np.ndarray) -> np.ndarray:
    """Per consecutive pair of frames (F, H, W, 3) (uint8, or float in [0, 1]): DIS optical flow (Kroeger et al.
    2016, OpenCV's MEDIUM preset) reduced by fit_similarity to (dx, dy, rotation_deg, scale); returns (F-1, 4)."""
    frames = np.asarray(frames)
    if frames.ndim not in (3, 4) or len(frames) < 2:
        raise CameraError(f"frames of shape {frames.shape}; allowed (F, H, W, 3) or (F, H, W) with F >= 2")
    luma = [gray(frame) if frame.ndim == 3 else to_uint8(frame) for frame in frames]
    return np.array([fit_similarity(dis_flow(before, after, "medium")) for before, after in zip(luma, luma[1:])])
