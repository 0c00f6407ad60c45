"""`videogen render`, `image` and `camera`: clips, images and camera previews."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from videogen.cli import app
from videogen.cli.common import given, parse_size, step_progress, usage_errors

MODE_HELP = "text, image_to_image, inpaint, outpaint, upscale, image_to_video, keyframes, video_to_video, video_inpaint, expand_video or extend"
MODE_OPTION = typer.Option(None, help=f"What to make: {MODE_HELP} (default: from the inputs given).")
MASK_OPTION = typer.Option(None, help="Area to regenerate: a PNG of the input's size (white = regenerate), rect:X,Y,W,H or ellipse:CX,CY,RX,RY; for clips also a mask clip.")
STRENGTH_OPTION = typer.Option(None, help="How far to depart from the input, (0, 1] (default 0.6 for image_to_image and video_to_video, else 1).")
OUTPAINT_OPTION = typer.Option(None, help="Canvas to add: PIXELS on every side, SIDE=PIXELS pairs such as left=64,right=64, or an aspect such as 16:9.")
UPSCALE_OPTION = typer.Option(None, help="Upscale the output x2 or x4 (--mode upscale: the input).")
LITERAL_OPTION = typer.Option(False, "--literal-prompt", help="Read the prompt as written. By default a model that ships a vocabulary (builtin:landscapes) reads words it never trained on as the nearest phrase it did, and the line 'read as:' shows it.")


def echo_reading(metadata: dict) -> None:
    """Say how the model read the prompt, where it rewrote it (videogen.vocabulary)."""
    if "prompt_read_as" in metadata:
        typer.echo(f"read as: {metadata['prompt_read_as']}")


@app.command()
def render(
    prompt: str = typer.Argument(..., help="What the clip shows."),
    output: Path = typer.Option(..., "-o", "--output", help="File to write: .mp4, .webm, .mov, .gif, or a folder for PNG frames."),
    frames: Optional[int] = typer.Option(None, help="Frames in the output (default 48; modes with --video: the clip's)."),
    keyframes: Optional[int] = typer.Option(None, help="Frames the model generates (default: min(frames, 16)); interpolation fills the rest."),
    fps: Optional[str] = typer.Option(None, help="Frame rate, a number or a ratio such as 24000/1001 (default 24; modes with --video: the clip's)."),
    size: Optional[str] = typer.Option(None, help="WIDTHxHEIGHT, multiples of 8 (default: the model's size)."),
    steps: int = typer.Option(25, help="Denoising steps."),
    guidance: float = typer.Option(7.5, help="Classifier-free guidance scale (<= 1 disables it)."),
    seed: int = typer.Option(0, help="Seed of the initial noise; the same seed gives the same clip."),
    negative: Optional[str] = typer.Option(None, help="Negative prompt."),
    literal_prompt: bool = LITERAL_OPTION,
    camera: Optional[str] = typer.Option(None, help="Camera spec, e.g. pan_right:0.6 or zoom_in:0.3+tilt_up:0.2@ease_in_out; static: a locked-off camera; unset: the prompt moves it."),
    camera_strength: float = typer.Option(1.0, help="How strongly the training-free camera controls (noise warp, --camera-shift) follow the camera (0..1)."),
    camera_shift: Optional[float] = typer.Option(None, help="Share of the denoising steps whose latents are pulled along the camera (0..1; any model). Default: the model's (builtin:landscapes 1, other models 0)."),
    mode: Optional[str] = MODE_OPTION,
    init_image: Optional[Path] = typer.Option(None, "--image", help="Image to start from: the first frame (image_to_video; with --end-image, keyframes)."),
    end_image: Optional[Path] = typer.Option(None, "--end-image", help="The last frame (keyframes mode)."),
    init_video: Optional[Path] = typer.Option(None, "--video", help="Clip to start from: video_to_video; with --mask video_inpaint; with --outpaint expand_video; --mode extend continues it."),
    mask: Optional[str] = MASK_OPTION,
    strength: Optional[float] = STRENGTH_OPTION,
    outpaint: Optional[str] = OUTPAINT_OPTION,
    upscale: Optional[int] = UPSCALE_OPTION,
    model: str = typer.Option("builtin:landscapes", help="builtin:NAME or a local diffusers folder."),
    format: Optional[str] = typer.Option(None, help="mp4, h265, webm, prores, gif or png (default: from the suffix)."),
    audio: Optional[Path] = typer.Option(None, help="Audio file to mux in (trimmed to the clip)."),
    overwrite: bool = typer.Option(False, help="Replace an existing output."),
    device: str = typer.Option("cpu", help="torch device, e.g. cpu or cuda."),
):
    """Render a clip from a prompt, or from an image or clip and a prompt.

    Example: videogen render "golden hour over a misty alpine lake, slow pan to the right" -o lake.mp4 --camera pan_right:0.4

    Example: videogen render "waves roll onto the beach" --image beach.png -o beach.mp4
    """
    with usage_errors():
        from videogen.api import render as render_clip
        from videogen.request import Request

        width, height = parse_size(size)
        request = Request.create(**given(
            prompt=prompt, negative_prompt=negative, rewrite_prompt=not literal_prompt, frames=frames, keyframes=keyframes, fps=fps, width=width, height=height,
            steps=steps, guidance=guidance, seed=seed, camera=camera, camera_strength=camera_strength, camera_shift=camera_shift,
            model=model, device=device,
            mode=mode, init_image=init_image, end_image=end_image, init_video=init_video, mask=mask, strength=strength,
            outpaint=outpaint, upscale=upscale,
        ))
        with step_progress("denoising") as progress:
            result = render_clip(request, output, format=format, overwrite=overwrite, audio=audio, progress=progress)
    height, width = result.frames.shape[1:3]
    echo_reading(result.metadata)
    typer.echo(f"{result.path}: {len(result.frames)} frames, {width}x{height} at {result.fps} fps, rendered in {result.seconds:.1f} s")


@app.command()
def image(
    prompt: str = typer.Argument(..., help="What the image shows (--mode upscale: used only with --strength)."),
    output: Path = typer.Option(..., "-o", "--output", help="PNG to write; with --n above 1 a labelled grid, each image also beside it as NAME-seedS.png."),
    n: int = typer.Option(1, "--n", help="Variations, with seeds SEED, SEED+1, ..."),
    seed: int = typer.Option(0, help="Seed of the first variation; the same seed gives the same image."),
    size: Optional[str] = typer.Option(None, help="WIDTHxHEIGHT, multiples of 8 (default: the model's size, or the input's)."),
    steps: int = typer.Option(25, help="Denoising steps."),
    guidance: float = typer.Option(7.5, help="Classifier-free guidance scale (<= 1 disables it)."),
    negative: Optional[str] = typer.Option(None, help="Negative prompt."),
    literal_prompt: bool = LITERAL_OPTION,
    mode: Optional[str] = MODE_OPTION,
    init_image: Optional[Path] = typer.Option(None, "--image", help="Image to start from: image_to_image; with --mask inpaint; with --outpaint outpaint."),
    mask: Optional[str] = MASK_OPTION,
    strength: Optional[float] = STRENGTH_OPTION,
    outpaint: Optional[str] = OUTPAINT_OPTION,
    upscale: Optional[int] = UPSCALE_OPTION,
    model: str = typer.Option("builtin:landscapes", help="builtin:NAME or a local diffusers folder."),
    overwrite: bool = typer.Option(False, help="Replace existing outputs."),
    device: str = typer.Option("cpu", help="torch device, e.g. cpu or cuda."),
):
    """Make an image: from a prompt, or from an image and a prompt (image-to-image, inpaint, outpaint, upscale).

    Example: videogen image "(misty:1.3) alpine lake at dawn" -o lake.png --n 4

    Example: videogen image "a wooden boat on the water" --image lake.png --mask rect:32,64,64,32 -o boat.png
    """
    with usage_errors():
        from videogen.api import render_images
        from videogen.request import Request

        width, height = parse_size(size)
        request = Request.create(**given(
            prompt=prompt, negative_prompt=negative, rewrite_prompt=not literal_prompt, frames=1, width=width, height=height, steps=steps, guidance=guidance,
            seed=seed, model=model, device=device, mode=mode, init_image=init_image, mask=mask, strength=strength,
            outpaint=outpaint, upscale=upscale,
        ))
        with step_progress("denoising") as progress:
            result = render_images(request, output, variations=n, overwrite=overwrite, progress=progress)
    height, width = result.images.shape[1:3]
    echo_reading(result.metadata)
    seeds = f"seed {result.seeds[0]}" if n == 1 else f"seeds {result.seeds[0]}-{result.seeds[-1]}"
    typer.echo(f"{result.paths[0]}: {n} image{'s' if n > 1 else ''} of {width}x{height} ({request.mode}, {seeds}), made in {result.seconds:.1f} s")


@app.command()
def camera(
    spec: str = typer.Argument(..., help="Camera spec: pan_right:0.6, zoom_in:0.3+tilt_up:0.2@ease_in_out, a YAML/JSON rig or keyframe list, or a .yaml file."),
    output: Path = typer.Option(..., "-o", "--output", help="Preview clip to write: .gif, .mp4, .webm, ..."),
    frames: int = typer.Option(48, help="Frames in the preview."),
    fps: str = typer.Option("12", help="Frame rate of the preview."),
    size: str = typer.Option("256x144", help="WIDTHxHEIGHT of the preview."),
    plot: Optional[Path] = typer.Option(None, help="Also write a PNG plot of the path: top view and per-axis curves."),
    overwrite: bool = typer.Option(False, help="Replace an existing output."),
):
    """Preview a camera path on a layered test pattern (parallax shows), optionally with a plot of the path.

    Example: videogen camera "orbit_left:1+zoom_in:0.5@ease_in_out" --frames 48 -o orbit.gif --plot orbit.png
    """
    with usage_errors():
        import cameras
        from postprocess.mux import write_video

        width, height = parse_size(size)
        path = cameras.parse_camera(spec)
        trajectory = path.trajectory(frames)
        preview = cameras.preview_frames(trajectory, width, height)
        written = write_video(preview, output, fps=fps, metadata={"camera": str(path)}, overwrite=overwrite)
        if plot is not None:
            cameras.plot_path(trajectory, plot, title=str(path))
    typer.echo(f"{written}: {frames} frames of camera {path} at {width}x{height}" + (f"; plot {plot}" if plot else ""))
