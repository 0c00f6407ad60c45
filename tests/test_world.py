"""The procedural world: determinism, every attribute value, splits, captions, ground truth, bad input."""

from __future__ import annotations

import re

import numpy as np
import pytest

from videogen.errors import UsageError
from videogen.world import (
    ATTRIBUTES,
    HELD_OUT,
    Scene,
    caption,
    changed_attributes,
    heldout_pairs,
    render_clip,
    is_possible,
    sample_attributes,
    sample_counterfactual,
    sample_scene,
    scene_truth,
)
from videogen.world.captions import CAMERA_PHRASES, PHRASES
from videogen.world.scene import CAMERA_PRESETS

SMALL = {"num_frames": 3, "width": 48, "height": 32}


def test_same_scene_renders_identical_frames():
    scene = sample_scene(np.random.default_rng(5))
    first, second = render_clip(scene, 6, 64, 48), render_clip(scene, 6, 64, 48)
    assert first.shape == (6, 48, 64, 3) and first.dtype == np.float32
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, render_clip(scene.replace(seed=scene.seed + 1), 6, 64, 48))


def test_same_rng_seed_gives_same_scene_and_caption():
    assert sample_scene(np.random.default_rng(3)) == sample_scene(np.random.default_rng(3))


@pytest.mark.parametrize("attribute", list(ATTRIBUTES))
def test_every_attribute_value_renders_and_changes_the_picture(attribute):
    base = Scene(water="lake", subject="none", seed=11, camera="pan_right:0.5")
    reference = render_clip(base.replace(**{attribute: ATTRIBUTES[attribute][0]}), **SMALL)
    for value in ATTRIBUTES[attribute][1:]:
        frames = render_clip(base.replace(**{attribute: value}), **SMALL)
        assert np.isfinite(frames).all() and frames.min() >= 0 and frames.max() <= 1
        assert np.abs(frames - reference).mean() > 1e-3, f"{attribute}={value} looks like {ATTRIBUTES[attribute][0]}"


@pytest.mark.parametrize("weather,time", [("clear", "noon"), ("fog", "noon"), ("rain", "dusk"), ("snow", "night")])
def test_subjects_and_trees_stay_legible(weather, time):
    """A caption that names a subject or trees must show them, in fog and at night too, with a static camera:
    each changes at least 0.4% of the pixels clearly (by 0.08) against the same scene without it."""
    for water in ("none", "lake", "sea"):
        base = Scene(weather=weather, time=time, water=water, seed=3)
        without = render_clip(base, 2, 128, 128)
        variants = [{"vegetation": "trees"}, {"vegetation": "forest"}, {"subject": "balloon"}, {"subject": "birds"},
                    {"subject": "kite"}] + ([{"subject": "boat"}] if water != "none" else [])
        for change in variants:
            shown = np.abs(render_clip(base.replace(**change), 2, 128, 128) - without).max(-1) > 0.08
            assert shown.mean(axis=(1, 2)).min() > 0.004, (water, change, shown.mean(axis=(1, 2)))


@pytest.mark.parametrize("weather,time", [("fog", "noon"), ("fog", "dusk"), ("rain", "dawn"), ("snow", "dusk"),
                                          ("clear", "night")])
def test_scattered_clouds_show_through_weather_and_dim_light(weather, time):
    """Scattered clouds change at least 2.5% of the pixels (by 0.06) against a clear sky, also in fog at dusk."""
    for seed in (1, 2, 3):
        base = Scene(weather=weather, time=time, seed=seed)
        shown = np.abs(render_clip(base.replace(clouds="scattered"), 2, 128, 128) - render_clip(base, 2, 128, 128)) > 0.06
        assert shown.any(-1).mean() > 0.025, (seed, shown.any(-1).mean())


@pytest.mark.parametrize("look", ["pixel_art", "ink_sketch", "film70s"])
def test_small_subjects_survive_the_looks(look):
    """The kite and the birds, the smallest subjects, still change 0.5% of the pixels in a styled dusk fog."""
    base = Scene(look=look, time="dusk", weather="fog", seed=3)
    without = render_clip(base, 2, 128, 128)
    for subject in ("kite", "birds"):
        shown = np.abs(render_clip(base.replace(subject=subject), 2, 128, 128) - without).max(-1) > 0.08
        assert shown.mean() > 0.005, (subject, shown.mean())


def test_splits_keep_heldout_pairs_apart():
    rng = np.random.default_rng(0)
    assert not any(heldout_pairs(sample_attributes(rng, "train")) for _ in range(300))
    assert all(heldout_pairs(sample_attributes(rng, "heldout")) for _ in range(100))
    seen_pairs = {pair for _ in range(400) for pair in heldout_pairs(sample_attributes(rng, "heldout"))}
    assert seen_pairs == set(HELD_OUT)


def test_counterfactual_scenes_change_one_attribute_and_keep_their_split():
    """The other half of a counterfactual pair: one attribute changed, each about equally often, seed and camera kept,
    still possible and in the same split."""
    rng = np.random.default_rng(0)
    changed = []
    for split in ("train", "heldout"):
        for _ in range(300):
            scene = sample_scene(rng, split)
            other = sample_counterfactual(scene, rng, split)
            names = changed_attributes(scene, other)
            assert len(names) == 1 and (other.seed, other.camera) == (scene.seed, scene.camera)
            assert is_possible(other.attributes) and bool(heldout_pairs(other.attributes)) == (split == "heldout")
            changed += names
    assert min(changed.count(name) for name in ATTRIBUTES) > 0.5 * len(changed) / len(ATTRIBUTES)
    empty = Scene(terrain="hills", water="lake", seed=3)  # a subject added to the same scene changes its pixels alone
    changed_pixels = np.abs(render_clip(empty, 1) - render_clip(empty.replace(subject="balloon"), 1)).max(axis=-1) > 0.02
    assert 0 < changed_pixels.mean() < 0.05
    with pytest.raises(UsageError, match="split 'test' is unknown"):
        sample_counterfactual(Scene(), rng, "test")


def test_heldout_vocabulary_never_appears_in_training_captions():
    rng = np.random.default_rng(1)
    heldout = {p for table in (*PHRASES.values(),) for train, kept in table.values() for p in kept if p}
    heldout |= {p for _, kept in CAMERA_PHRASES.values() for p in kept}
    texts = [sample_scene(rng).caption.lower() for _ in range(300)]
    assert not [p for p in heldout if any(p.lower() in text for text in texts)]
    scene = sample_scene(rng)
    assert "by moonlight" in caption(scene.replace(time="night"), rng, "heldout", complete=True)


def test_training_synonyms_borrow_no_distinctive_word_from_held_out_ones():
    """The held-out phrasings test how the text encoder generalises, so a training phrase shares with the held-out
    phrase of the same value only function words and the thing's own name (noon, dunes, kite, ...)."""
    function_words = {"a", "an", "the", "at", "in", "of", "on", "with", "under", "and", "by", "as"}
    own_names = {"noon", "sun", "hour", "sky", "dunes", "skyline", "weather", "kite", "art", "ink"}
    words = lambda phrases: {word for text in phrases for word in re.findall(r"[a-z0-9]+", text.lower())}
    borrowed = {f"{attribute}={value}": words(train) & words(heldout) - function_words - own_names
                for attribute, table in PHRASES.items() for value, (train, heldout) in table.items()}
    assert not {name: shared for name, shared in borrowed.items() if shared}


def test_captions_vary_in_order_and_words():
    rng = np.random.default_rng(2)
    scene = Scene(time="dusk", clouds="scattered", vegetation="forest", weather="fog", subject="kite", camera="pan_left:0.4")
    texts = {caption(scene, rng, complete=True) for _ in range(40)}
    assert len(texts) > 20
    assert all(("slow" in text or "gentle" in text) and "left" in text for text in texts)


def test_every_sampled_camera_has_caption_words():
    assert set(CAMERA_PRESETS) <= set(CAMERA_PHRASES)


def test_truth_tracks_the_subject_inside_the_picture():
    scene = Scene(subject="balloon", camera="pan_right:0.4", seed=4)
    truth = scene_truth(scene, 8, 128, 96)
    track = np.array(truth["subject_track"])
    assert track.shape == (8, 2) and truth["attributes"]["subject"] == "balloon" and len(truth["c2w"]) == 8
    assert 0 < track[4, 0] < 128 and 0 < track[4, 1] < 48  # mid-clip: in view, in the sky
    assert scene_truth(scene.replace(subject="none"), 8, 128, 96)["subject_track"] is None


@pytest.mark.parametrize("bad, message", [
    ({"time": "teatime"}, "world time='teatime' is unknown"),
    ({"subject": "boat", "water": "none"}, "impossible"),
    ({"weather": "snow", "ground": "desert"}, "impossible"),
])
def test_bad_scenes_are_refused_in_one_line(bad, message):
    with pytest.raises(UsageError, match=message) as error:
        Scene(**bad)
    assert "\n" not in str(error.value)


def test_bad_sizes_and_splits_are_refused():
    with pytest.raises(UsageError, match="width 4 is out of range"):
        render_clip(Scene(), 2, 4, 32)
    with pytest.raises(UsageError, match="num_frames 0"):
        render_clip(Scene(), 0, 32, 32)
    with pytest.raises(UsageError, match="split 'test' is unknown"):
        sample_scene(np.random.default_rng(0), split="test")
    with pytest.raises(UsageError, match="cannot hold the held-out"):
        sample_attributes(np.random.default_rng(0), "train", terrain="dunes", ground="snow")
    with pytest.raises(UsageError, match="world camera"):
        render_clip(Scene(camera="spin_around:1"), 2, 32, 32)
