"""Flow-based interpolation: positions of moving content, exact endpoints, retiming counts and scene cuts."""

import cv2
import numpy as np
import pytest
from skimage import data

from postprocess import FrameError
from postprocess.interpolate import (
    detect_cuts,
    interpolate_factor,
    interpolate_pair,
    retime,
)

SPRITE = cv2.resize(data.chelsea()[40:240, 120:320], (40, 40), interpolation=cv2.INTER_AREA)


def _scene(sprite_x: float, pan: float = 0.0, size=(120, 160)) -> np.ndarray:
    """A photo background panned by `pan` px with the sprite pasted at (sprite_x, 40) by a sub-pixel shift."""
    height, width = size
    background = cv2.resize(data.astronaut(), (width + 80, height + 80), interpolation=cv2.INTER_AREA)
    shift = np.float32([[1, 0, -40 - pan], [0, 1, -40]])
    frame = cv2.warpAffine(background, shift, (width, height), flags=cv2.INTER_LINEAR)
    layer = cv2.warpAffine(SPRITE, np.float32([[1, 0, sprite_x], [0, 1, 40]]), (width, height), flags=cv2.INTER_LINEAR)
    inside = cv2.warpAffine(np.ones(SPRITE.shape[:2], np.float32), np.float32([[1, 0, sprite_x], [0, 1, 40]]), (width, height))
    return np.where(inside[..., None] > 0.5, layer, frame)


def _sprite_x(frame: np.ndarray) -> float:
    """Where the sprite is, by normalized cross-correlation with sub-pixel parabola refinement."""
    scores = cv2.matchTemplate(frame, SPRITE, cv2.TM_CCOEFF_NORMED)[40]  # the sprite's row
    x = int(np.argmax(scores))
    left, centre, right = scores[x - 1], scores[x], scores[x + 1]
    return x + 0.5 * (left - right) / (left - 2 * centre + right)


@pytest.mark.parametrize("times", [[0.25, 0.5, 0.75]])
def test_moving_object_lands_where_linear_motion_puts_it(times):
    start, end = 30.0, 54.0
    frames = interpolate_pair(_scene(start), _scene(end), times)
    for t, frame in zip(times, frames):
        assert abs(_sprite_x(frame) - (start + t * (end - start))) < 1.0


def test_camera_pan_at_half_resolution_flow_lands_within_a_pixel():
    frame0, frame1 = _scene(60, pan=0, size=(256, 320)), _scene(60, pan=12, size=(256, 320))
    middle = interpolate_pair(frame0, frame1, [0.5])[0]
    expected = _scene(60, pan=6, size=(256, 320))
    # Compare away from the borders, where the pan reveals content neither frame has.
    error = np.abs(middle.astype(int) - expected)[20:-20, 20:-20].mean()
    shifted = np.abs(frame0.astype(int) - expected)[20:-20, 20:-20].mean()
    assert error < 0.2 * shifted
    assert cv2.phaseCorrelate(*(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY).astype(np.float32) for f in (middle, expected)))[0][0] < 1.0


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_endpoints_return_the_inputs_exactly(dtype):
    frame0, frame1 = _scene(30), _scene(40)
    if dtype == np.float32:
        frame0, frame1 = frame0.astype(np.float32) / 255, frame1.astype(np.float32) / 255
    result = interpolate_pair(frame0, frame1, [0.0, 0.5, 1.0])
    assert result.dtype == dtype and result.shape == (3, *frame0.shape)
    assert np.array_equal(result[0], frame0) and np.array_equal(result[2], frame1)


def test_interpolate_factor_count_and_kept_frames():
    clip = np.stack([_scene(30 + 4 * i) for i in range(4)])
    result = interpolate_factor(clip, 3)
    assert result.shape == (10, *clip.shape[1:])
    assert np.array_equal(result[::3], clip)


def test_retime_keeps_duration_and_source_frames():
    clip = np.stack([_scene(30 + 4 * i) for i in range(4)])
    result = retime(clip, src_fps=8, dst_fps=24)
    assert len(result) == 12  # 0.5 s at 24 fps
    assert np.array_equal(result[0:12:3], clip)
    assert np.array_equal(result[10], clip[3]) and np.array_equal(result[11], clip[3])  # past the end: held
    assert len(retime(clip, 8, 4)) == 2


def test_nothing_is_blended_across_a_scene_cut():
    shot_a = np.stack([_scene(30 + 4 * i) for i in range(2)])
    shot_b = np.stack([cv2.resize(data.coffee(), (160, 120))] * 2)
    clip = np.concatenate([shot_a, shot_b])
    assert detect_cuts(clip).tolist() == [False, True, False]
    result = interpolate_factor(clip, 4)
    across = result[5:8]  # between frame 1 (shot a) and frame 2 (shot b)
    assert np.array_equal(across[0], clip[1]) and np.array_equal(across[2], clip[2])
    assert all(np.array_equal(frame, clip[1]) or np.array_equal(frame, clip[2]) for frame in across)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda clip: interpolate_factor(clip, 0), "factor: 0 is not allowed"),
        (lambda clip: interpolate_factor(clip, 2, preset="slow"), "preset: 'slow' is not a DIS preset"),
        (lambda clip: interpolate_factor(clip, 1.5), "factor: 1.5 is not allowed"),
        (lambda clip: retime(clip, 0, 24), "src_fps: 0 is not allowed"),
        (lambda clip: retime(clip, 24, -1), "dst_fps: -1 is not allowed"),
        (lambda clip: retime(clip[:0], 24, 30), "frames: zero-length clip"),
        (lambda clip: interpolate_pair(clip[0], clip[0, :10], [0.5]), "frame1: size 160x10 differs from frame0's 160x120"),
        (lambda clip: interpolate_pair(clip[0], clip[1], [1.5]), r"times: \[1.5\] is not allowed"),
    ],
)
def test_bad_input_is_one_clear_line(call, message):
    clip = np.stack([_scene(30), _scene(34)])
    with pytest.raises(FrameError, match=message) as error:
        call(clip)
    assert "\n" not in str(error.value)


def test_factor_one_returns_the_clip():
    clip = np.stack([_scene(30), _scene(34)])
    assert np.array_equal(interpolate_factor(clip, 1), clip)
