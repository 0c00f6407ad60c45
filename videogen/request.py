"""Request: the validated settings of one clip, built the same way by the CLI, storyboards and the API."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

import cameras
from postprocess.mux import parse_fps
from videogen.errors import UsageError
from videogen.models.registry import DEFAULT_MODEL

MAX_KEYFRAMES = 16  # what the built-in model was trained on; more frames come from interpolation


class Request(BaseModel):
    """One clip (frames=1: one image). Unknown settings are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt: str = Field(min_length=1, description="what to show")
    negative_prompt: str | None = Field(None, description="what to steer away from")
    frames: int = Field(48, ge=1, le=2000, description="frames in the output")
    keyframes: int | None = Field(None, ge=1, le=64, description="frames the model generates; default min(frames, 16)")
    fps: str = Field("24", description="output frame rate: a number or a ratio such as 24000/1001")
    width: int | None = Field(None, ge=8, description="pixels; default: the model's size")
    height: int | None = Field(None, ge=8, description="pixels; default: the model's size")
    steps: int = Field(25, ge=1, le=1000, description="denoising steps")
    guidance: float = Field(7.5, ge=0, le=50, description="classifier-free guidance scale")
    seed: int = Field(0, ge=0, description="seed of the initial noise")
    camera: Any = Field(None, description="camera spec: 'pan_right:0.6', a mapping or a keyframe list")
    camera_strength: float = Field(1.0, ge=0, le=1, description="noise-warp strength for models without camera conditioning")
    model: str = Field(DEFAULT_MODEL, description="builtin:NAME or a local diffusers folder")
    device: str = Field("cpu", description="torch device")

    @field_validator("prompt")
    @classmethod
    def _prompt_has_words(cls, prompt: str) -> str:
        if not prompt.strip():
            raise ValueError("must contain words, not only spaces")
        return prompt.strip()

    @field_validator("fps", mode="before")
    @classmethod
    def _fps_as_text(cls, fps) -> str:
        return str(fps)

    @property
    def num_keyframes(self) -> int:
        """Frames the model generates; interpolation makes the rest."""
        return self.keyframes or min(self.frames, MAX_KEYFRAMES)

    @classmethod
    def create(cls, **settings) -> "Request":
        """Validate settings into a Request, or raise one line for the first problem.

        UsageError for settings, cameras.CameraError for the camera spec, postprocess.FrameError for the rate.
        """
        try:
            request = cls(**settings)
        except ValidationError as error:
            raise UsageError(describe_validation_error(error)) from None
        cameras.parse_camera(request.camera)
        parse_fps(request.fps)
        return request


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
