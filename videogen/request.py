"""Request: the validated settings of one clip, built the same way by the CLI, storyboards and the API."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

import cameras
from postprocess.mux import parse_fps
from videogen.errors import UsageError
from videogen.inputs import load_image, load_mask, parse_outpaint, probe_video
from videogen.models.registry import DEFAULT_MODEL
from videogen.prompt_weights import parse_prompt_weights

MAX_KEYFRAMES = 16  # what the built-in model was trained on; more frames come from interpolation
SDEDIT_STRENGTH = 0.6  # default strength of image_to_image and video_to_video: keeps the input's layout, redraws its detail
EXTEND_CONTEXT = 4  # frames each extend window keeps from what came before

Mode = Literal[
    "text", "image_to_image", "inpaint", "outpaint", "upscale",
    "image_to_video", "keyframes", "video_to_video", "video_inpaint", "expand_video", "extend",
]
INPUT_SETTINGS = ("init_image", "end_image", "init_video", "mask", "outpaint")
MODE_INPUTS = {  # the input settings each mode needs; it takes no others (upscale: init_video instead of init_image)
    "text": (),
    "image_to_image": ("init_image",),
    "inpaint": ("init_image", "mask"),
    "outpaint": ("init_image", "outpaint"),
    "upscale": ("init_image",),
    "image_to_video": ("init_image",),
    "keyframes": ("init_image", "end_image"),
    "video_to_video": ("init_video",),
    "video_inpaint": ("init_video", "mask"),
    "expand_video": ("init_video", "outpaint"),
    "extend": ("init_video",),
}
IMAGE_MODES = ("image_to_image", "inpaint", "outpaint")  # one image out
CLIP_MODES = ("video_to_video", "video_inpaint", "expand_video")  # the input clip's frames and fps out
INFERRED_MODES = (  # (inputs given, mode) when no mode is set; the first match wins
    ({"init_video", "mask"}, "video_inpaint"),
    ({"init_video", "outpaint"}, "expand_video"),
    ({"init_video"}, "video_to_video"),
    ({"init_image", "end_image"}, "keyframes"),
    ({"init_image", "mask"}, "inpaint"),
    ({"init_image", "outpaint"}, "outpaint"),
)


def infer_mode(settings: dict) -> str:
    """The mode a set of input settings implies (upscale and extend are never inferred): a clip with a mask is
    video_inpaint, with outpaint expand_video, alone video_to_video; two images are keyframes; an image with a
    mask is inpaint, with outpaint outpaint, alone image_to_image for frames=1 and image_to_video otherwise;
    no input is text."""
    given = {name for name in INPUT_SETTINGS if settings.get(name) is not None}
    for needed, mode in INFERRED_MODES:
        if needed <= given:
            return mode
    if "init_image" in given:
        return "image_to_image" if settings.get("frames") == 1 else "image_to_video"
    return "text"


class Request(BaseModel):
    """One clip (frames=1: one image). Unknown settings are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt: str = Field(min_length=1, description="what to show")
    negative_prompt: str | None = Field(None, description="what to steer away from")
    rewrite_prompt: bool = Field(True, description="read words the model never trained on as the nearest phrase it did (models that ship a vocabulary, such as builtin:landscapes); false: read the prompt as written")
    frames: int = Field(48, ge=1, le=2000, description="frames in the output")
    keyframes: int | None = Field(None, ge=1, le=64, description="frames the model generates; default min(frames, 16)")
    fps: str = Field("24", description="output frame rate: a number or a ratio such as 24000/1001")
    width: int | None = Field(None, ge=8, description="pixels; default: the model's size")
    height: int | None = Field(None, ge=8, description="pixels; default: the model's size")
    steps: int = Field(25, ge=1, le=1000, description="denoising steps")
    guidance: float = Field(7.5, ge=0, le=50, description="classifier-free guidance scale")
    seed: int = Field(0, ge=0, description="seed of the initial noise")
    camera: Any = Field(None, description="camera spec: 'pan_right:0.6', a mapping or a keyframe list; 'static': a locked-off camera; unset: the prompt moves it")
    camera_strength: float = Field(1.0, ge=0, le=1, description="strength of the training-free camera controls: noise warp (models without camera conditioning) and camera_shift")
    camera_shift: float | None = Field(None, ge=0, le=1, description="share of the denoising steps whose latents are pulled along the camera (training-free, any model); unset: the model's default (builtin:landscapes 1, other models 0)")
    model: str = Field(DEFAULT_MODEL, description="builtin:NAME or a local diffusers folder")
    device: str = Field("cpu", description="torch device")
    mode: Mode = Field("text", description="what to make; when unset, inferred from the inputs given (see infer_mode)")
    init_image: str | None = Field(None, description="image to start from: image modes, image_to_video's first frame, keyframes' first")
    end_image: str | None = Field(None, description="keyframes mode: the last frame")
    init_video: str | None = Field(None, description="clip to start from: video_to_video, video_inpaint, expand_video, extend, upscale")
    mask: str | None = Field(
        None, description="what to regenerate: a PNG (white = regenerate) of the input's size, rect:X,Y,W,H, ellipse:CX,CY,RX,RY, "
        "or for clips a mask clip with one frame per input frame",
    )
    strength: float | None = Field(
        None, gt=0, le=1, description=f"how far to depart from the input, (0, 1]; default {SDEDIT_STRENGTH} for image_to_image and "
        "video_to_video, 1 for the other modes; upscale: refine the upscaled input with the prompt at this strength",
    )
    outpaint: str | None = Field(None, description="canvas to add: PIXELS (every side), SIDE=PIXELS,... (top/right/bottom/left), or an aspect such as 16:9")
    upscale: Literal[2, 4] | None = Field(None, description="upscale the output (mode upscale: the input) x2 or x4 with postprocess")

    @model_validator(mode="before")
    @classmethod
    def _mode_from_inputs(cls, data):
        if isinstance(data, dict) and data.get("mode") is None:
            data = {**data, "mode": infer_mode(data)}
        if isinstance(data, dict) and "frames" not in data and one_image(data):
            data = {**data, "frames": 1}
        return data

    @field_validator("init_image", "end_image", "init_video", "mask", mode="before")
    @classmethod
    def _path_as_text(cls, value):
        return os.fspath(value) if isinstance(value, os.PathLike) else value

    @field_validator("prompt")
    @classmethod
    def _prompt_has_words(cls, prompt: str) -> str:
        if not prompt.strip():
            raise ValueError("must contain words, not only spaces")
        return prompt.strip()

    @field_validator("fps", mode="before", json_schema_input_type=str | int | float)
    @classmethod
    def _fps_as_text(cls, fps) -> str:
        return str(fps)

    @property
    def num_keyframes(self) -> int:
        """Frames the model generates; interpolation makes the rest."""
        return self.keyframes or min(self.frames, MAX_KEYFRAMES)

    @property
    def runs_model(self) -> bool:
        """Whether the request runs the model: all but upscaling without a strength, which only enlarges the input."""
        return not (self.mode == "upscale" and self.strength is None)

    @property
    def denoise_strength(self) -> float:
        """`strength`, or the mode's default: SDEDIT_STRENGTH for image_to_image and video_to_video, else 1 (pure noise)."""
        if self.strength is not None:
            return self.strength
        return SDEDIT_STRENGTH if self.mode in ("image_to_image", "video_to_video") else 1.0

    @classmethod
    def create(cls, **settings) -> "Request":
        """Validate settings into a Request, or raise one line for the first problem.

        UsageError for settings and input files, cameras.CameraError for the camera spec, postprocess.FrameError
        for the rate. Modes with an input clip take their frames and fps from it when those are unset.
        """
        try:
            request = cls(**settings)
        except ValidationError as error:
            raise UsageError(describe_validation_error(error)) from None
        cameras.parse_camera(request.camera)
        parse_fps(request.fps)
        for setting in ("prompt", "negative_prompt"):
            parse_prompt_weights(getattr(request, setting) or "", setting)
        return request.model_copy(update=check_inputs(request))


def one_image(settings: dict) -> bool:
    """Whether settings make a single image: an image mode, or upscaling an image."""
    mode = settings.get("mode")
    return mode in IMAGE_MODES or (mode == "upscale" and settings.get("init_video") is None)


def check_inputs(request: Request) -> dict:
    """Check a request's mode against its inputs and their files, in one line per problem; return the settings a clip input fixes (frames, fps)."""
    mode = request.mode
    needed = ("init_video",) if mode == "upscale" and request.init_video else MODE_INPUTS[mode]
    for name in INPUT_SETTINGS:
        if name in needed and getattr(request, name) is None:
            raise UsageError(f"{name}: mode {mode} needs it")
        if name not in needed and getattr(request, name) is not None:
            takes = ", ".join(needed) or "no input files"
            raise UsageError(f"{name}: not used by mode {mode} (it takes {takes}); drop it or choose another mode")
    if mode == "upscale" and request.upscale is None:
        raise UsageError("upscale: mode upscale needs a factor, 2 or 4")
    if mode == "text" and request.strength is not None:
        raise UsageError(f"strength: got {request.strength}, but mode text has no input to depart from; give init_image or init_video")
    if one_image(request.model_dump()) and request.frames != 1:
        raise UsageError(f"frames: mode {mode} makes one image, got {request.frames}; for clips use image_to_video or a video mode")
    if mode in ("outpaint", "expand_video", "upscale") and (request.width or request.height):
        raise UsageError(f"width: mode {mode} takes its size from the input (and the outpaint spec); leave width and height unset")
    if request.init_image:
        height, width = load_image(request.init_image, "init_image").shape[:2]
    if request.end_image:
        load_image(request.end_image, "end_image")
    updates, num_frames = {}, None
    if request.init_video:
        num_frames, width, height, fps = probe_video(request.init_video)
        updates = clip_settings(request, num_frames, fps)
    if request.mask:
        load_mask(request.mask, height, width, num_frames)
    if request.outpaint:
        parse_outpaint(request.outpaint, height, width)
    return updates


def clip_settings(request: Request, num_frames: int, fps) -> dict:
    """frames and fps of a mode with an input clip: the clip's own (extend: longer), checked against any given."""
    if request.mode == "extend":
        if "frames" in request.model_fields_set and request.frames <= num_frames:
            raise UsageError(f"frames: extend makes the clip longer than its {num_frames} frames; got {request.frames}")
        frames = request.frames if "frames" in request.model_fields_set else num_frames + request.num_keyframes - EXTEND_CONTEXT
    else:
        if request.keyframes is not None:
            raise UsageError(f"keyframes: mode {request.mode} denoises every frame of the input clip; leave keyframes unset")
        if "frames" in request.model_fields_set and request.frames != num_frames:
            raise UsageError(f"frames: mode {request.mode} keeps the input's {num_frames} frames; got {request.frames} (leave frames unset)")
        frames = num_frames
    if "fps" in request.model_fields_set and parse_fps(request.fps) != fps:
        raise UsageError(f"fps: mode {request.mode} keeps the input's {fps} fps; got {request.fps} (leave fps unset)")
    return {"frames": frames, "fps": str(fps)}


def describe_validation_error(error: ValidationError, prefix: str = "") -> str:
    """Pydantic's first error as one line: the setting's path, what was given and what is allowed."""
    first = error.errors()[0]
    location = prefix + ".".join(str(part) for part in first["loc"])
    if first["type"] == "extra_forbidden":
        return f"{location}: unknown setting"
    return f"{location}: got {first.get('input')!r}; {first['msg']}"


def output_path_problem(output: Path, overwrite: bool) -> str | None:
    """Why `output` cannot be written (exists without overwrite, folder not writable), or None."""
    output = Path(output)
    if output.exists() and not overwrite:
        return f"output: {output} exists; pass --overwrite to replace it"
    folder = output.parent
    while not folder.exists():  # the nearest existing folder is where the new ones get created
        folder = folder.parent
    if not os.access(folder, os.W_OK):
        return f"output: folder {folder} is not writable"
    return None
