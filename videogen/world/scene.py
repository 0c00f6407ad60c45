"""Scene attributes of the landscape world: vocabulary, validation, held-out combinations, sampling."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import numpy as np

from videogen.errors import UsageError

# Each attribute is independent of the others except for IMPOSSIBLE below; the first value is the default.
ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "time": ("noon", "dawn", "sunrise", "golden_hour", "sunset", "dusk", "night"),
    "clouds": ("clear", "scattered", "overcast"),
    "terrain": ("mountains", "hills", "dunes", "city"),
    "water": ("none", "lake", "sea"),
    "ground": ("grass", "desert", "snow", "rock"),
    "vegetation": ("none", "trees", "forest"),
    "weather": ("clear", "fog", "snow", "rain"),
    "subject": ("none", "balloon", "birds", "boat", "kite"),
    "look": ("natural", "watercolor", "pixel_art", "ink_sketch", "film70s"),
}

# Pairs the world cannot show: a boat needs water, and snow does not fall on hot desert sand.
IMPOSSIBLE: tuple[tuple[tuple[str, str], tuple[str, str]], ...] = (
    (("subject", "boat"), ("water", "none")),
    (("weather", "snow"), ("ground", "desert")),
)

# Pairs never shown in training and kept for evaluation: does the model compose what it saw apart?
HELD_OUT: tuple[tuple[tuple[str, str], tuple[str, str]], ...] = (
    (("terrain", "dunes"), ("ground", "snow")),
    (("time", "night"), ("subject", "kite")),
    (("look", "pixel_art"), ("weather", "snow")),
    (("terrain", "city"), ("water", "sea")),
    (("look", "watercolor"), ("time", "sunset")),
)

SPLITS = ("train", "heldout")

# Camera presets the world samples (names of cameras/ presets), with the static camera as one choice.
CAMERA_PRESETS: tuple[str, ...] = (
    "static", "pan_left", "pan_right", "tilt_up", "tilt_down", "zoom_in", "zoom_out", "roll_cw", "roll_ccw",
    "dolly_in", "dolly_out", "truck_left", "truck_right", "pedestal_up", "pedestal_down", "orbit_left",
    "orbit_right", "crane_up", "crane_down",
)
CAMERA_EASINGS: tuple[str, ...] = ("linear", "ease_in_out", "ease_in", "ease_out")


@dataclasses.dataclass(frozen=True)
class Scene:
    """One world scene: its attributes, camera spec, render seed and the caption that describes it."""

    time: str = "noon"
    clouds: str = "clear"
    terrain: str = "mountains"
    water: str = "none"
    ground: str = "grass"
    vegetation: str = "none"
    weather: str = "clear"
    subject: str = "none"
    look: str = "natural"
    camera: str = "static"
    seed: int = 0
    caption: str = ""

    def __post_init__(self):
        check_attributes(self.attributes)

    @property
    def attributes(self) -> dict[str, str]:
        """The scene's attribute values by attribute name, in ATTRIBUTES order."""
        return {name: getattr(self, name) for name in ATTRIBUTES}

    def replace(self, **changes) -> Scene:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


def check_attributes(attributes: dict[str, str]) -> None:
    """Raise UsageError on an unknown attribute, an unknown value or an impossible pair."""
    for name, value in attributes.items():
        if name not in ATTRIBUTES:
            raise UsageError(f"world attribute {name!r} is unknown; allowed: {', '.join(ATTRIBUTES)}")
        if value not in ATTRIBUTES[name]:
            raise UsageError(f"world {name}={value!r} is unknown; allowed: {', '.join(ATTRIBUTES[name])}")
    impossible = pairs_within(attributes, IMPOSSIBLE)
    if impossible:
        (name_a, value_a), (name_b, value_b) = impossible[0]
        raise UsageError(f"world {name_a}={value_a} with {name_b}={value_b} is impossible")


def pairs_within(attributes: dict[str, str], pairs: Iterable[tuple[tuple[str, str], tuple[str, str]]]
                 ) -> list[tuple[tuple[str, str], tuple[str, str]]]:
    """The attribute pairs of `pairs` that the attributes hold both halves of."""
    return [pair for pair in pairs if all(attributes.get(name) == value for name, value in pair)]


def heldout_pairs(attributes: dict[str, str]) -> list[tuple[tuple[str, str], tuple[str, str]]]:
    """The held-out attribute pairs a scene contains (empty for a scene allowed in training)."""
    return pairs_within(attributes, HELD_OUT)


def is_possible(attributes: dict[str, str]) -> bool:
    """Whether the attributes hold no impossible pair (snow falling on desert, ...)."""
    return not pairs_within(attributes, IMPOSSIBLE)


def sample_attributes(rng: np.random.Generator, split: str = "train", **fixed: str) -> dict[str, str]:
    """Draw attribute values uniformly, rejecting impossible pairs; split picks training or held-out combinations.

    "train" never contains a HELD_OUT pair; "heldout" contains at least one (one pair is planted, the rest drawn).
    Values given in `fixed` are kept as they are.
    """
    if split not in SPLITS:
        raise UsageError(f"world split {split!r} is unknown; allowed: {', '.join(SPLITS)}")
    check_attributes(fixed)
    planted: dict[str, str] = {}
    if split == "heldout":
        usable = [pair for pair in HELD_OUT if all(fixed.get(name, value) == value for name, value in pair)]
        if not usable:
            raise UsageError(f"world split 'heldout' cannot hold the fixed values {fixed}")
        planted = dict(usable[rng.integers(len(usable))])
    elif heldout_pairs(fixed):
        raise UsageError(f"world split 'train' cannot hold the held-out values {fixed}")
    for _ in range(1000):
        attributes = {name: values[rng.integers(len(values))] for name, values in ATTRIBUTES.items()}
        attributes.update(planted, **fixed)
        if is_possible(attributes) and (split == "heldout" or not heldout_pairs(attributes)):
            return attributes
    raise UsageError(f"world attributes {fixed} leave no possible scene")


def changed_attributes(first: Scene, second: Scene) -> list[str]:
    """The names of the attributes whose values differ between two scenes, in ATTRIBUTES order."""
    return [name for name in ATTRIBUTES if getattr(first, name) != getattr(second, name)]


def sample_counterfactual(scene: Scene, rng: np.random.Generator, split: str = "train") -> Scene:
    """The scene with one attribute, drawn at random, set to another value, its seed and camera kept: the other half of
    a counterfactual pair, which differs only by what that attribute's words say. It stays possible and in `split`
    (no held-out pair in "train", at least one in "heldout"); the caption is left empty for the trainer to draw."""
    if split not in SPLITS:
        raise UsageError(f"world split {split!r} is unknown; allowed: {', '.join(SPLITS)}")
    names = list(ATTRIBUTES)
    for name in (names[index] for index in rng.permutation(len(names))):  # each attribute equally often
        others = [value for value in ATTRIBUTES[name] if value != getattr(scene, name)]
        for value in (others[index] for index in rng.permutation(len(others))):
            attributes = {**scene.attributes, name: value}
            if is_possible(attributes) and bool(heldout_pairs(attributes)) == (split == "heldout"):
                return scene.replace(**{name: value}, caption="")
    raise UsageError(f"world scene {scene.attributes} has no one-attribute change left in split {split!r}")


def sample_camera(rng: np.random.Generator, presets: tuple[str, ...] = CAMERA_PRESETS) -> str:
    """Draw a cameras/ spec string 'preset:intensity@easing' (or 'static'), intensity 0.3..1.0."""
    preset = presets[rng.integers(len(presets))]
    if preset == "static":
        return preset
    intensity = round(float(rng.uniform(0.3, 1.0)), 2)
    easing = CAMERA_EASINGS[rng.integers(len(CAMERA_EASINGS))]
    return f"{preset}:{intensity:g}" + ("" if easing == "linear" else f"@{easing}")


def sample_scene(rng: np.random.Generator, split: str = "train", camera: str | None = None, **fixed: str) -> Scene:
    """Draw a scene: attributes (see sample_attributes), a camera spec unless given, a seed and a caption."""
    from videogen.world.captions import caption  # captions import this module

    attributes = sample_attributes(rng, split, **fixed)
    camera = sample_camera(rng) if camera is None else camera
    scene = Scene(**attributes, camera=camera, seed=int(rng.integers(2**31)))
    return scene.replace(caption=caption(scene, rng, split))

