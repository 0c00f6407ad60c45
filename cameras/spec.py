"""Camera specs: one parser for CLI strings, YAML mappings, keyframe lists and the Python API."""

from __future__ import annotations

import abc
import difflib
import json
import math
import os
import re
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import yaml
from scipy.spatial.transform import Rotation, Slerp

from .easing import EASING_NAMES, LINEAR, Easing
from .errors import CameraError
from .presets import (
    INTENSITY_RANGE, OPPOSITES, PRESETS, RIG_AXES, RIG_RANGE, RIG_UNITS_PER_INTENSITY, handheld_poses,
)
from .trajectory import Trajectory, pose_matrices

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_INTEGER = re.compile(r"\d+")


def _suggest(given: str, allowed) -> str:
    """'; did you mean X?' for close names, else the allowed list."""
    close = difflib.get_close_matches(given, list(allowed), n=3, cutoff=0.6)
    return f"; did you mean {' or '.join(close)}?" if close else f"; allowed: {', '.join(allowed)}"


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def _intensity_problem(preset: str, intensity: float) -> tuple[str, str] | None:
    """(message, hint) when an intensity is out of range, else None."""
    low, high = INTENSITY_RANGE
    if low <= intensity <= high:
        return None
    hint = f"; for the other direction use {OPPOSITES[preset]}" if intensity < 0 and preset in OPPOSITES else ""
    return f"intensity {_fmt(intensity)} for {preset} is out of range {_fmt(low)}..{_fmt(high)}", hint


@dataclass(frozen=True)
class Move:
    """One preset at an intensity (handheld also takes a seed)."""

    preset: str
    intensity: float = 1.0
    seed: int = 0

    def __post_init__(self):
        if self.preset not in PRESETS:
            raise CameraError(f'camera preset "{self.preset}" is unknown{_suggest(self.preset, PRESETS)}')
        if problem := _intensity_problem(self.preset, self.intensity):
            raise CameraError(f"camera {problem[0]}{problem[1]}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0 or (
                self.seed and self.preset != "handheld"):
            raise CameraError(f"camera seed {self.seed!r}: only handheld takes a seed, a whole number >= 0")

    def __str__(self) -> str:
        seed = f",seed={self.seed}" if self.seed else ""
        return f"{self.preset}:{_fmt(self.intensity)}{seed}"

    def trajectory(self, times: np.ndarray, progress: np.ndarray, focal: float) -> Trajectory:
        """Poses at normalised times; progress is the eased time (handheld shakes on the raw clock)."""
        if self.preset == "handheld":
            rotations, positions = handheld_poses(times, self.intensity, self.seed)
            return Trajectory(pose_matrices(rotations, positions), np.full(len(times), focal))
        rotations, positions, zoom = PRESETS[self.preset].poses(self.intensity * progress)
        return Trajectory(pose_matrices(rotations, positions), focal * zoom)


class CameraPath(abc.ABC):
    """A parsed camera spec: sample it with trajectory(num_frames); str() gives the canonical spec."""

    @property
    @abc.abstractmethod
    def is_static(self) -> bool:
        """Whether the camera never moves."""

    @abc.abstractmethod
    def trajectory(self, num_frames: int, focal: float = 1.0) -> Trajectory:
        """Poses and focal lengths at num_frames evenly spaced times over the clip (focal: the starting focal
        length in image widths)."""


@dataclass(frozen=True)
class MovePath(CameraPath):
    """Presets played together over the whole clip (composed in order) along one easing curve."""

    moves: tuple[Move, ...] = ()
    easing: Easing = LINEAR

    @property
    def is_static(self) -> bool:
        return not self.moves

    def __str__(self) -> str:
        if not self.moves:
            return "static"
        easing = "" if self.easing == LINEAR else f"@{self.easing}"
        return "+".join(map(str, self.moves)) + easing

    def trajectory(self, num_frames: int, focal: float = 1.0) -> Trajectory:
        trajectory = Trajectory.static(num_frames, focal)
        times = np.linspace(0.0, 1.0, num_frames)
        progress = self.easing(times)
        for move in self.moves:
            trajectory = trajectory.compose(move.trajectory(times, progress, focal))
        return trajectory


KEYFRAME_POSE_FIELDS = {"pan": 0.0, "tilt": 0.0, "roll": 0.0, "x": 0.0, "y": 0.0, "z": 0.0, "zoom": 1.0}


@dataclass(frozen=True)
class Keyframe:
    """A camera pose at a frame index or a clip fraction: pan right, tilt up, roll clockwise (degrees,
    R = Ry Rx Rz), position x right, y down, z forward (scene units), zoom (focal factor), and the easing
    used from this keyframe to the next."""

    frame: int | None = None
    time: float | None = None
    pan: float = 0.0
    tilt: float = 0.0
    roll: float = 0.0
    x: float = 0.0
    y: float = 0.0
    z: float = 0.0
    zoom: float = 1.0
    easing: Easing = LINEAR


@dataclass(frozen=True)
class KeyframePath(CameraPath):
    """Keyframed poses, interpolated per segment with its easing: slerp for rotations (shortest arc, so put
    keyframes less than 180 degrees apart), linear positions, log-linear zoom; held before the first and after
    the last keyframe."""

    keyframes: tuple[Keyframe, ...]

    @property
    def is_static(self) -> bool:
        rest = tuple(KEYFRAME_POSE_FIELDS.values())
        return all(tuple(getattr(key, name) for name in KEYFRAME_POSE_FIELDS) == rest for key in self.keyframes)

    def __str__(self) -> str:
        used = [name for name, default in KEYFRAME_POSE_FIELDS.items()
                if any(getattr(key, name) != default for key in self.keyframes)]
        rows = []
        for key in self.keyframes:
            row = {"frame": key.frame} if key.frame is not None else {"time": key.time}
            row |= {name: getattr(key, name) for name in used}
            rows.append(row | ({"easing": str(key.easing)} if key.easing != LINEAR else {}))
        return json.dumps(rows, separators=(", ", ": "))

    def _times(self, num_frames: int) -> np.ndarray:
        if self.keyframes[0].frame is None:
            return np.array([key.time for key in self.keyframes])
        last = self.keyframes[-1].frame
        if last >= num_frames:
            raise CameraError(f"camera keyframe at frame {last} is beyond the clip of {num_frames} frames "
                              f"(frames 0..{num_frames - 1})")
        return np.array([key.frame for key in self.keyframes]) / max(num_frames - 1, 1)

    def trajectory(self, num_frames: int, focal: float = 1.0) -> Trajectory:
        if num_frames < 1:
            raise CameraError(f"num_frames {num_frames} must be at least 1")
        key_times = self._times(num_frames)
        times = np.linspace(0.0, 1.0, num_frames)
        # Each frame's time, eased within its segment, in the keyframes' own time axis.
        eased = np.clip(times, key_times[0], key_times[-1])
        for start, key in enumerate(self.keyframes[:-1]):
            t0, t1 = key_times[start], key_times[start + 1]
            inside = (times >= t0) & (times < t1)
            eased[inside] = t0 + key.easing((times[inside] - t0) / (t1 - t0)) * (t1 - t0)
        angles = [[key.pan, key.tilt, key.roll] for key in self.keyframes]
        key_rotations = Rotation.from_euler("YXZ", angles, degrees=True)
        rotations = (Slerp(key_times, key_rotations)(eased) if len(key_times) > 1
                     else key_rotations[np.zeros(num_frames, dtype=int)]).as_matrix()
        positions = np.stack([np.interp(eased, key_times, [getattr(key, axis) for key in self.keyframes])
                              for axis in "xyz"], axis=-1)
        zoom = np.exp(np.interp(eased, key_times, np.log([key.zoom for key in self.keyframes])))
        return Trajectory(pose_matrices(rotations, positions), focal * zoom)


class _Scanner:
    """Walks a spec string, reporting errors with the 1-based column of the offending character."""

    def __init__(self, text: str):
        self.text, self.pos = text, 0

    def fail(self, message: str, pos: int | None = None, hint: str = ""):
        column = (self.pos if pos is None else pos) + 1
        raise CameraError(f'camera spec "{self.text}": {message} at column {column}{hint}')

    def skip_spaces(self):
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def take(self, char: str) -> bool:
        self.skip_spaces()
        if self.text.startswith(char, self.pos):
            self.pos += len(char)
            return True
        return False

    def expect(self, char: str, after: str):
        if not self.take(char):
            self.fail(f'expected "{char}" after {after}, found {self.found()}')

    def found(self) -> str:
        return f'"{self.text[self.pos]}"' if self.pos < len(self.text) else "the end"

    def match(self, pattern: re.Pattern, what: str) -> tuple[str, int]:
        self.skip_spaces()
        found = pattern.match(self.text, self.pos)
        if not found:
            self.fail(f"expected {what}, found {self.found()}")
        self.pos = found.end()
        return found.group(), found.start()

    def name(self, what: str) -> tuple[str, int]:
        name, start = self.match(_NAME, what)
        return name.lower().replace("-", "_"), start


def _scan_easing(scanner: _Scanner) -> Easing:
    name, start = scanner.name("an easing name")
    if name not in EASING_NAMES:
        scanner.fail(f'unknown easing "{name}"', start, _suggest(name, EASING_NAMES))
    params = []
    if scanner.take("("):
        params.append(float(scanner.match(_NUMBER, "a number")[0]))
        while scanner.take(","):
            params.append(float(scanner.match(_NUMBER, "a number")[0]))
        scanner.expect(")", "the easing parameters")
    try:
        return Easing(name, tuple(params))
    except CameraError as error:
        scanner.fail(str(error), start)


def parse_easing(text: str) -> Easing:
    """An easing from text such as "ease_in_out" or "cubic_bezier(0.4,0,0.2,1)"."""
    scanner = _Scanner(text)
    easing = _scan_easing(scanner)
    scanner.skip_spaces()
    if scanner.pos < len(scanner.text):
        scanner.fail(f"unexpected {scanner.found()}")
    return easing


def _scan_move(scanner: _Scanner) -> Move:
    preset, start = scanner.name("a preset name")
    if preset not in PRESETS:
        scanner.fail(f'unknown preset "{preset}"', start, _suggest(preset, PRESETS))
    intensity, seed = 1.0, 0
    if scanner.take(":"):
        text, number_start = scanner.match(_NUMBER, f'an intensity after "{preset}:"')
        intensity = float(text)
        if problem := _intensity_problem(preset, intensity):
            scanner.fail(problem[0], number_start, problem[1])
    if scanner.take(","):
        key, key_start = scanner.name('"seed"')
        if key != "seed" or preset != "handheld":
            scanner.fail(f'unexpected option "{key}" (only handheld takes ",seed=N")', key_start)
        scanner.expect("=", "seed")
        seed = int(scanner.match(_INTEGER, "a whole number")[0])
    return Move(preset, intensity, seed)


def _parse_string(text: str) -> CameraPath:
    scanner = _Scanner(text)
    moves = [_scan_move(scanner)]
    while scanner.take("+"):
        moves.append(_scan_move(scanner))
    easing = _scan_easing(scanner) if scanner.take("@") else LINEAR
    scanner.skip_spaces()
    if scanner.pos < len(text):
        scanner.fail(f'unexpected {scanner.found()}; expected "+", "@" or the end')
    return MovePath(tuple(m for m in moves if m.preset != "static" and m.intensity != 0), easing)


def _number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise CameraError(f"camera {what} must be a finite number, got {value!r}")
    return float(value)


def _easing_value(value) -> Easing:
    if isinstance(value, Easing):
        return value
    if not isinstance(value, str):
        raise CameraError(f"camera easing must be a name such as ease_in_out, got {value!r}")
    return parse_easing(value)


def _check_keys(mapping: dict, allowed, what: str):
    for key in mapping:
        if key not in allowed:
            raise CameraError(f'camera {what} has an unknown key "{key}"{_suggest(str(key), allowed)}')


def _parse_mapping(spec: dict) -> CameraPath:
    if "keyframes" in spec:
        _check_keys(spec, ["keyframes"], "mapping")
        return _parse_keyframes(spec["keyframes"])
    easing = _easing_value(spec.get("easing", "linear"))
    if "preset" in spec:
        _check_keys(spec, ["preset", "intensity", "easing", "seed"], "preset mapping")
        name = str(spec["preset"]).strip().lower().replace("-", "_")
        move = Move(name, _number(spec.get("intensity", 1.0), f"{name} intensity"), spec.get("seed", 0))
        return MovePath((move,) if name != "static" and move.intensity != 0 else (), easing)
    _check_keys(spec, [*RIG_AXES, "easing"], "rig")
    moves = []
    for axis, (positive, negative) in RIG_AXES.items():
        value = _number(spec.get(axis, 0), f"rig {axis}")
        if not RIG_RANGE[0] <= value <= RIG_RANGE[1]:
            low, high = RIG_RANGE
            raise CameraError(f"camera rig {axis}={_fmt(value)} is out of range {_fmt(low)}..{_fmt(high)}")
        if value:
            moves.append(Move(positive if value > 0 else negative, abs(value) / RIG_UNITS_PER_INTENSITY))
    return MovePath(tuple(moves), easing)


def _parse_keyframe(index: int, row) -> Keyframe:
    where = f"keyframe {index}"
    if not isinstance(row, dict):
        raise CameraError(f"camera {where} must be a mapping such as {{frame: 0, pan: 10}}, got {row!r}")
    _check_keys(row, [field.name for field in fields(Keyframe)], where)
    if ("frame" in row) == ("time" in row):
        raise CameraError(f"camera {where} needs exactly one of frame (index) or time (fraction 0..1)")
    values = {name: _number(row[name], f"{where} {name}") for name in KEYFRAME_POSE_FIELDS if name in row}
    if values.get("zoom", 1.0) <= 0:
        raise CameraError(f"camera {where} zoom {_fmt(values['zoom'])} must be positive")
    if "frame" in row:
        frame = row["frame"]
        if isinstance(frame, bool) or not isinstance(frame, int) or frame < 0:
            raise CameraError(f"camera {where} frame {frame!r} must be a whole number >= 0")
        values["frame"] = frame
    else:
        values["time"] = _number(row["time"], f"{where} time")
        if not 0 <= values["time"] <= 1:
            raise CameraError(f"camera {where} time {_fmt(values['time'])} is beyond the clip; allowed 0..1 "
                              "(a fraction of the clip)")
    return Keyframe(easing=_easing_value(row.get("easing", "linear")), **values)


def _parse_keyframes(rows) -> KeyframePath:
    if not isinstance(rows, list) or not rows:
        raise CameraError(f"camera keyframes must be a non-empty list of mappings, got {rows!r}")
    keyframes = []
    for index, row in enumerate(rows):
        # Pose fields a keyframe leaves out keep the previous keyframe's values.
        inherited = {name: getattr(keyframes[-1], name) for name in KEYFRAME_POSE_FIELDS} if keyframes else {}
        keyframes.append(_parse_keyframe(index, inherited | row if isinstance(row, dict) else row))
    use_frames = keyframes[0].frame is not None
    for index, (before, after) in enumerate(zip(keyframes, keyframes[1:]), start=1):
        if (after.frame is not None) != use_frames:
            raise CameraError(f"camera keyframe {index} mixes frame and time; use one for all keyframes")
        key_before, key_after = (before.frame, after.frame) if use_frames else (before.time, after.time)
        if key_after <= key_before:
            axis = "frame" if use_frames else "time"
            raise CameraError(f"camera keyframes out of order: keyframe {index} at {axis} {_fmt(key_after)} "
                              f"does not come after {_fmt(key_before)}")
    return KeyframePath(tuple(keyframes))


def parse_camera(spec) -> CameraPath:
    """Parse any camera spec: None or "static"; "pan_right:0.6"; "zoom_in:0.3+tilt_up:0.2@ease_in_out";
    a mapping {preset, intensity, easing, seed} or a Runway-style rig {horizontal, vertical, pan, tilt, roll,
    zoom: -10..10, easing}; a keyframe list [{frame or time, pan, tilt, roll, x, y, z, zoom, easing}];
    the same as YAML/JSON text; or a path (a Path, or a string ending in .yaml/.yml) to a YAML file of any of these."""
    if isinstance(spec, CameraPath):
        return spec
    if spec is None:
        return MovePath()
    if isinstance(spec, os.PathLike):
        try:
            return parse_camera(yaml.safe_load(Path(spec).read_text()))
        except (OSError, yaml.YAMLError) as error:
            raise CameraError(f"camera file {os.fspath(spec)!r} cannot be read: {str(error).splitlines()[0]}") from None
    if isinstance(spec, str):
        if spec.strip().lower().endswith((".yaml", ".yml")):  # preset names never contain a dot
            return parse_camera(Path(spec.strip()))
        if spec.strip().startswith(("[", "{")):
            try:
                return parse_camera(yaml.safe_load(spec))
            except yaml.MarkedYAMLError as error:
                mark = error.problem_mark
                raise CameraError(f'camera spec "{spec}": not valid YAML/JSON: {error.problem} at line '
                                  f'{mark.line + 1} column {mark.column + 1}') from None
        return _parse_string(spec) if spec.strip() else MovePath()
    if isinstance(spec, dict):
        return _parse_mapping(spec)
    if isinstance(spec, (list, tuple)):
        return _parse_keyframes(list(spec))
    raise CameraError(f"camera spec of type {type(spec).__name__} is not allowed; use a string, mapping or "
                      "keyframe list")
