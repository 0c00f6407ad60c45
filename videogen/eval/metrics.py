"""Video quality metrics, each a pure function of frames (F, H, W, 3) in [0, 1] (or uint8), citing its source."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
from scipy import linalg

from cameras import DEFAULT_DEPTH, parse_camera
from cameras.motion import estimate_global_motion, fit_similarity
from postprocess.flow import backward_warp, consistency, dis_flow, gray
from postprocess.frames import to_float

# Motion is compared in units of image width: centre shift dx, dy; edge shift from rotation and from scaling.
MOTION_AXES = ("horizontal", "vertical", "roll", "zoom")
EXPECTED_DEPTH = 4 * DEFAULT_DEPTH  # the plane whose motion stands for the scene's (the subject plane is nearer)
STATIC_LIMIT = 0.01  # total motion below 1% of the width on every axis counts as a static camera
MAGNITUDE_PRESETS = ("pan", "tilt", "roll", "zoom")  # rotation and zoom: image motion independent of depth


def _pixels(frames: np.ndarray) -> np.ndarray:
    """Frames as float32 in [0, 255]."""
    return to_float(np.asarray(frames)) * 255.0


def temporal_flickering(frames: np.ndarray) -> float:
    """VBench temporal flickering (Huang et al. 2024): (255 - mean |f_t - f_t+1|) / 255 over consecutive frames."""
    pixels = _pixels(frames)
    return float((255.0 - np.abs(np.diff(pixels, axis=0)).mean()) / 255.0)


def motion_smoothness(frames: np.ndarray) -> float:
    """VBench motion smoothness: drop odd frames, re-create them from their neighbours with the flow-based
    interpolator (VBench uses AMT), score (255 - mean |reconstructed - real|) / 255."""
    from postprocess.interpolate import interpolate_pair

    frames = to_float(np.asarray(frames))
    errors = [np.abs(interpolate_pair(frames[i - 1], frames[i + 1], [0.5])[0] - frames[i]).mean() * 255.0
              for i in range(1, len(frames) - 1, 2)]
    return float((255.0 - np.mean(errors)) / 255.0) if errors else 1.0


def _flows(frames: np.ndarray) -> list[np.ndarray]:
    luma = [gray(frame) for frame in frames]
    return [dis_flow(before, after) for before, after in pairwise(luma)]


def dynamic_degree(frames: np.ndarray) -> tuple[bool, float]:
    """VBench dynamic degree: per frame pair the mean of the top 5% flow magnitudes (DIS here, RAFT there);
    the clip is dynamic when at least round(4 F / 16) pairs exceed 6 px scaled by min(H, W) / 256.
    Returns (dynamic, mean top-5% magnitude in pixels)."""
    frames = np.asarray(frames)
    height, width = frames.shape[1:3]
    tops = []
    for flow in _flows(frames):
        magnitude = np.sort(np.hypot(flow[..., 0], flow[..., 1]).ravel())
        tops.append(magnitude[-max(1, len(magnitude) // 20):].mean())
    threshold = 6.0 * min(height, width) / 256.0
    needed = max(1, round(4 * len(frames) / 16))
    return bool(np.sum(np.array(tops) > threshold) >= needed), float(np.mean(tops))


def flow_warping_error(frames: np.ndarray) -> float:
    """Flow warping error (Lai et al. 2018, "Learning Blind Video Temporal Consistency"):
    mean over t of sum M_t ||V_t - W(V_t+1)||^2 / sum M_t, with W the backward warp by the flow t -> t+1 and
    M_t the non-occluded pixels (forward-backward consistency > 0.5). Colours in [0, 1]."""
    frames = to_float(np.asarray(frames))
    luma = [gray(frame) for frame in frames]
    errors = []
    for t in range(len(frames) - 1):
        forward, backward = dis_flow(luma[t], luma[t + 1]), dis_flow(luma[t + 1], luma[t])
        visible = consistency(forward, backward) > 0.5
        warped = backward_warp(frames[t + 1], forward)
        squared = ((frames[t] - warped) ** 2).sum(-1)
        errors.append(squared[visible].sum() / max(visible.sum(), 1))
    return float(np.mean(errors))


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (Heusel et al. 2017, the FID formula):
    |mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))."""
    mean_a, mean_b = features_a.mean(0), features_b.mean(0)
    cov_a, cov_b = np.cov(features_a, rowvar=False), np.cov(features_b, rowvar=False)
    root = linalg.sqrtm(cov_a @ cov_b + 1e-6 * np.eye(len(cov_a)))
    return float(np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a + cov_b - 2 * np.real(root)))


def psnr(reference: np.ndarray, test: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Peak signal-to-noise ratio in dB for images in [0, 1]: 10 log10(1 / MSE); with a boolean mask (broadcast to
    the images), over the masked values alone."""
    squared = (to_float(np.asarray(reference)) - to_float(np.asarray(test))) ** 2
    mse = float(np.mean(squared if mask is None else squared[np.broadcast_to(mask, squared.shape)]))
    return float(10 * np.log10(1.0 / max(mse, 1e-10)))


def motion_in_widths(motion: np.ndarray, width: int) -> np.ndarray:
    """Per-pair (dx, dy, rotation_deg, scale) -> (F-1, 4) displacements in image widths on MOTION_AXES:
    centre shift for dx and dy, and the shift of a point half a width from the centre for rotation and scale."""
    motion = np.asarray(motion, dtype=np.float64)
    return np.stack([motion[:, 0] / width, motion[:, 1] / width, np.radians(motion[:, 2]) * 0.5,
                     np.log(np.maximum(motion[:, 3], 1e-6)) * 0.5], axis=-1)


def expected_motion(camera: str, num_frames: int, width: int, height: int) -> np.ndarray:
    """Image motion a camera spec should cause, (F-1, 4) in widths: its flow on a plane at EXPECTED_DEPTH,
    reduced by the same similarity fit that measures generated clips."""
    flows = parse_camera(camera).trajectory(num_frames).flow(width, height, EXPECTED_DEPTH)
    return motion_in_widths(np.array([fit_similarity(flow) for flow in flows]), width)


def measured_motion(frames: np.ndarray) -> np.ndarray:
    """Image motion measured on a clip, (F-1, 4) in widths (cameras.motion: DIS flow + RANSAC similarity)."""
    return motion_in_widths(estimate_global_motion(np.asarray(frames)), np.asarray(frames).shape[2])


def camera_agreement(expected: np.ndarray, measured: np.ndarray) -> dict:
    """Direction and magnitude agreement of total measured motion with the expected one (VBench++ camera motion
    style: a clip follows the move when its dominant motion axis and sign match and it moves at least STATIC_LIMIT
    on that axis; static when nothing moves).

    Returns {"axis", "direction_ok", "magnitude_error"}; magnitude_error is |m - e| / |e| on the dominant axis."""
    total_expected, total_measured = np.nansum(expected, 0), np.nansum(measured, 0)
    if np.abs(total_expected).max() < STATIC_LIMIT:
        return {"axis": "static", "direction_ok": bool(np.abs(total_measured).max() < STATIC_LIMIT),
                "magnitude_error": None}
    axis = int(np.argmax(np.abs(total_expected)))
    measured_axis = int(np.argmax(np.abs(total_measured)))
    same_sign = np.sign(total_measured[axis]) == np.sign(total_expected[axis])
    error = abs(total_measured[axis] - total_expected[axis]) / abs(total_expected[axis])
    moved = abs(total_measured[axis]) >= STATIC_LIMIT  # a clip that barely moves has not followed the move
    return {"axis": MOTION_AXES[axis], "direction_ok": bool(axis == measured_axis and same_sign and moved),
            "magnitude_error": float(error)}
