"""Camera-move presets: each is a one-parameter family of poses scaled by an intensity."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from .trajectory import DEFAULT_DEPTH

INTENSITY_RANGE = (0.0, 2.0)  # 1.0 is the nominal move each preset documents; 2.0 doubles it
RIG_RANGE = (-10.0, 10.0)
RIG_UNITS_PER_INTENSITY = 5.0  # a rig value of 5 is a preset at intensity 1.0; 10 is the maximum, 2.0


@dataclass(frozen=True)
class Preset:
    """A rigid move about a pivot (rotation vector in degrees about camera x, y, z; pivot this far ahead),
    plus a translation (scene units, x right, y down, z forward) and a focal factor, all at intensity 1."""

    name: str
    description: str
    rotate_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)
    pivot_depth: float = 0.0
    move: tuple[float, float, float] = (0.0, 0.0, 0.0)
    zoom: float = 1.0

    def poses(self, amount: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rotations (F, 3, 3), positions (F, 3) and focal factors (F,) at amount = intensity * eased time.
        Rotation about a fixed pivot plus a fixed translation is a one-parameter group, so amount -a undoes a."""
        amount = np.asarray(amount, dtype=np.float64)
        rotations = Rotation.from_rotvec(np.outer(amount, np.radians(self.rotate_deg))).as_matrix()
        pivot = np.array([0.0, 0.0, self.pivot_depth])
        positions = pivot - rotations @ pivot + np.outer(amount, self.move)
        return rotations, positions, self.zoom**amount


def _pair(name: str, opposite: str, description: str, rotate_deg=(0.0, 0.0, 0.0), pivot_depth=0.0,
          move=(0.0, 0.0, 0.0), zoom=1.0) -> tuple[Preset, Preset]:
    """A preset and its opposite: rotation and translation negated, zoom inverted, same pivot."""
    negate = lambda values: tuple(0.0 - float(v) for v in values)  # noqa: E731
    return (Preset(name, description, tuple(map(float, rotate_deg)), pivot_depth, tuple(map(float, move)), zoom),
            Preset(opposite, description, negate(rotate_deg), pivot_depth, negate(move), 1.0 / zoom))


_PAIRS = (
    _pair("pan_right", "pan_left", "turn about the vertical axis; 30 degrees at 1.0", rotate_deg=(0, 30, 0)),
    _pair("tilt_up", "tilt_down", "turn about the horizontal axis; 20 degrees at 1.0", rotate_deg=(20, 0, 0)),
    _pair("roll_cw", "roll_ccw", "turn the camera about its view axis (the picture turns the other way); "
          "30 degrees at 1.0", rotate_deg=(0, 0, 30)),
    _pair("zoom_in", "zoom_out", "change the focal length, no parallax; 1.5x at 1.0", zoom=1.5),
    _pair("dolly_in", "dolly_out", "move along the view axis, with parallax; 1 unit (a quarter of the way "
          "to the subject) at 1.0", move=(0, 0, 1)),
    _pair("truck_right", "truck_left", "slide sideways; 1 unit at 1.0 (the subject shifts a quarter frame)",
          move=(1, 0, 0)),
    _pair("pedestal_up", "pedestal_down", "raise or lower the camera; 1 unit at 1.0", move=(0, -1, 0)),
    _pair("orbit_left", "orbit_right", "circle the subject 4 units ahead, keeping it centred; 30 degrees at 1.0",
          rotate_deg=(0, 30, 0), pivot_depth=DEFAULT_DEPTH),
    _pair("crane_up", "crane_down", "boom in an arc over the subject 4 units ahead, tilting to keep it "
          "centred; 20 degrees at 1.0", rotate_deg=(-20, 0, 0), pivot_depth=DEFAULT_DEPTH),
)
PRESETS: dict[str, Preset] = {
    "static": Preset("static", "the camera does not move"),
    **{preset.name: preset for pair in _PAIRS for preset in pair},
    "handheld": Preset("handheld", "seeded smooth shake; about 1.5 degrees and 0.05 units at 1.0"),
}
OPPOSITES = {a.name: b.name for a, b in _PAIRS} | {b.name: a.name for a, b in _PAIRS}

# Runway-style six-axis rig: axis -> (preset for positive values, preset for negative values).
RIG_AXES = {
    "horizontal": ("truck_right", "truck_left"),
    "vertical": ("pedestal_up", "pedestal_down"),
    "pan": ("pan_right", "pan_left"),
    "tilt": ("tilt_up", "tilt_down"),
    "roll": ("roll_cw", "roll_ccw"),
    "zoom": ("zoom_in", "zoom_out"),
}

_SHAKE_ROTATE_DEG = 1.5
_SHAKE_MOVE = 0.05
_SHAKE_CYCLES = (1.0, 4.0)  # oscillations per clip, so the shake is the same path at any frame count
_SHAKE_WAVES = 3


def handheld_poses(times: np.ndarray, intensity: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded smooth shake: per axis a sum of sinusoids with random frequencies and phases, zero at t = 0."""
    rng = np.random.default_rng(seed)
    cycles = rng.uniform(*_SHAKE_CYCLES, size=(6, _SHAKE_WAVES))
    phases = rng.uniform(0.0, 2 * np.pi, size=(6, _SHAKE_WAVES))
    weights = rng.normal(size=(6, _SHAKE_WAVES))
    weights /= np.linalg.norm(weights, axis=1, keepdims=True)
    times = np.asarray(times, dtype=np.float64)[:, None, None]
    waves = np.sin(2 * np.pi * cycles * times + phases) - np.sin(phases)  # (F, 6, waves), zero at t = 0
    offsets = intensity * (waves * weights).sum(-1)  # (F, 6): three rotation angles, three translations
    rotations = Rotation.from_rotvec(np.radians(_SHAKE_ROTATE_DEG) * offsets[:, :3]).as_matrix()
    return rotations, _SHAKE_MOVE * offsets[:, 3:]
