"""Frame tools: trim, concat, transitions, speed, loops, framing, colour coherence and deflicker."""

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from postprocess import FrameError
from postprocess.colour import deflicker, match_colour
from postprocess.tools import (
    boomerang,
    change_speed,
    concat,
    crop_to_aspect,
    extract_frames,
    pad_to_aspect,
    resize,
    reverse,
    seamless_loop,
    transition,
    trim,
)


def _flat(values, height=8, width=10):
    """A clip of flat grey frames, one per value."""
    return np.stack([np.full((height, width, 3), value, np.uint8) for value in values])


def _moving_sprite(positions, size=(96, 128)):
    """A textured sprite over a photo background at the given x positions."""
    background = cv2.resize(data.astronaut(), size[::-1], interpolation=cv2.INTER_AREA)
    sprite = cv2.resize(data.chelsea()[40:240, 120:320], (32, 32), interpolation=cv2.INTER_AREA)
    frames = []
    for x in positions:
        frame = background.copy()
        frame[32:64, x : x + 32] = sprite
        frames.append(frame)
    return np.stack(frames), sprite


def test_trim_and_reverse():
    clip = _flat(range(0, 100, 10))
    assert trim(clip, 2, 5)[:, 0, 0, 0].tolist() == [20, 30, 40]
    assert trim(clip, -2)[:, 0, 0, 0].tolist() == [80, 90]
    assert reverse(clip)[:, 0, 0, 0].tolist() == list(range(90, -1, -10))
    with pytest.raises(FrameError, match="trim: start=5, stop=5 leaves no frames of a 10-frame clip"):
        trim(clip, 5, 5)


def test_concat_joins_and_rejects_mismatched_sizes():
    joined = concat([_flat([1, 2]), _flat([3])])
    assert joined[:, 0, 0, 0].tolist() == [1, 2, 3] and joined.dtype == np.uint8
    with pytest.raises(FrameError, match=r"^clip 2: frames are 12x8 but clip 1's are 10x8; resize") as error:
        concat([_flat([1]), _flat([2], width=12)])
    assert "\n" not in str(error.value)
    mixed = concat([_flat([255]), np.zeros((1, 8, 10, 3), np.float32)])
    assert mixed.dtype == np.float32 and mixed[0].max() == 1.0


def test_crossfade_and_dip_to_black_weights():
    a, b = _flat([100] * 4), _flat([200] * 4)
    crossfade = transition(a, b, "crossfade", frames=3)
    assert len(crossfade) == 5
    assert crossfade[:, 0, 0, 0].tolist() == [100, 125, 150, 175, 200]
    dip = transition(a, b, "dip_to_black", frames=3)
    assert dip[:, 0, 0, 0].tolist() == [100, 50, 0, 100, 200]  # out over the first half, in over the second


def test_wipe_moves_left_to_right():
    a, b = _flat([0] * 5, width=100), _flat([255] * 5, width=100)
    wipe = transition(a, b, "wipe", frames=3)[2:5, 0, :, 0]  # the three overlap frames, one row each
    revealed = (wipe > 127).sum(axis=1)
    assert revealed.tolist() == sorted(revealed.tolist()) and 15 < revealed[0] < 35 and 65 < revealed[2] < 85
    assert (wipe[:, :5] == 255).all() and (wipe[:, -5:] == 0).all()  # b comes in from the left


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "spin"}, "kind: 'spin' is not a transition; use one of crossfade, dip_to_black, wipe"),
        ({"frames": 5}, "frames: 5 is not allowed; use a whole number from 1 to 4"),
        ({"frames": 0}, "frames: 0 is not allowed"),
    ],
)
def test_transition_rejects_bad_settings(kwargs, message):
    with pytest.raises(FrameError, match=message):
        transition(_flat([0] * 4), _flat([1] * 6), **kwargs)


def test_change_speed_counts_and_exact_frames():
    clip = _flat(range(0, 80, 10))
    assert change_speed(clip, 2)[:, 0, 0, 0].tolist() == [0, 20, 40, 60]
    slow = change_speed(clip, 0.5)
    assert len(slow) == 16 and np.array_equal(slow[::2], clip)
    with pytest.raises(FrameError, match="speed: 0 is not allowed"):
        change_speed(clip, 0)


def test_boomerang_loops_without_repeating_the_ends():
    assert boomerang(_flat([1, 2, 3, 4]))[:, 0, 0, 0].tolist() == [1, 2, 3, 4, 3, 2]


def test_seamless_loop_last_frame_flows_into_first():
    clip, sprite = _moving_sprite([30, 34, 38, 42, 46])
    looped = seamless_loop(clip, bridge=3)
    assert len(looped) == 8 and np.array_equal(looped[:5], clip)
    # The bridge carries the sprite from x=46 back to x=30 in even steps of 4 px, then wraps to frame 0.
    for frame, expected in zip(looped[5:], [42, 38, 34]):
        row = cv2.matchTemplate(frame, sprite, cv2.TM_CCOEFF_NORMED)[32]
        assert abs(int(np.argmax(row)) - expected) <= 1


def test_seamless_loop_across_a_cut_crossfades():
    clip = _flat([0, 0, 240])
    assert seamless_loop(clip, bridge=3)[3:, 0, 0, 0].tolist() == [180, 120, 60]


def test_crop_and_pad_to_aspect():
    clip = np.zeros((2, 90, 200, 3), np.uint8)
    assert crop_to_aspect(clip, "16:9").shape == (2, 90, 160, 3)
    assert crop_to_aspect(clip, 1).shape == (2, 90, 90, 3)
    letterboxed = pad_to_aspect(np.full((1, 90, 200, 3), 255, np.uint8), "4:3", colour=(0, 0, 255))
    assert letterboxed.shape == (1, 150, 200, 3)
    assert (letterboxed[0, :30] == (0, 0, 255)).all() and (letterboxed[0, 30:120] == 255).all()
    with pytest.raises(FrameError, match="aspect: 'wide' is not an aspect ratio"):
        crop_to_aspect(clip, "wide")


def test_resize_and_extract_frames(tmp_path):
    clip = resize(_flat([10, 20, 30, 40, 50]), 20, 16)
    assert clip.shape == (5, 16, 20, 3)
    paths = extract_frames(clip, tmp_path / "out", every=2)
    assert [p.name for p in paths] == ["frame_00000.png", "frame_00002.png", "frame_00004.png"]
    assert np.asarray(Image.open(paths[1]))[0, 0, 0] == 30


def test_match_colour_pulls_histograms_to_the_reference():
    reference = data.astronaut()[::4, ::4]
    tinted = np.clip(reference.astype(int) * [0.7, 1.0, 1.2] + 20, 0, 255).astype(np.uint8)[None]
    matched = match_colour(tinted, reference)
    assert matched.dtype == np.uint8
    before = np.abs(tinted[0].mean((0, 1)) - reference.mean((0, 1))).max()
    after = np.abs(matched[0].mean((0, 1)) - reference.mean((0, 1))).max()
    assert before > 20 and after < 0.15 * before
    half = match_colour(tinted, reference, strength=0.5)[0].astype(float)
    assert np.allclose(half, (tinted[0].astype(float) + matched[0]) / 2, atol=1)
    assert np.array_equal(match_colour(reference[None])[0], match_colour(reference[None], reference)[0])


def test_deflicker_flattens_flicker_and_keeps_a_steady_fade():
    base = data.coffee()[::8, ::8].astype(np.float32) / 255
    flicker = np.stack([base * (1.15 if i % 2 else 0.85) for i in range(12)])
    steadied = deflicker(flicker, window=4)
    assert steadied[2:-2].mean((1, 2, 3)).std() < 0.01 * flicker.mean((1, 2, 3)).std()
    fade = np.stack([base * (0.5 + 0.04 * i) for i in range(12)])
    assert np.allclose(deflicker(fade, window=5)[2:-2], fade[2:-2], atol=1e-3)


def test_colour_tools_reject_bad_settings():
    clip = _flat([1, 2])
    with pytest.raises(FrameError, match="strength: 2 is not allowed"):
        match_colour(clip, strength=2)
    with pytest.raises(FrameError, match="window: 1 is not allowed"):
        deflicker(clip, window=1)
    with pytest.raises(FrameError, match="zero-length clip"):
        reverse(clip[:0])
