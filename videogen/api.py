"""The front door every user path goes through: Request -> pipeline keyframes -> interpolation -> muxed file."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable

import numpy as np

import cameras
from postprocess.interpolate import interpolate_pair
from postprocess.mux import format_for, parse_fps, write_video
from videogen import __version__
from videogen.errors import UsageError
from videogen.models.registry import load_pipeline
from videogen.request import Request, output_path_problem

ProgressCallback = Callable[[int, int], None]  # (steps done, steps in all)


@dataclass
class RenderResult:
    """A rendered clip: frames (F, H, W, 3) float32 in [0, 1], its rate, the file written (if any) and what made it."""

    frames: np.ndarray
    fps: Fraction
    path: Path | None
    seconds: float
    metadata: dict = field(default_factory=dict)


def fill_between_keyframes(keyframes: np.ndarray, num_frames: int) -> np.ndarray:
    """Flow-interpolate K keyframes to num_frames spread evenly over the same span (K == num_frames: unchanged)."""
    count = len(keyframes)
    if num_frames == count:
        return keyframes
    if count == 1:
        return np.repeat(keyframes, num_frames, axis=0)
    positions = np.linspace(0, count - 1, num_frames)  # each output frame's time in keyframe units
    segments = np.minimum(positions.astype(int), count - 2)
    frames = []
    for segment in np.unique(segments):
        times = positions[segments == segment] - segment
        frames.append(interpolate_pair(keyframes[segment], keyframes[segment + 1], times))
    return np.concatenate(frames).astype(np.float32)


def metadata_of(request: Request) -> dict:
    """What made a clip, recorded in its container tags and JSON sidecar."""
    camera = cameras.parse_camera(request.camera)
    return {
        "prompt": request.prompt,
        "negative_prompt": request.negative_prompt or "",
        "seed": request.seed,
        "model": request.model,
        "camera": str(camera),
        "settings": request.model_dump(mode="json", exclude={"prompt", "negative_prompt", "seed", "model", "camera"}),
        "videogen_version": __version__,
    }


def generate(request: Request, progress: ProgressCallback | None = None) -> tuple[np.ndarray, Fraction]:
    """The clip's frames (F, H, W, 3) float32 in [0, 1] and its frame rate; nothing is written."""
    fps = parse_fps(request.fps)
    camera = cameras.parse_camera(request.camera)
    pipe = load_pipeline(request.model, request.device)

    def report_step(pipe, step, timestep, tensors):
        progress(step + 1, request.steps)

    keyframes = pipe(
        prompt=request.prompt,
        negative_prompt=request.negative_prompt,
        num_frames=request.num_keyframes,
        height=request.height,
        width=request.width,
        num_inference_steps=request.steps,
        guidance_scale=request.guidance,
        seed=request.seed,
        camera=camera,
        camera_strength=request.camera_strength,
        output_type="np",
        callback_on_step_end=report_step if progress else None,
    ).frames[0]
    return fill_between_keyframes(keyframes, request.frames), fps


def render(
    request: Request | str,
    output: str | Path | None = None,
    *,
    format: str | None = None,
    overwrite: bool = False,
    audio: str | Path | None = None,
    progress: ProgressCallback | None = None,
    **settings,
) -> RenderResult:
    """Render a clip and, with `output`, write it. `request` is a Request or a prompt plus Request settings.

    >>> render("sunset over a mountain lake, camera pans right", "clip.mp4", camera="pan_right:0.5", seed=7)
    """
    if isinstance(request, str):
        request = Request.create(prompt=request, **settings)
    elif settings:
        raise UsageError(f"render: pass settings inside the Request, not as {', '.join(settings)}")
    if output is not None:  # everything about the output is checked before minutes of rendering
        format_for(output, format)
        problem = output_path_problem(Path(output), overwrite)
        if problem:
            raise UsageError(problem)
    if audio is not None and not Path(audio).is_file():
        raise UsageError(f"audio: {audio} does not exist")
    started = time.perf_counter()
    frames, fps = generate(request, progress)
    metadata = metadata_of(request)
    path = None
    if output is not None:
        path = write_video(frames, output, fps, format=format, metadata=metadata, audio=audio, overwrite=overwrite)
    return RenderResult(frames, fps, path, time.perf_counter() - started, metadata)
