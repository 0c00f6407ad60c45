"""Flow-based frame interpolation at any time t, retiming to a new frame rate, and scene-cut detection.

Method: bidirectional DIS optical flow; the intermediate flows F_t->0 and F_t->1 are found by forward-splatting
both flows to time t (flow projection, as in DAIN, Bao et al. 2019), weighted by forward-backward consistency;
holes are filled by normalized convolution (Knutsson & Westin 1993); both frames are backward-warped with
cv2.remap and blended with visibility weights taken from how much consistent flow reached each pixel from each
frame (occlusion-aware blending, as in Super SloMo, Jiang et al. 2018).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import cv2
import numpy as np

from postprocess.flow import (
    DIS_PRESETS,
    backward_warp,
    consistency,
    dis_flow,
    feature_matches,
    gray,
    guided_flow,
    pixel_grid,
    splat,
)
from postprocess.frames import (
    FrameError,
    check_frames,
    check_image,
    check_positive,
    to_float,
    to_uint8,
)

# Pixels that fail the consistency check still splat a little, so a region seen only in one frame is drawn
# from that frame rather than left as a hole.
_MIN_CONFIDENCE = 0.05
# When this fraction of pixels away from the borders (where panned-in content fails the check anyway) fails the
# consistency check, DIS may have missed a large motion: feature matches are brought in to repair it. Above it,
# the flow failed everywhere (grain, flicker), which no match can repair.
_REPAIR_BETWEEN = (0.04, 0.35)


def _fill_holes(sums: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Weighted averages `sums / weight`; pixels nothing landed on take the average of the nearest coarser level
    of a Gaussian pyramid of sums and weights (push-pull normalized convolution, Gortler et al. 1996)."""
    holes = weight <= 1e-3
    result = sums / np.maximum(weight, 1e-3)[..., None]
    if holes.any() and min(weight.shape) > 2:
        coarse = _fill_holes(cv2.pyrDown(sums), cv2.pyrDown(weight))
        upsampled = cv2.pyrUp(coarse, dstsize=weight.shape[::-1])
        result[holes] = upsampled[holes]
    return result


def _check_preset(preset: str) -> None:
    if preset not in DIS_PRESETS:
        raise FrameError(f"preset: {preset!r} is not a DIS preset; use one of {', '.join(DIS_PRESETS)}")


def flow_scale(height: int, width: int) -> float:
    """Resolution at which motion is estimated: half size for frames whose short side is at least 240 px, and
    enlarged for frames under 16 px, which DIS cannot take."""
    return 0.5 if min(height, width) >= 240 else max(1.0, 16 / min(height, width))


class _PairMotion:
    """Bidirectional flow between two frames (estimated at `flow_scale`) and the frames rendered from it."""

    def __init__(self, frame0: np.ndarray, frame1: np.ndarray, preset: str):
        self.frame0, self.frame1 = frame0, frame1
        height, width = frame0.shape[:2]
        scale = flow_scale(height, width)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        # Full-resolution pixels per flow pixel along x and y, for the (x, y) of both intermediate flows.
        self.pixel_size = np.tile(np.float32([width / size[0], height / size[1]]), 2)
        gray0, gray1 = (cv2.resize(gray(frame), size, interpolation=cv2.INTER_AREA) for frame in (frame0, frame1))
        flow01, flow10 = dis_flow(gray0, gray1, preset), dis_flow(gray1, gray0, preset)
        confidence0 = consistency(flow01, flow10)
        margin = max(1, max(size) // 16)
        if _REPAIR_BETWEEN[0] < np.mean(confidence0[margin:-margin, margin:-margin] < 0.5) < _REPAIR_BETWEEN[1]:
            points0, points1 = feature_matches(gray0, gray1)
            flow01 = guided_flow(gray0, gray1, flow01, points0, points1, preset)
            flow10 = guided_flow(gray1, gray0, flow10, points1, points0, preset)
            confidence0 = consistency(flow01, flow10)
        self.flow01, self.flow10 = flow01, flow10
        self.confidence0 = np.maximum(confidence0, _MIN_CONFIDENCE)
        self.confidence1 = np.maximum(consistency(flow10, flow01), _MIN_CONFIDENCE)
        self.grid = pixel_grid(size[1], size[0])

    def frame_at(self, t: float) -> np.ndarray:
        """The frame at time t in (0, 1), in the dtype of the inputs."""
        # A pixel of frame 0 is at p + t F01 at time t, from where the flows back to 0 and on to 1 are -t F01
        # and (1 - t) F01; a pixel of frame 1 is at p + (1 - t) F10 with flows t F10 and -(1 - t) F10.
        sum0, weight0 = splat(self.flow01, self.grid + t * self.flow01, self.confidence0)
        sum1, weight1 = splat(self.flow10, self.grid + (1 - t) * self.flow10, self.confidence1)
        near0, near1 = 1 - t, t  # the frame nearer in time is trusted more
        flows = _fill_holes(
            np.concatenate([near0 * -t * sum0 + near1 * t * sum1, near0 * (1 - t) * sum0 - near1 * (1 - t) * sum1], -1),
            near0 * weight0 + near1 * weight1,
        ) * self.pixel_size
        # Visibility: how much consistent flow reached each pixel from each frame, weighted by nearness in time.
        visible0, visible1 = near0 * (weight0 + 1e-4), near1 * (weight1 + 1e-4)
        # Motion was estimated at reduced scale; warping and blending happen at full resolution.
        size = self.frame0.shape[1::-1]
        flow_t0 = cv2.resize(np.ascontiguousarray(flows[..., :2]), size, interpolation=cv2.INTER_LINEAR)
        flow_t1 = cv2.resize(np.ascontiguousarray(flows[..., 2:]), size, interpolation=cv2.INTER_LINEAR)
        weight = cv2.resize(visible0 / (visible0 + visible1), size, interpolation=cv2.INTER_LINEAR)
        warped0, warped1 = backward_warp(self.frame0, flow_t0), backward_warp(self.frame1, flow_t1)
        return cv2.blendLinear(warped0, warped1, weight, 1 - weight)


def interpolate_pair(frame0, frame1, times: Sequence[float], preset: str = "medium") -> np.ndarray:
    """(T, H, W, 3) frames at each time t in [0, 1] between two frames; t=0 and t=1 return the inputs exactly."""
    image0, image1 = check_image(frame0, "frame0"), check_image(frame1, "frame1")
    if image0.shape != image1.shape:
        raise FrameError(f"frame1: size {image1.shape[1]}x{image1.shape[0]} differs from frame0's "
                         f"{image0.shape[1]}x{image0.shape[0]}; both frames must have the same size")
    _check_preset(preset)
    times = np.asarray(times, dtype=np.float64).ravel()
    if times.size == 0 or not np.all((times >= 0) & (times <= 1)):
        raise FrameError(f"times: {times.tolist()} is not allowed; give one or more times in [0, 1]")
    if image0.dtype != np.uint8 or image1.dtype != np.uint8:
        image0, image1 = to_float(image0), to_float(image1)
    result = np.empty((len(times), *image0.shape), image0.dtype)
    inner = np.flatnonzero((times > 0) & (times < 1))
    if inner.size:
        motion = _PairMotion(image0, image1, preset)
        for index in inner:
            result[index] = motion.frame_at(float(times[index]))
    result[times == 0] = image0
    result[times == 1] = image1
    return result


def detect_cuts(frames, threshold: float = 0.35) -> np.ndarray:
    """(F-1,) bool: True where frame i+1 starts a new shot, by HSV histogram Bhattacharyya distance > threshold."""
    frames = check_frames(frames)
    histograms = []
    for frame in frames:
        small = cv2.resize(to_uint8(frame), (64, 64), interpolation=cv2.INTER_AREA)
        hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
        histogram = cv2.calcHist([hsv], [0, 1, 2], None, [16, 4, 4], [0, 180, 0, 256, 0, 256])
        histograms.append(cv2.normalize(histogram, None).ravel())
    distances = [cv2.compareHist(a, b, cv2.HISTCMP_BHATTACHARYYA) for a, b in itertools.pairwise(histograms)]
    return np.asarray(distances, dtype=np.float64) > threshold


def _sample(frames: np.ndarray, positions: np.ndarray, preset: str, cut_threshold: float) -> np.ndarray:
    """Frames at fractional source positions: interpolated within a shot, the nearest frame across a cut."""
    _check_preset(preset)
    positions = np.round(positions, 6)  # k * ratio lands a hair off whole frames
    pairs = np.minimum(np.floor(positions).astype(int), len(frames) - 1)
    times = positions - pairs
    cuts = detect_cuts(frames, cut_threshold) if len(frames) > 1 else np.zeros(0, bool)
    result = np.empty((len(positions), *frames.shape[1:]), np.uint8 if frames.dtype == np.uint8 else np.float32)
    for pair in np.unique(pairs):
        chosen = pairs == pair
        if np.all(times[chosen] == 0):
            result[chosen] = frames[pair]
        elif cuts[pair]:
            result[chosen] = np.where((times[chosen] < 0.5)[:, None, None, None], frames[pair], frames[pair + 1])
        else:
            result[chosen] = interpolate_pair(frames[pair], frames[pair + 1], times[chosen], preset)
    return result


def retime(frames, src_fps: float, dst_fps: float, preset: str = "medium", cut_threshold: float = 0.35) -> np.ndarray:
    """Resample a clip from src_fps to dst_fps keeping its duration (round(F * dst / src) frames), by flow interpolation.

    Output frame k shows source time k / dst_fps; past the last source frame the last frame is held.
    """
    frames = check_frames(frames)
    ratio = check_positive("src_fps", src_fps) / check_positive("dst_fps", dst_fps)
    count = max(1, round(len(frames) / ratio))
    return _sample(frames, np.minimum(np.arange(count) * ratio, len(frames) - 1), preset, cut_threshold)


def interpolate_factor(frames, factor: int, preset: str = "medium", cut_threshold: float = 0.35) -> np.ndarray:
    """Insert factor-1 interpolated frames between each neighbouring pair: (F-1) * factor + 1 frames."""
    frames = check_frames(frames)
    if isinstance(factor, bool) or int(factor) != factor or factor < 1:
        raise FrameError(f"factor: {factor} is not allowed; it must be a whole number of at least 1")
    return _sample(frames, np.arange((len(frames) - 1) * int(factor) + 1) / int(factor), preset, cut_threshold)
