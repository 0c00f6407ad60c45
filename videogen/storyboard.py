"""Storyboards: shots from YAML -> validated Requests -> cached shot files -> one film with transitions.

A storyboard has `defaults` and `shots`; every Request setting may appear in either (the shot's own wins), so
settings added to Request work in storyboards unchanged. Everything is checked before anything renders, and
errors name the file, line, column and the setting's path. A shot's files are named by a hash of what makes
it (its Requests, input files, the model's files, the code version), so a rerun renders only what changed
or is missing, and a killed run loses nothing it finished.
"""

from __future__ import annotations

import difflib
import hashlib
import html
import json
import os
import re
import time
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

import cameras
from postprocess import FrameError
from postprocess.files import atomic_path
from postprocess.mux import parse_fps, sidecar_path, write_video
from postprocess.preview import contact_sheet, save_png
from postprocess.read import probe, read_video
from postprocess.tools import TRANSITIONS
from videogen import __version__
from videogen.api import metadata_of, reading_of, readings_in
from videogen.errors import UsageError
from videogen.executors import LocalExecutor, RenderedShot, ShotEvent, ShotFailure, ShotJob, join_clips
from videogen.models.registry import resolve_model
from videogen.request import INPUT_SETTINGS, Request
from videogen.world.captions import PHRASES

SHOT_FORMAT = 1  # bump when the way a shot's files are made changes, so cached shots are rendered again
LOOKS = tuple(PHRASES["look"])
MEDIA_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".mp4", ".mov", ".webm", ".mkv", ".avi")
DEFAULT_PROMPT_BLEND = 0.5  # seconds
SCHEMA_NAME = "storyboard.schema.json"
_TEMPORARY = re.compile(r"^\..+\.[0-9a-f]{12}(\.[\w.]+)?$")  # postprocess.files.atomic_path's names


class StoryboardError(UsageError):
    """A bad storyboard: one line with file:line:column, the setting's path and what is allowed."""


class ShotsFailed(RuntimeError):
    """Some shots raised while rendering; the others are done and cached."""


# --------------------------------------------------------------------------------------------------- schema


TRANSITION_TYPES = ("cut", *TRANSITIONS)


def _also_a_name(schema: dict) -> None:
    """A transition may be written as its type alone: `transition: crossfade`."""
    as_mapping = {key: schema.pop(key) for key in ("type", "properties", "additionalProperties")}
    schema["anyOf"] = [as_mapping, {"type": "string", "enum": list(TRANSITION_TYPES)}]


class Transition(BaseModel):
    """How a shot hands over to the next: a cut, or the two shots overlapping (postprocess.tools.transition)."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_also_a_name)

    type: Literal[TRANSITION_TYPES] = Field("cut", description="cut, or how the overlap blends")
    duration: float = Field(0.5, gt=0, le=60, description="seconds the two shots overlap (not used by cut)")

    @model_validator(mode="before")
    @classmethod
    def _name_alone(cls, value):
        return {"type": value} if isinstance(value, str) else value


class PromptKey(BaseModel):
    """One prompt of a prompt-travel shot, shown from its time or frame until the next prompt's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    time: float | None = Field(None, ge=0, description="seconds from the start of the shot")
    frame: int | None = Field(None, ge=0, description="frame of the shot (0 is the first)")
    prompt: str = Field(min_length=1, description="what to show from here on")

    @model_validator(mode="after")
    def _one_position(self):
        if (self.time is None) == (self.frame is None):
            raise ValueError("give exactly one of time (seconds) or frame")
        return self


class _StoryboardSettings(BaseModel):
    """Settings storyboards add to Request's, allowed in defaults and in shots."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    duration: float | None = Field(None, gt=0, le=600, description="seconds; frames = round(duration * fps); give duration or frames")
    size: str | None = Field(None, pattern=r"^\d+x\d+$", description="WIDTHxHEIGHT, shorthand for width and height")
    look: Literal[LOOKS] | None = Field(None, description="picture style, put before every prompt in the words the built-in model learnt")
    prompt_blend: float | None = Field(None, ge=0, le=10, description=f"seconds of crossfade between the prompts of a prompt-travel shot (default {DEFAULT_PROMPT_BLEND})")


def _request_fields(exclude: tuple[str, ...] = (), notes: dict[str, str] | None = None) -> dict:
    """Every Request setting as an optional field: described by Request's own schema, validated by Request."""
    properties = Request.model_json_schema()["properties"]
    notes = notes or {}
    return {
        name: (Any, Field(None, json_schema_extra=properties[name] | {"description": notes.get(name, info.description)}))
        for name, info in Request.model_fields.items() if name not in exclude
    }


class _DefaultsBase(_StoryboardSettings):
    seeds: Literal["derived", "fixed"] = Field("derived", description="seed of shots that set none: derived from seed and the shot's id, or seed itself")


class _ShotBase(_StoryboardSettings):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$", max_length=64, description="unique name; the shot's files are named after it")
    prompts: list[PromptKey] | None = Field(None, min_length=1, description="prompt travel, instead of prompt: a prompt per time or frame, crossfaded")
    transition: Transition = Field(default_factory=Transition, description="into the next shot: a name, or {type, duration}")


Defaults = create_model(
    "Defaults", __base__=_DefaultsBase, __doc__="Settings of every shot that does not set its own.",
    **_request_fields(notes={"seed": "the storyboard's seed (see seeds)", "prompt": "prompt of shots that give neither prompt nor prompts"}),
)
Shot = create_model("Shot", __base__=_ShotBase, __doc__="One shot: a prompt (or prompts), its length and any Request setting.", **_request_fields())


class StoryboardSpec(BaseModel):
    """A storyboard file: defaults for every shot, then the shots in film order."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="videogen storyboard")

    version: Literal[1] = Field(1, description="storyboard format version")
    title: str = Field("storyboard", description="the film's title")
    defaults: Defaults = Field(default_factory=Defaults)
    shots: list[Shot] = Field(min_length=1, description="the shots, in film order")


def storyboard_json_schema() -> dict:
    """The JSON Schema of storyboard files (Request's own definitions included)."""
    schema = StoryboardSpec.model_json_schema()
    schema["$defs"].update(Request.model_json_schema().get("$defs", {}))
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def write_schema(path: str | os.PathLike | None = None) -> Path:
    """Write the JSON Schema to `path` (default: configs/storyboard.schema.json)."""
    path = Path(path or resources.files("videogen.configs").joinpath(SCHEMA_NAME))
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(storyboard_json_schema(), indent=2) + "\n")
    return path


# ------------------------------------------------------------------------------------------------ locations


def format_path(loc) -> str:
    """('shots', 2, 'camera') -> 'shots[2].camera'."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".") or "storyboard"


class _Locator:
    """Where a path of keys and indices sits in the YAML file: 'board.yaml:12:5'."""

    def __init__(self, source: str, root: yaml.Node | None = None):
        self.source, self.root = source, root

    def __call__(self, loc, key: bool = False) -> str:
        node = self.root
        if node is None:
            return self.source
        for position, part in enumerate(loc):
            last = position == len(loc) - 1
            if isinstance(node, yaml.MappingNode):
                match = next(((k, v) for k, v in node.value if k.value == str(part)), None)
                if match is None:
                    break
                node = match[0] if last and key else match[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
                node = node.value[part]
            else:
                break
        return f"{self.source}:{node.start_mark.line + 1}:{node.start_mark.column + 1}"


def _check_duplicate_keys(node: yaml.Node, source: str) -> None:
    """YAML keeps the last of repeated keys silently; a storyboard rejects them."""
    if isinstance(node, yaml.MappingNode):
        seen = {}
        for key, value in node.value:
            if key.value in seen:
                mark = key.start_mark
                raise StoryboardError(f"{source}:{mark.line + 1}:{mark.column + 1}: duplicate key {key.value!r} "
                                      f"(first at line {seen[key.value] + 1})")
            seen[key.value] = key.start_mark.line
            _check_duplicate_keys(value, source)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_duplicate_keys(item, source)


def _models_in(annotation) -> list[type[BaseModel]]:
    """The pydantic models an annotation holds (through list[...], X | None, ...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for argument in typing.get_args(annotation) for model in _models_in(argument)]


def _allowed_keys(loc) -> list[str]:
    """The keys allowed in the mapping at `loc` of a storyboard."""
    model = StoryboardSpec
    for part in loc:
        if isinstance(part, int):
            continue
        found = model.model_fields.get(part)
        models = _models_in(found.annotation) if found else []
        if not models:
            return []
        model = models[0]
    return list(model.model_fields)


def _describe(error: dict, loc) -> str:
    """One pydantic error as 'path: what was given; what is allowed'."""
    path = format_path(loc)
    if error["type"] == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        return f"{path}: unknown setting; {hint}allowed: {', '.join(allowed)}"
    if error["type"] == "missing":
        return f"{path}: missing; it is required"
    message = error["msg"].removeprefix("Value error, ")
    return f"{path}: got {error.get('input')!r}; {message}"


# ------------------------------------------------------------------------------------------------- shots


def derive_seed(storyboard_seed: int, shot_id: str) -> int:
    """A shot's seed from the storyboard's seed and the shot's id (not its position, so reordering keeps seeds)."""
    return int.from_bytes(hashlib.sha256(f"{storyboard_seed}/{shot_id}".encode()).digest()[:4], "big") & 0x7FFFFFFF


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_identity(spec: str) -> str:
    """What a model's outputs depend on: its model_index.json and its files' names, sizes and change times."""
    folder = resolve_model(spec)
    digest = hashlib.sha256((folder / "model_index.json").read_bytes())
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            stat = path.stat()
            digest.update(f"{path.relative_to(folder)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def travel_segments(starts: list[int], frames: int, blend: int) -> list[tuple[int, int]]:
    """Frame ranges [start, stop) of prompt-travel segments: each prompt's span widened so that neighbours
    overlap by `blend` frames, which the crossfade then consumes (the joined clip has `frames` frames)."""
    bounds = starts[1:]
    return list(zip([0] + [bound - blend // 2 for bound in bounds], [bound - blend // 2 + blend for bound in bounds] + [frames]))


def camera_window(path: cameras.CameraPath, frames: int, start: int, stop: int) -> list[dict] | str:
    """Frames start..stop-1 of a shot's camera as keyframes from rest, so a prompt-travel segment continues the move."""
    if path.is_static:
        return "static"
    trajectory = path.trajectory(frames)
    relative = np.linalg.inv(trajectory.c2w[start]) @ trajectory.c2w[start:stop]  # (n, 4, 4), in the segment's first camera
    window = cameras.Trajectory(relative, trajectory.focal[start:stop] / trajectory.focal[start])
    angles, positions = window.euler_degrees(), window.positions
    return [
        {"time": round(float(time), 6), **{name: round(float(value), 6) for name, value in
                                           zip(("pan", "tilt", "roll", "x", "y", "z", "zoom"), (*angles[index], *positions[index], window.focal[index]))}}
        for index, time in enumerate(np.linspace(0.0, 1.0, stop - start))
    ]


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 3] + "..."


def _work(request: Request) -> int:
    """Denoiser frame evaluations: keyframes x steps, twice with classifier-free guidance."""
    return request.num_keyframes * request.steps * (2 if request.guidance > 1 else 1)


@dataclass(frozen=True)
class ShotPlan:
    """A resolved shot: its job (Requests per prompt segment, cache key), length, transition into the next."""

    job: ShotJob
    request: Request  # the whole shot with its first prompt
    index: int
    frames: int
    fps: Fraction
    size: str  # WIDTHxHEIGHT, auto: the model's
    seed: int
    camera: str
    prompts: tuple[tuple[int, str], ...]  # (first frame, prompt)
    transition: Transition
    transition_frames: int
    spec: dict  # what the cache key hashes, recorded in the manifest

    @property
    def id(self) -> str:
        return self.job.shot

    @property
    def stem(self) -> str:
        """The shot's file name without suffix, content-addressed: shots/<stem>.mp4 exists only when complete."""
        return f"{self.id}-{self.job.key[:12]}"

    @property
    def work(self) -> int:
        return sum(_work(request) for request in self.job.requests)


@dataclass
class _Settings:
    """Settings merged level by level (defaults, shot, overrides), remembering where each came from."""

    values: dict = field(default_factory=dict)
    origin: dict = field(default_factory=dict)

    def merge(self, level: BaseModel, loc: tuple) -> None:
        given = level.model_dump(exclude_unset=True, exclude={"id", "prompts", "transition", "seeds"})
        given = {name: value for name, value in given.items() if value is not None or name not in _StoryboardSettings.model_fields}
        for first, second in (("size", "width"), ("size", "height"), ("duration", "frames")):
            if first in given and second in given:
                raise _LocatedError(loc + (first,), f"{format_path(loc + (first,))}: give {first} or {second}, not both", key=True)
        origin = {name: loc + (name,) for name in given}
        if "size" in given:
            width, height = (int(part) for part in given.pop("size").split("x"))
            given |= {"width": width, "height": height}
            origin |= {"width": loc + ("size",), "height": loc + ("size",)}
        for name, other in (("duration", "frames"), ("frames", "duration")):  # the nearer level's length wins
            if name in given:
                self.values.pop(other, None)
        self.values |= given
        self.origin |= origin


class _LocatedError(Exception):
    """A problem at a storyboard path; Storyboard turns it into a StoryboardError with the YAML position."""

    def __init__(self, loc: tuple, message: str, key: bool = False):
        super().__init__(message)
        self.loc, self.message, self.key = loc, message, key


def _request_error(error: Exception, settings: _Settings, shot_loc: tuple) -> _LocatedError:
    """A Request's complaint placed at the setting it names (its message starts with the setting's name)."""
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else ""
        loc = settings.origin.get(name) or (shot_loc + (name,) if name else shot_loc)
        return _LocatedError(loc, _describe(first, loc))
    name = re.match(r"[A-Za-z_]*", str(error)).group()
    loc = settings.origin.get(name) or (shot_loc + (name,) if name in Request.model_fields else shot_loc)
    return _LocatedError(loc, f"{format_path(loc)}: {str(error).removeprefix(name + ':').strip()}")


def _resolve_files(settings: _Settings, base_dir: Path) -> dict:
    """Point relative input files (Request's input settings that name images or clips, camera YAML) at the
    storyboard's folder, load camera files, check every file exists, and return {setting: sha256} so the cache
    sees the files' contents."""
    digests = {}
    for name, value in list(settings.values.items()):
        if not isinstance(value, str):
            continue
        suffix = Path(value).suffix.lower()
        is_camera_file = name == "camera" and suffix in (".yaml", ".yml")
        if not is_camera_file and not (name in INPUT_SETTINGS and suffix in MEDIA_SUFFIXES):  # mask: rect:..., outpaint: 16:9
            continue
        path = (base_dir / value).expanduser()
        if not path.is_file():
            loc = settings.origin[name]
            raise _LocatedError(loc, f"{format_path(loc)}: file {value} does not exist (relative paths start at {base_dir})")
        if is_camera_file:
            settings.values[name] = yaml.safe_load(path.read_text())
        else:
            settings.values[name] = str(path.resolve())
            digests[name] = file_sha256(path)
    return digests


def _build_request(settings: _Settings, shot_loc: tuple, **changes) -> Request:
    """Request.create on the merged settings, its complaints placed at the settings' YAML positions."""
    values = settings.values | changes
    try:
        Request.model_validate(values)
        return Request.create(**values)
    except (ValidationError, UsageError, cameras.CameraError, FrameError) as error:
        raise _request_error(error, settings, shot_loc) from None


def _prompt_starts(shot, loc: tuple, frames: int, fps: Fraction, blend: int) -> list[tuple[int, str]]:
    """A travel shot's (first frame, prompt) list, checked: starts at 0, in order, inside the shot, far enough apart."""
    keys = []
    for index, key in enumerate(shot.prompts):
        start = key.frame if key.frame is not None else round(key.time * fps)
        where = loc + ("prompts", index)
        if index == 0 and start != 0:
            raise _LocatedError(where, f"{format_path(where)}: the first prompt starts at frame {start}; it must start at 0")
        if keys and start <= keys[-1][0]:
            raise _LocatedError(where, f"{format_path(where)}: starts at frame {start}, not after the previous prompt (frame {keys[-1][0]})")
        if start >= frames:
            raise _LocatedError(where, f"{format_path(where)}: starts at frame {start}, beyond the shot's {frames} frames")
        keys.append((start, key.prompt))
    spans = np.diff([start for start, _ in keys] + [frames])
    if len(keys) > 1 and spans.min() < blend:
        index = int(spans.argmin())
        where = loc + ("prompts", index)
        raise _LocatedError(where, f"{format_path(where)}: shown for {spans[index]} frames, fewer than the {blend}-frame "
                                   "prompt_blend; space the prompts further apart or lower prompt_blend")
    return keys


# ----------------------------------------------------------------------------------------------- storyboard


@dataclass
class StoryboardResult:
    """What a render produced: the folder, film (None while shots are missing), index page, manifest, counts."""

    out: Path
    film: Path | None
    index: Path
    manifest: Path
    rendered: list[str]
    cached: list[str]
    seconds: float


class Storyboard:
    """A checked storyboard: every shot resolved to Requests with its cache key. render() makes the film.

    >>> board = Storyboard.from_yaml("examples/storyboard_landscapes.yaml")
    >>> board.render("out/", progress=lambda event: print(event.shot, event.status, event.done, event.total))
    """

    def __init__(self, data, *, base_dir: str | os.PathLike = ".", overrides: dict | None = None,
                 source: str = "storyboard", nodes: yaml.Node | None = None):
        self.source, self.base_dir = source, Path(base_dir)
        self._locate = _Locator(source, nodes)
        try:
            self.spec = StoryboardSpec.model_validate(data)
        except ValidationError as error:  # an unknown key first: it often explains a missing one (a typo)
            first = min(error.errors(), key=lambda problem: problem["type"] != "extra_forbidden")
            loc = tuple(first["loc"])
            raise self._error(_LocatedError(loc, _describe(first, loc), key=first["type"] == "extra_forbidden")) from None
        try:
            self.overrides = Defaults.model_validate(overrides or {})
        except ValidationError as error:
            first = error.errors()[0]
            raise StoryboardError(_describe(first, ("overrides", *first["loc"]))) from None
        try:
            self.shots = self._plan()
        except _LocatedError as error:
            raise self._error(error) from None

    @classmethod
    def from_yaml(cls, path: str | os.PathLike, overrides: dict | None = None) -> Storyboard:
        """Read and check a storyboard file. overrides: Request settings applied over every shot (e.g. steps for a draft)."""
        path = Path(path)
        try:
            text = path.read_text()
        except OSError as error:
            raise StoryboardError(f"storyboard: cannot read {path}: {error.strerror}") from None
        try:
            nodes = yaml.compose(text)
            data = yaml.safe_load(text)
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            raise StoryboardError(f"{path}:{mark.line + 1}:{mark.column + 1}: not valid YAML: {error.problem}") from None
        if nodes is None:
            raise StoryboardError(f"{path}: the file is empty; a storyboard needs shots")
        _check_duplicate_keys(nodes, str(path))
        return cls(data, base_dir=path.parent, overrides=overrides, source=str(path), nodes=nodes)

    @property
    def title(self) -> str:
        return self.spec.title

    def _error(self, error: _LocatedError) -> StoryboardError:
        return StoryboardError(f"{self._locate(error.loc, key=error.key)}: {error.message}")

    # ---- resolution

    def _plan(self) -> list[ShotPlan]:
        defaults, models = self.spec.defaults, {}
        plans = []
        seen = {}
        for index, shot in enumerate(self.spec.shots):
            if shot.id in seen:
                raise _LocatedError(("shots", index, "id"), f"shots[{index}].id: {shot.id!r} is already the id of shots[{seen[shot.id]}]; ids must be unique")
            seen[shot.id] = index
            plans.append(self._plan_shot(index, shot, defaults, models))
        self._check_film(plans)
        return plans

    def _shot_settings(self, index: int, shot, defaults) -> tuple[_Settings, dict]:
        """A shot's settings merged over the defaults (overrides over both), files found, length in frames,
        seed resolved; and the input files' hashes."""
        loc = ("shots", index)
        settings = _Settings()
        for level, level_loc in ((defaults, ("defaults",)), (shot, loc), (self.overrides, ("overrides",))):
            settings.merge(level, level_loc)
        if shot.prompt is not None and shot.prompts is not None:
            raise _LocatedError(loc + ("prompts",), f"{format_path(loc + ('prompts',))}: give prompt or prompts (prompt travel), not both")
        if shot.prompts is None and settings.values.get("prompt") is None:
            raise _LocatedError(loc, f"{format_path(loc)}: missing prompt; give prompt, or prompts for prompt travel")
        inputs = _resolve_files(settings, self.base_dir)
        if settings.values.get("init_video") is not None:  # the input clip sets the length and rate, not the board
            for name in ("duration", "frames", "fps"):
                if settings.origin.get(name, ("",))[0] == "defaults":
                    settings.values.pop(name, None)
                    settings.origin.pop(name)
        if "duration" in settings.values:
            try:
                fps = parse_fps(settings.values.get("fps", Request.model_fields["fps"].default))
            except FrameError as error:
                raise _request_error(error, settings, loc) from None
            settings.values["frames"] = max(1, round(settings.values.pop("duration") * fps))
            settings.origin["frames"] = settings.origin["duration"]
        if settings.origin.get("seed", ("defaults",))[0] == "defaults":
            storyboard_seed = settings.values.get("seed", 0)
            settings.values["seed"] = storyboard_seed if defaults.seeds == "fixed" else derive_seed(storyboard_seed, shot.id)
        return settings, inputs

    def _plan_shot(self, index: int, shot, defaults, models: dict) -> ShotPlan:
        """A shot's Requests (one per prompt-travel segment), cache key, file metadata and transition."""
        loc = ("shots", index)
        settings, inputs = self._shot_settings(index, shot, defaults)
        look = settings.values.pop("look", None)

        def styled(text):
            return f"{PHRASES['look'][look][0][0]} {text}".strip() if look and isinstance(text, str) else text

        blend_seconds = settings.values.pop("prompt_blend", DEFAULT_PROMPT_BLEND)
        first_prompt = settings.values["prompt"] if shot.prompts is None else shot.prompts[0].prompt
        base = _build_request(settings, loc, prompt=styled(first_prompt))  # the whole shot: validation and metadata
        frames, fps = base.frames, parse_fps(base.fps)  # a mode with an input clip takes both from the clip
        camera = cameras.parse_camera(base.camera)
        if shot.prompts is None:
            prompts, requests, blend = [(0, base.prompt)], (base,), 0
        else:
            if base.mode != "text":
                raise _LocatedError(loc + ("prompts",), f"{format_path(loc + ('prompts',))}: prompt travel needs mode text; this shot is {base.mode}")
            blend = round(blend_seconds * fps)
            prompts = [(start, styled(text)) for start, text in _prompt_starts(shot, loc, frames, fps, blend)]
            ranges = travel_segments([start for start, _ in prompts], frames, blend)
            windows = [None if base.camera is None else camera_window(camera, frames, start, stop) for start, stop in ranges]
            requests = tuple(
                _build_request(settings, loc, prompt=text, frames=stop - start, camera=window,
                               keyframes=min(base.keyframes, stop - start) if base.keyframes else None)
                for (start, stop), window, (_, text) in zip(ranges, windows, prompts)
            )
        if base.model not in models:
            try:
                models[base.model] = model_identity(base.model)
            except UsageError as error:
                raise _request_error(error, settings, loc) from None
        spec = {
            "requests": [request.model_dump(mode="json", exclude={"device"}) for request in requests],
            "prompt_blend_frames": blend,
            "inputs": inputs,
        }
        key_source = {**spec, "model": models[base.model], "code": f"{__version__}/{SHOT_FORMAT}"}
        key = hashlib.sha256(json.dumps(key_source, sort_keys=True).encode()).hexdigest()
        metadata = metadata_of(base) | {"shot": shot.id, "cache_key": key, "camera": str(camera)}
        if len(prompts) > 1:
            metadata["prompts"] = [{"frame": start, "prompt": text} for start, text in prompts]
        transition_frames = 0 if shot.transition.type == "cut" else max(1, round(shot.transition.duration * fps))
        return ShotPlan(
            ShotJob(shot.id, key, requests, blend, metadata), base, index, frames, fps, f"{base.width or 'auto'}x{base.height or 'auto'}", base.seed,
            str(camera), tuple(prompts), shot.transition, transition_frames, spec,
        )

    def _check_film(self, plans: list[ShotPlan]) -> None:
        """One frame rate and size for the film; transitions fit inside the shots they join."""
        first = plans[0]
        for plan in plans[1:]:
            for name, mine, theirs in (("fps", plan.fps, first.fps), ("size", plan.size, first.size)):
                if mine != theirs:
                    loc = ("shots", plan.index)
                    raise _LocatedError(loc, f"{format_path(loc)}: {name} {mine} differs from shot {first.id!r}'s {theirs}; "
                                             "the shots of one film share fps and size")
        if plans[-1].transition_frames:
            loc = ("shots", len(plans) - 1, "transition")
            raise _LocatedError(loc, f"{format_path(loc)}: the last shot has no next shot to {plans[-1].transition.type} into; use cut")
        incoming = 0
        for plan in plans:
            if incoming + plan.transition_frames > plan.frames:
                index = plan.index if plan.transition_frames else plan.index - 1
                loc = ("shots", index, "transition")
                raise _LocatedError(loc, f"{format_path(loc)}: the transitions overlap {incoming + plan.transition_frames} frames "
                                         f"of shot {plan.id!r}, which has {plan.frames}; shorten the transition or lengthen the shot")
            incoming = plan.transition_frames

    # ---- plan and render

    def select(self, only: list[str] | None) -> list[ShotPlan]:
        """The shots named in `only` (all when None), in film order."""
        if not only:
            return list(self.shots)
        ids = [plan.id for plan in self.shots]
        unknown = [name for name in only if name not in ids]
        if unknown:
            raise StoryboardError(f"only: no shot {unknown[0]!r} in {self.source}; shots: {', '.join(ids)}")
        return [plan for plan in self.shots if plan.id in only]

    def plan(self, out: str | os.PathLike, only: list[str] | None = None) -> str:
        """The plan as text: each shot, whether it renders or is cached in `out`, and the work estimate."""
        out = Path(out)
        check_output_folder(out)
        selected = {plan.id for plan in self.select(only)}
        timings = _previous_timings(out)
        rows = [("shot", "frames", "seconds", "seed", "camera", "status", "prompt")]
        to_render = []
        for plan in self.shots:
            done = (out / "shots" / f"{plan.stem}.mp4").exists()
            status = "cached" if done else "render" if plan.id in selected else "skipped"
            to_render += [plan] if status == "render" else []
            prompt = _clip(plan.prompts[0][1], 50) + (f" (+{len(plan.prompts) - 1} more)" if len(plan.prompts) > 1 else "")
            rows.append((plan.id, str(plan.frames), f"{float(plan.frames / plan.fps):.2f}", str(plan.seed), _clip(plan.camera, 40), status, prompt))
        widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
        lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1] for row in rows]
        work = sum(plan.work for plan in to_render)
        estimate = f"{len(to_render)} of {len(self.shots)} shots to render, {work} denoiser frame evaluations"
        if timings and work:
            rate = sum(seconds for seconds, _ in timings) / sum(units for _, units in timings)
            estimate += f", about {work * rate:.0f} s at the last run's {rate * 1000:.1f} ms each"
        return "\n".join(lines + [estimate])

    def readings(self) -> dict[str, list[str]]:
        """Each shot's prompts as its model reads them (videogen.vocabulary), for the shots whose prompts it would
        rewrite; loads each shot's model."""
        readings = {plan.id: readings_in(reading_of(list(plan.job.requests))) for plan in self.shots}
        return {shot: texts for shot, texts in readings.items() if texts}

    def render(self, out: str | os.PathLike, progress: Callable[[ShotEvent], None] | None = None, executor=None,
               only: list[str] | None = None) -> StoryboardResult:
        """Render the shots missing from `out`/shots, then (once all are there) the film, contact sheet and index.

        progress gets ShotEvents; executor is a LocalExecutor (the default) or RayExecutor; only: shot ids to render.
        Raises ShotsFailed after writing everything else when some shots fail.
        """
        started = time.perf_counter()
        out = Path(out)
        check_output_folder(out)
        selected = {plan.id for plan in self.select(only)}
        report = progress or (lambda event: None)
        shots_dir = out / "shots"
        shots_dir.mkdir(parents=True, exist_ok=True)
        for folder in (out, shots_dir):  # temporaries of a killed run
            for path in folder.iterdir():
                if _TEMPORARY.match(path.name) and path.is_file():
                    path.unlink()
        previous = _previous_render_info(out)
        manifest = _Manifest(self, out, previous)
        cached, jobs = [], []
        for plan in self.shots:
            if (shots_dir / f"{plan.stem}.mp4").exists():
                cached.append(plan.id)
                manifest.record(plan, previous.get(plan.job.key, {}) | {"cached": True})
                report(ShotEvent(plan.id, "cached"))
            elif plan.id in selected:
                jobs.append(plan.job)
        manifest.write()
        rendered, failures = [], []
        executor = executor or LocalExecutor()
        plans = {plan.id: plan for plan in self.shots}
        for result in executor.run(jobs, report):
            plan = plans[result.shot]
            if isinstance(result, ShotFailure):
                failures.append(result)
                manifest.fail(plan, result.error)
            else:
                _place(result, plan, shots_dir)
                rendered.append(plan.id)
                manifest.record(plan, {"seconds": round(result.seconds, 3), "device": result.device, "worker": result.worker,
                                       "executor": executor.name, "work": plan.work, "cached": False})
            manifest.write()
        film = None
        if all((shots_dir / f"{plan.stem}.mp4").exists() for plan in self.shots):
            report(ShotEvent("film", "assembling"))
            film = self._assemble(out, manifest)
            manifest.write()
        index = write_index(self, out, manifest.data)
        if failures:
            raise ShotsFailed(f"{len(failures)} of {len(self.shots)} shots failed: "
                              + "; ".join(f"{failure.shot}: {failure.error}" for failure in failures))
        return StoryboardResult(out, film, index, manifest.path, rendered, cached, time.perf_counter() - started)

    def _assemble(self, out: Path, manifest: _Manifest) -> Path:
        """film.mp4 from the shots with their transitions, unless the one there was made from the same shots;
        contact_sheet.png from the shots' posters."""
        film_path = out / "film.mp4"
        spec = {"shots": [plan.job.key for plan in self.shots],
                "transitions": [[plan.transition.type, plan.transition_frames] for plan in self.shots]}
        key = hashlib.sha256(json.dumps(spec).encode()).hexdigest()
        existing = probe(film_path).metadata.get("film_key") if film_path.exists() else None
        if existing != key:
            clips = [read_video(out / "shots" / f"{plan.stem}.mp4")[0] for plan in self.shots]
            film = join_clips(clips, [(plan.transition.type, plan.transition_frames) for plan in self.shots[:-1]])
            metadata = {"title": self.title, "shots": [plan.id for plan in self.shots], "film_key": key, "videogen_version": __version__}
            write_video(film, film_path, self.shots[0].fps, metadata=metadata, overwrite=True)
        posters = [np.asarray(Image.open(out / "shots" / f"{plan.stem}.png").convert("RGB")) for plan in self.shots]
        sheet_path = out / "contact_sheet.png"
        save_png(contact_sheet(np.stack(posters), columns=min(4, len(posters)), labels=[plan.id for plan in self.shots],
                               thumb_width=max(160, min(320, posters[0].shape[1]))), sheet_path)
        manifest.data["film"] = {"path": "film.mp4", "sha256": file_sha256(film_path), "key": key, "spec": spec,
                                 "metadata": {"path": "film.mp4.json", "sha256": file_sha256(out / "film.mp4.json")}}
        manifest.data["contact_sheet"] = {"path": "contact_sheet.png", "sha256": file_sha256(sheet_path)}
        return film_path


def check_output_folder(out: Path) -> None:
    """StoryboardError unless `out` is (or can be made) a writable folder."""
    if out.exists() and not out.is_dir():
        raise StoryboardError(f"output: {out} is a file; give a folder")
    folder = out
    while not folder.exists():  # the nearest existing folder is where the new ones get created
        folder = folder.parent
    if not os.access(folder, os.W_OK | os.X_OK):
        raise StoryboardError(f"output: folder {folder} is not writable")


SHOT_FILES = {"video": ".mp4", "metadata": ".mp4.json", "poster": ".png", "preview": ".gif"}


def _place(result: RenderedShot, plan: ShotPlan, shots_dir: Path) -> None:
    """Write a rendered shot's files atomically, the video last (its presence marks the shot complete), then
    remove the files of this shot's earlier versions."""
    for suffix in sorted(result.files, key=lambda suffix: suffix == ".mp4"):
        with atomic_path(shots_dir / f"{plan.stem}{suffix}") as temporary:
            temporary.write_bytes(result.files[suffix])
    earlier = re.compile(rf"{re.escape(plan.id)}-[0-9a-f]{{12}}\..+")
    for path in shots_dir.iterdir():
        if earlier.fullmatch(path.name) and not path.name.startswith(plan.stem + "."):
            path.unlink()


def _previous_render_info(out: Path) -> dict:
    """Render facts (seconds, device, worker) of the shots in an earlier manifest, by cache key."""
    try:
        shots = json.loads((out / "manifest.json").read_text())["shots"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return {shot["key"]: shot["render"] for shot in shots if isinstance(shot, dict) and shot.get("render")}


def _previous_timings(out: Path) -> list[tuple[float, int]]:
    """(seconds, frame evaluations) of the shots an earlier run rendered."""
    return [(info["seconds"], info["work"]) for info in _previous_render_info(out).values() if info.get("seconds") and info.get("work")]


class _Manifest:
    """manifest.json: every output with its sha256 and the spec that made it; rewritten atomically after each shot."""

    def __init__(self, board: Storyboard, out: Path, previous: dict):
        self.path = out / "manifest.json"
        self.out = out
        source = Path(board.source)
        self.data = {
            "title": board.title,
            "storyboard": {"path": str(source), "sha256": file_sha256(source) if source.is_file() else None},
            "videogen_version": __version__,
            "shots": [self._entry(plan, "pending") for plan in board.shots],
            "film": None,
            "contact_sheet": None,
        }

    @staticmethod
    def _entry(plan: ShotPlan, status: str) -> dict:
        transition_spec = {"type": plan.transition.type, "frames": plan.transition_frames}
        return {"id": plan.id, "key": plan.job.key, "status": status, "spec": plan.spec | {"transition": transition_spec},
                "outputs": None, "render": None}

    def record(self, plan: ShotPlan, render: dict) -> None:
        entry = self._entry(plan, "done")
        entry["outputs"] = {
            name: {"path": f"shots/{plan.stem}{suffix}", "sha256": file_sha256(self.out / "shots" / f"{plan.stem}{suffix}")}
            for name, suffix in SHOT_FILES.items()
        }
        entry["render"] = render
        self.data["shots"][plan.index] = entry

    def fail(self, plan: ShotPlan, error: str) -> None:
        self.data["shots"][plan.index] = self._entry(plan, "failed") | {"error": error}

    def write(self) -> None:
        with atomic_path(self.path) as temporary:
            temporary.write_text(json.dumps(self.data, indent=2) + "\n")


# ------------------------------------------------------------------------------------------------ index page

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; background: #181818; color: #e8e8e8; margin: 2em; }}
.shot {{ display: flex; gap: 1.5em; border-top: 1px solid #333; padding: 1em 0; }}
.shot img {{ width: 256px; image-rendering: pixelated; }}
dl {{ display: grid; grid-template-columns: max-content auto; gap: .2em 1em; margin: 0; }}
dt {{ color: #999; }} code {{ color: #ffd27f; word-break: break-all; }}
a {{ color: #8cc8ff; }}
</style></head><body>
<h1>{title}</h1>
{film}
{shots}
</body></html>
"""


def _shot_card(plan: ShotPlan, entry: dict, readings: list[str]) -> str:
    """One shot of the index page: poster (links to the clip), GIF preview and what made it."""
    render = entry.get("render") or {}
    def listed(texts: list[str]) -> str:  # one line per prompt-travel segment
        return "<br>".join(html.escape(text) + (f" <small>(from frame {start})</small>" if len(plan.prompts) > 1 else "")
                           for (start, _), text in zip(plan.prompts, texts))

    prompts = listed([text for _, text in plan.prompts])
    read_as = {"read as": listed(readings)} if readings else {}
    settings = ", ".join(f"{name}={value}" for name, value in plan.request.model_dump(
        mode="json", exclude={"prompt", "camera", "seed"}).items() if value is not None)
    seconds = f"{render['seconds']:.1f} s" + (" (cached)" if render.get("cached") else "") if render.get("seconds") else "unknown"
    if entry["status"] != "done":
        media = f"<p>{html.escape(entry['status'])}{': ' + html.escape(entry.get('error', '')) if entry.get('error') else ''}</p>"
    else:
        media = (f'<a href="shots/{plan.stem}.mp4"><img src="shots/{plan.stem}.png" alt="poster of {plan.id}"></a>'
                 f'<img src="shots/{plan.stem}.gif" alt="preview of {plan.id}">')
    rows = {
        "prompt": prompts, **read_as, "camera": f"<code>{html.escape(plan.camera)}</code>", "seed": str(plan.seed),
        "length": f"{plan.frames} frames at {plan.fps} fps", "transition": f"{plan.transition.type}"
        + (f" ({plan.transition_frames} frames)" if plan.transition_frames else ""),
        "settings": f"<code>{html.escape(settings)}</code>", "render time": seconds,
        "device": html.escape(str(render.get("device", ""))),
    }
    details = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in rows.items())
    return f'<div class="shot" id="{plan.id}"><div>{media}</div><div><h2>{plan.id}</h2><dl>{details}</dl></div></div>'


def write_index(board: Storyboard, out: Path, manifest: dict) -> Path:
    """index.html: the film, the contact sheet, and each shot's poster, preview, prompt (and how the model read it),
    camera, seed, settings, render time."""
    film = ""
    if manifest.get("film"):
        film = ('<video src="film.mp4" controls loop style="width: 512px; image-rendering: pixelated"></video>'
                '<p><img src="contact_sheet.png" alt="contact sheet"></p>')
    def readings(plan: ShotPlan) -> list[str]:  # from the rendered shot's sidecar, where it has one
        sidecar = sidecar_path(out / "shots" / f"{plan.stem}.mp4")
        return readings_in(json.loads(sidecar.read_text())) if sidecar.is_file() else []

    shots = "\n".join(_shot_card(plan, entry, readings(plan)) for plan, entry in zip(board.shots, manifest["shots"]))
    path = out / "index.html"
    with atomic_path(path) as temporary:
        temporary.write_text(_PAGE.format(title=html.escape(board.title), film=film, shots=shots))
    return path
