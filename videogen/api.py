"""The front door every user path goes through: Request -> pipeline keyframes -> interpolation -> muxed file."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from collections.abc import Callable

import numpy as np

import cameras
from postprocess.interpolate import interpolate_pair
from postprocess.mux import format_for, parse_fps, write_video
from postprocess.preview import contact_sheet, save_png
from postprocess.upscale import upscale
from videogen import __version__
from videogen.conditioning import (
    Conditioning,
    at_working_size,
    conditioning_for,
    load_input_frames,
    sdedit,
)
from videogen.errors import UsageError
from videogen.models.registry import load_pipeline
from videogen.request import EXTEND_CONTEXT, Request, output_path_problem

ProgressCallback = Callable[[int, int], None]  # (steps done, steps in all)


@dataclass
class RenderResult:
    """A rendered clip: frames (F, H, W, 3) float32 in [0, 1], its rate, the file written (if any) and what made it."""

    frames: np.ndarray
    fps: Fraction
    path: Path | None
    seconds: float
    metadata: dict = field(default_factory=dict)


@dataclass
class ImagesResult:
    """Rendered images: (N, H, W, 3) float32 in [0, 1], the seed of each, the PNGs written (grid first) and what made them."""

    images: np.ndarray
    seeds: list[int]
    paths: list[Path]
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


def prompt_read_as(request: Request) -> str:
    """The prompt as the model reads it: with rewrite_prompt, its words the model never trained on said as the
    nearest phrase it did (VideoPipeline.read_prompt); the prompt itself for other models and for plain upscaling."""
    if not request.rewrite_prompt or not request.runs_model:
        return request.prompt
    return load_pipeline(request.model, request.device).read_prompt(request.prompt)[0]


def reading_of(requests: list[Request]) -> dict:
    """For a clip's metadata, where the model read its prompts in other words: {"prompt_read_as": text}, or for
    several prompts (a storyboard's prompt travel) {"prompts_read_as": [text, ...]}; {} where it read them as written."""
    read = [prompt_read_as(request) for request in requests]
    if read == [request.prompt for request in requests]:
        return {}
    return {"prompt_read_as": read[0]} if len(read) == 1 else {"prompts_read_as": read}


def readings_in(metadata: dict) -> list[str]:
    """reading_of's prompts back out of a clip's metadata: one per prompt, or [] where the model read them as written."""
    return metadata.get("prompts_read_as") or ([metadata["prompt_read_as"]] if "prompt_read_as" in metadata else [])


def metadata_of(request: Request) -> dict:
    """What made a clip, recorded in its container tags and JSON sidecar (with reading_of, what the model read)."""
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
    """The clip's frames (F, H, W, 3) float32 in [0, 1] (an image: F = 1) and its frame rate; nothing is written.

    Every mode goes through here: text makes keyframes and interpolates between them; the conditioned modes
    call the same pipeline with a Conditioning; extend continues the input clip window by window; upscale
    enlarges the input (then, with a strength, refines it with the prompt). `upscale` enlarges any output.
    """
    fps = parse_fps(request.fps)
    if not request.runs_model:
        return upscale(load_input_frames(request), request.upscale), fps
    pipe = load_pipeline(request.model, request.device)
    factor = pipe.vae_scale_factor
    if request.mode == "upscale":
        enlarged = at_working_size(upscale(load_input_frames(request), request.upscale), request, factor)
        return denoise(pipe, request, sdedit(enlarged, request.strength), progress), fps
    if request.mode == "extend":
        frames = denoise(pipe, request, None, progress)
    else:
        conditioning = None if request.mode == "text" else conditioning_for(request, factor)
        frames = fill_between_keyframes(denoise(pipe, request, conditioning, progress), request.frames)
    return (upscale(frames, request.upscale) if request.upscale else frames), fps


def denoise(pipe, request: Request, conditioning: Conditioning | None, progress: ProgressCallback | None = None) -> np.ndarray:
    """The pipeline's frames (F, H, W, 3) for a request: its keyframes, the conditioning's frames, or (extend) the continued clip."""

    def report_step(pipe, step, timestep, tensors):
        progress(step + 1, pipe.num_timesteps)

    settings = {
        "negative_prompt": request.negative_prompt,
        "rewrite_prompt": request.rewrite_prompt,
        "num_inference_steps": request.steps,
        "guidance_scale": request.guidance,
        "seed": request.seed,
        "camera": None if request.camera is None else cameras.parse_camera(request.camera),  # None: the prompt moves it
        "camera_strength": request.camera_strength,
        "camera_shift": request.camera_shift,
        "callback_on_step_end": report_step if progress else None,
    }
    pipe.set_progress_bar_config(disable=progress is not None)  # the caller shows its own progress
    if request.mode == "extend":
        clip = at_working_size(load_input_frames(request), request, pipe.vae_scale_factor)
        return pipe.extend(request.prompt, clip, request.frames - len(clip), window=request.num_keyframes,
                           context=EXTEND_CONTEXT, strength=request.denoise_strength, **settings)
    if conditioning is None:
        settings.update(num_frames=request.num_keyframes, height=request.height, width=request.width)
    return pipe(request.prompt, conditioning=conditioning, output_type="np", **settings).frames[0]


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
    metadata = metadata_of(request) | reading_of([request])
    path = None
    if output is not None:
        path = write_video(frames, output, fps, format=format, metadata=metadata, audio=audio, overwrite=overwrite)
    return RenderResult(frames, fps, path, time.perf_counter() - started, metadata)


def image_paths(output: str | Path, seeds: list[int]) -> list[Path]:
    """Where render_images writes: `output` alone for one image; else `output` (the grid), then NAME-seedS.png beside it per image."""
    output = Path(output)
    if len(seeds) == 1:
        return [output]
    return [output] + [output.with_name(f"{output.stem}-seed{seed}{output.suffix}") for seed in seeds]


def render_images(
    request: Request | str,
    output: str | Path | None = None,
    *,
    variations: int = 1,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
    **settings,
) -> ImagesResult:
    """Make `variations` images of a one-frame request with seeds seed, seed+1, ... (each reproducible alone) and,
    with `output`, write them as PNGs: one image to `output`; several as a labelled grid at `output`, each also
    beside it as NAME-seedS.png. `request` is a Request or a prompt plus Request settings (frames defaults to 1).

    >>> render_images("a misty lake at dawn", "lake.png", variations=4, seed=7)
    """
    if isinstance(request, str):
        request = Request.create(prompt=request, **{"frames": 1, **settings})
    elif settings:
        raise UsageError(f"render_images: pass settings inside the Request, not as {', '.join(settings)}")
    if request.frames != 1:
        raise UsageError(f"frames: images have 1 frame, got {request.frames}; use render for clips")
    if variations < 1:
        raise UsageError(f"variations: got {variations}; must be at least 1")
    seeds = [request.seed + index for index in range(variations)]
    paths = image_paths(output, seeds) if output is not None else []
    if paths and paths[0].suffix.lower() != ".png":
        raise UsageError(f"output: images are written as PNG; got {paths[0].name!r}")
    for path in paths:
        problem = output_path_problem(path, overwrite)
        if problem:
            raise UsageError(problem)
    started = time.perf_counter()
    requests = [request.model_copy(update={"seed": seed}) for seed in seeds]
    images = np.stack([generate(each, progress)[0][0] for each in requests])
    single = metadata_of(request) | reading_of([request])
    metadata = {**single, "seeds": seeds}
    if len(paths) == 1:
        save_png(images[0], paths[0], single)
    elif paths:
        save_png(contact_sheet(images, columns=math.ceil(math.sqrt(len(images))), labels=[f"seed {seed}" for seed in seeds]), paths[0], metadata)
        for image, each, path in zip(images, requests, paths[1:]):
            save_png(image, path, metadata_of(each) | reading_of([each]))
    return ImagesResult(images, seeds, paths, time.perf_counter() - started, metadata)
