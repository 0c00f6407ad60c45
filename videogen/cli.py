"""The `videogen` command: parses, calls the API, reports. Usage errors print one line and exit 2."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

app = typer.Typer(
    name="videogen",
    help="""Text-to-video with camera control, offline on a CPU.

Examples:

  videogen render "sunset over a mountain lake, golden hour, camera pans right" -o clip.mp4 --camera pan_right:0.5

  videogen render "misty pine forest at dawn" -o forest.gif --frames 24 --fps 12 --seed 3

  videogen image "a lighthouse on a cliff at dusk" -o lighthouse.png --n 4
""",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)


@contextlib.contextmanager
def usage_errors():
    """Turn the packages' bad-input errors into one line on stderr and exit code 2."""
    from cameras import CameraError
    from postprocess import FrameError
    from videogen.errors import UsageError

    try:
        yield
    except (UsageError, CameraError, FrameError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None


def parse_size(size: str | None) -> tuple[int | None, int | None]:
    """'WxH' -> (width, height); None -> the model's default size."""
    from videogen.errors import UsageError

    if size is None:
        return None, None
    try:
        width, height = (int(part) for part in size.lower().split("x"))
    except ValueError:
        raise UsageError(f"--size: got {size!r}; use WIDTHxHEIGHT such as 128x128") from None
    return width, height


def given(**settings) -> dict:
    """The settings the user gave: options left unset are omitted, so Request's defaults (and an input clip's frames and fps) apply."""
    return {name: value for name, value in settings.items() if value is not None}


MODE_HELP = "text, image_to_image, inpaint, outpaint, upscale, image_to_video, keyframes, video_to_video, video_inpaint, expand_video or extend"
MODE_OPTION = typer.Option(None, help=f"What to make: {MODE_HELP} (default: from the inputs given).")
MASK_OPTION = typer.Option(None, help="Area to regenerate: a PNG of the input's size (white = regenerate), rect:X,Y,W,H or ellipse:CX,CY,RX,RY; for clips also a mask clip.")
STRENGTH_OPTION = typer.Option(None, help="How far to depart from the input, (0, 1] (default 0.6 for image_to_image and video_to_video, else 1).")
OUTPAINT_OPTION = typer.Option(None, help="Canvas to add: PIXELS on every side, SIDE=PIXELS pairs such as left=64,right=64, or an aspect such as 16:9.")
UPSCALE_OPTION = typer.Option(None, help="Upscale the output x2 or x4 (--mode upscale: the input).")


@contextlib.contextmanager
def step_progress(description: str):
    """A rich progress bar fed by a (done, total) callback."""
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task(description, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def show_version(value: bool):
    if value:
        from videogen import __version__

        typer.echo(f"videogen {__version__}")
        raise typer.Exit()


@app.callback()
def cli(version: bool = typer.Option(False, "--version", callback=show_version, is_eager=True, help="Print the version.")):
    """Text-to-video with camera control, offline on a CPU."""


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
    camera: Optional[str] = typer.Option(None, help="Camera spec, e.g. pan_right:0.6 or zoom_in:0.3+tilt_up:0.2@ease_in_out."),
    camera_strength: float = typer.Option(1.0, help="How strongly a model without camera conditioning follows the camera (0..1)."),
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
            prompt=prompt, negative_prompt=negative, frames=frames, keyframes=keyframes, fps=fps, width=width, height=height,
            steps=steps, guidance=guidance, seed=seed, camera=camera, camera_strength=camera_strength, model=model, device=device,
            mode=mode, init_image=init_image, end_image=end_image, init_video=init_video, mask=mask, strength=strength,
            outpaint=outpaint, upscale=upscale,
        ))
        with step_progress("denoising") as progress:
            result = render_clip(request, output, format=format, overwrite=overwrite, audio=audio, progress=progress)
    height, width = result.frames.shape[1:3]
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
            prompt=prompt, negative_prompt=negative, frames=1, width=width, height=height, steps=steps, guidance=guidance,
            seed=seed, model=model, device=device, mode=mode, init_image=init_image, mask=mask, strength=strength,
            outpaint=outpaint, upscale=upscale,
        ))
        with step_progress("denoising") as progress:
            result = render_images(request, output, variations=n, overwrite=overwrite, progress=progress)
    height, width = result.images.shape[1:3]
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


train_app = typer.Typer(help="Train the built-in model (each stage resumes from its folder).", no_args_is_help=True)
app.add_typer(train_app, name="train")


@train_app.command("data")
def train_data(
    out: Path = typer.Option(Path("runs/data"), help="Folder for the rendered shards."),
    clips: int = typer.Option(1200, help="World clips to render."),
    frames: int = typer.Option(16, help="Frames per clip."),
    size: int = typer.Option(128, help="Pixels per side."),
    seed: int = typer.Option(0),
):
    """Render world clips into shards (skips shards already there)."""
    from videogen.train.data import render_shards

    render_shards(out, clips, frames, size, seed)


@train_app.command("vae")
def train_vae_command(
    data: Path = typer.Option(Path("runs/data")),
    out: Path = typer.Option(Path("runs/vae")),
    steps: int = typer.Option(2000),
    batch: int = typer.Option(8),
):
    """Train the 8x VAE, then cache every clip's latents beside the shards."""
    from videogen.train.vae import cache_latents, train_vae

    vae = train_vae(str(data), str(out), steps, batch=batch)
    scaling = cache_latents(str(data), vae)
    vae.save_pretrained(out / "vae")
    typer.echo(f"{out / 'vae'}: latents cached in {data}, scaling factor {scaling:.4f}")


@train_app.command("denoiser")
def train_denoiser_command(
    data: Path = typer.Option(Path("runs/data")),
    vae: Path = typer.Option(Path("runs/vae/vae")),
    out: Path = typer.Option(Path("runs/denoiser")),
    steps: int = typer.Option(4000),
):
    """Train the camera-conditioned temporal UNet on the cached latents; previews every 500 steps."""
    from videogen.train.denoiser import train_denoiser

    train_denoiser(str(data), str(vae), str(out), steps)


@train_app.command("export")
def train_export(
    run: Path = typer.Option(Path("runs/denoiser"), help="Denoiser run folder (its checkpoint's EMA weights are exported)."),
    vae: Path = typer.Option(Path("runs/vae/vae")),
):
    """Write the trained weights into the package as builtin:landscapes (fp16 safetensors)."""
    from videogen.train.export import export_builtin

    typer.echo(f"exported to {export_builtin(str(run), str(vae))}")


@app.command()
def world(
    output: Path = typer.Option(..., "-o", "--output", help="Folder for the sample clips and contact sheet."),
    n: int = typer.Option(8, "--n", help="Number of clips."),
    frames: int = typer.Option(16, help="Frames per clip."),
    size: int = typer.Option(128, help="Pixels per side."),
    seed: int = typer.Option(0, help="Seed of the scene sampler."),
    split: str = typer.Option("train", help="train (training combinations) or heldout (held-out combinations)."),
):
    """Render sample clips of the procedural world: GIFs, ground-truth JSON and a contact sheet.

    Example: videogen world -o samples --n 8 --size 128
    """
    with usage_errors():
        from videogen.world.samples import write_samples

        sheet = write_samples(output, n, frames, size, seed, split)
    typer.echo(f"{output}: {n} world clips of {frames} frames at {size}x{size}; contact sheet {sheet}")


@app.command("eval")
def eval_command(
    output: Path = typer.Option(..., "-o", "--output", help="Report folder: report.json, report.md, contact_sheet.png."),
    model: str = typer.Option("builtin:landscapes", help="builtin:NAME or a local diffusers folder."),
    frames: int = typer.Option(16, help="Frames per clip."),
    size: int = typer.Option(128, help="Pixels per side (a multiple of 8)."),
    steps: int = typer.Option(25, help="Denoising steps."),
    guidance: float = typer.Option(7.5, help="Classifier-free guidance scale."),
    limit: Optional[int] = typer.Option(None, help="Evaluate this many prompts, balanced over the groups (default: all)."),
    judge_check: int = typer.Option(120, help="Fresh renders that measure the judge's own accuracy."),
    seed: int = typer.Option(0),
    device: str = typer.Option("cpu", help="torch device, e.g. cpu or cuda."),
):
    """Score a model on the fixed prompt set beside rendered ground truth (ceiling) and random frames (floor).

    Example: videogen eval --model builtin:landscapes -o eval_report
    """
    with usage_errors():
        from videogen import load_pipeline
        from videogen.eval.evaluate import EvalSettings, evaluate

        pipe = load_pipeline(model, device=device)
        settings = EvalSettings(num_frames=frames, size=size, steps=steps, guidance_scale=guidance, limit=limit,
                                judge_check=judge_check, seed=seed)
        with step_progress("generating") as progress:
            report = evaluate(pipe, settings, output, model_name=model, progress=progress)
    scores = {name: report["sources"][name]["adherence_mean"] for name in ("floor", "model", "ceiling")}
    typer.echo(f"{output / 'report.md'}: adherence floor {scores['floor']:.2f}, model {scores['model']:.2f}, "
               f"ceiling {scores['ceiling']:.2f}")


@app.command("storyboard")
def storyboard_command(
    board: Path = typer.Argument(..., help="Storyboard YAML file (see examples/storyboard_*.yaml)."),
    output: Path = typer.Option(..., "-o", "--output", help="Folder for shots/, film.mp4, contact_sheet.png, index.html, manifest.json."),
    jobs: int = typer.Option(1, help="Local executor: shots rendered at once (above 1: in worker processes)."),
    executor: str = typer.Option("local", help="local, or ray (needs pip install 'videogen[ray]')."),
    address: Optional[str] = typer.Option(None, help="Ray cluster to join: auto or HOST:PORT (default: start a local Ray)."),
    only: Optional[list[str]] = typer.Option(None, "--only", help="Render only these shot ids (repeat, or comma-separate)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check everything, print the plan and the work; render nothing."),
):
    """Render a storyboard: every shot not yet in OUTPUT/shots, then the film with its transitions and an index page.

    Example: videogen storyboard examples/storyboard_landscapes.yaml -o film/ --dry-run
    """
    with usage_errors():
        from videogen.errors import UsageError
        from videogen.executors import LocalExecutor, RayExecutor
        from videogen.storyboard import ShotsFailed, Storyboard

        if executor not in ("local", "ray"):
            raise UsageError(f"--executor: got {executor!r}; use local or ray")
        story = Storyboard.from_yaml(board)
        ids = [name for item in only or [] for name in item.split(",") if name]
        if dry_run:
            typer.echo(story.plan(output, ids))
            return
        runner = LocalExecutor(jobs) if executor == "local" else RayExecutor(address)
        with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      TimeElapsedColumn(), console=console, transient=True) as bars:
            tasks = {}

            def show(event):
                if event.status == "rendering":
                    if event.shot not in tasks:
                        tasks[event.shot] = bars.add_task(f"shot {event.shot}", total=event.total)
                    bars.update(tasks[event.shot], completed=event.done, total=event.total)
                elif event.status in ("cached", "done", "retrying", "failed", "assembling"):
                    bars.console.print(f"{event.shot}: {event.status} {event.message}".rstrip())

            try:
                result = story.render(output, progress=show, executor=runner, only=ids)
            except ShotsFailed as error:
                typer.echo(f"error: {error}", err=True)
                raise typer.Exit(1) from None
    film = f"{result.film}, " if result.film else "film not assembled (shots missing), "
    typer.echo(f"{film}{result.index}: {len(result.rendered)} shots rendered, {len(result.cached)} cached, in {result.seconds:.1f} s")


def rewrite_clip(source: Path, output: Path, overwrite: bool, transform) -> tuple[int, int, object]:
    """Read a clip, apply transform(frames, fps) -> (frames, fps), write the result; (frames in, frames out, fps)."""
    from postprocess.mux import write_video
    from postprocess.read import read_video

    frames, fps = read_video(source)
    result, result_fps = transform(frames, fps)
    write_video(result, output, fps=result_fps, overwrite=overwrite)
    return len(frames), len(result), result_fps


OVERWRITE_OPTION = typer.Option(False, help="Replace an existing output.")


def refuse_existing(output: Path, overwrite: bool) -> None:
    """The muxer's rule for every other output: an existing file or folder is kept unless --overwrite."""
    from postprocess import FrameError

    if output.exists() and not overwrite:
        raise FrameError(f"output: {output} exists; pass --overwrite to replace it")
CLIP_OUTPUT_OPTION = typer.Option(..., "-o", "--output", help="File to write: .mp4, .webm, .mov, .gif, or a folder for PNG frames.")


@app.command()
def interpolate(
    source: Path = typer.Argument(..., help="Clip to interpolate: a video file, GIF or PNG-sequence folder."),
    output: Path = CLIP_OUTPUT_OPTION,
    fps: Optional[str] = typer.Option(None, help="Target frame rate (keeps the duration), e.g. 60 or 60000/1001."),
    factor: Optional[int] = typer.Option(None, help="Or: put factor-1 new frames between each pair (rate times factor)."),
    overwrite: bool = OVERWRITE_OPTION,
):
    """Raise (or lower) a clip's frame rate with optical-flow interpolation; nothing is blended across scene cuts.

    Example: videogen interpolate clip.mp4 --fps 60 -o clip60.mp4
    """
    with usage_errors():
        from postprocess import FrameError
        from postprocess.interpolate import interpolate_factor, retime
        from postprocess.mux import parse_fps

        if (fps is None) == (factor is None):
            raise FrameError("--fps / --factor: give exactly one of them")

        def transform(frames, source_fps):
            if fps is not None:
                return retime(frames, source_fps, parse_fps(fps)), parse_fps(fps)
            return interpolate_factor(frames, factor), source_fps * factor

        count, result_count, result_fps = rewrite_clip(source, output, overwrite, transform)
    typer.echo(f"{output}: {count} frames -> {result_count} frames at {result_fps} fps")


@app.command("upscale")
def upscale_command(
    source: Path = typer.Argument(..., help="Image (.png, .jpg, .webp) or clip to upscale."),
    output: Path = typer.Option(..., "-o", "--output", help="Image or clip to write (same kind as the input)."),
    scale: int = typer.Option(2, help="2 or 4."),
    method: str = typer.Option("learned", help="learned (the shipped network), lanczos or bicubic."),
    denoise: float = typer.Option(0.0, help="Non-local-means denoising before upscaling, 0..1."),
    deblock: float = typer.Option(0.0, help="Soften 8x8 coding blocks before upscaling, 0..1."),
    sharpen: float = typer.Option(0.0, help="Halo-free unsharp mask after upscaling, 0..2."),
    overwrite: bool = OVERWRITE_OPTION,
):
    """Upscale an image or a clip x2 or x4, optionally cleaning it first and sharpening after.

    Example: videogen upscale clip.mp4 --scale 2 --deblock 0.5 --sharpen 0.3 -o clip_2x.mp4
    """
    with usage_errors():
        from postprocess.images import is_image_path, read_image, write_image
        from postprocess.upscale import enhance, upscale

        def transform(frames, fps):
            cleaned = enhance(frames, denoise_strength=denoise, deblock_strength=deblock)
            return enhance(upscale(cleaned, scale, method), sharpen_amount=sharpen), fps

        if is_image_path(source):
            refuse_existing(output, overwrite)
            image = transform(read_image(source)[None], None)[0][0]
            write_image(image, output)
            summary = f"{image.shape[1]}x{image.shape[0]}"
        else:
            count, _, _ = rewrite_clip(source, output, overwrite, transform)
            summary = f"{count} frames, x{scale}"
    typer.echo(f"{output}: {summary} ({method})")


edit_app = typer.Typer(help="Frame tools: trim, join with transitions, speed, loops, colour, framing, previews.", no_args_is_help=True)
app.add_typer(edit_app, name="edit")
SOURCE_ARGUMENT = typer.Argument(..., help="Clip: a video file, GIF or PNG-sequence folder.")


def edit_clip(source: Path, output: Path, overwrite: bool, transform) -> None:
    """Run one frame tool on a clip and print the one-line summary."""
    with usage_errors():
        count, result_count, fps = rewrite_clip(source, output, overwrite, transform)
    typer.echo(f"{output}: {count} frames -> {result_count} frames at {fps} fps")


@edit_app.command("trim")
def edit_trim(source: Path = SOURCE_ARGUMENT, output: Path = CLIP_OUTPUT_OPTION,
              start: float = typer.Option(0.0, help="Start, in seconds."),
              end: Optional[float] = typer.Option(None, help="End, in seconds (default: the clip's end)."),
              overwrite: bool = OVERWRITE_OPTION):
    """Keep the part from --start to --end. Example: videogen edit trim clip.mp4 --start 1 --end 3.5 -o part.mp4"""
    from postprocess.tools import trim

    edit_clip(source, output, overwrite, lambda frames, fps: (
        trim(frames, round(start * fps), None if end is None else round(end * fps)), fps))


@edit_app.command("concat")
def edit_concat(sources: list[Path] = typer.Argument(..., help="Clips to join, in order (frame sizes must match)."),
                output: Path = CLIP_OUTPUT_OPTION,
                transition: str = typer.Option("cut", help="cut, crossfade, dip_to_black or wipe."),
                duration: float = typer.Option(0.5, help="Transition length in seconds."),
                overwrite: bool = OVERWRITE_OPTION):
    """Join clips, each retimed to the first one's frame rate. Example: videogen edit concat a.mp4 b.mp4 --transition crossfade -o ab.mp4"""
    with usage_errors():
        from postprocess.interpolate import retime
        from postprocess.mux import write_video
        from postprocess.read import read_video
        from postprocess.tools import concat, transition as join

        clips = [read_video(path) for path in sources]
        fps = clips[0][1]
        result = clips[0][0]
        for frames, clip_fps in clips[1:]:
            frames = frames if clip_fps == fps else retime(frames, clip_fps, fps)
            result = concat([result, frames]) if transition == "cut" else join(result, frames, transition, max(1, round(duration * fps)))
        write_video(result, output, fps=fps, overwrite=overwrite)
    typer.echo(f"{output}: {len(sources)} clips -> {len(result)} frames at {fps} fps")


@edit_app.command("speed")
def edit_speed(source: Path = SOURCE_ARGUMENT, output: Path = CLIP_OUTPUT_OPTION,
               speed: float = typer.Option(..., help="2 plays twice as fast; 0.25 is 4x slow motion (interpolated)."),
               overwrite: bool = OVERWRITE_OPTION):
    """Speed up or slow down. Example: videogen edit speed clip.mp4 --speed 0.5 -o slow.mp4"""
    from postprocess.tools import change_speed

    edit_clip(source, output, overwrite, lambda frames, fps: (change_speed(frames, speed), fps))


@edit_app.command("reverse")
def edit_reverse(source: Path = SOURCE_ARGUMENT, output: Path = CLIP_OUTPUT_OPTION, overwrite: bool = OVERWRITE_OPTION):
    """Play backwards. Example: videogen edit reverse clip.mp4 -o back.mp4"""
    from postprocess.tools import reverse

    edit_clip(source, output, overwrite, lambda frames, fps: (reverse(frames), fps))


@edit_app.command("boomerang")
def edit_boomerang(source: Path = SOURCE_ARGUMENT, output: Path = CLIP_OUTPUT_OPTION, overwrite: bool = OVERWRITE_OPTION):
    """Forwards then backwards, looping seamlessly. Example: videogen edit boomerang clip.mp4 -o boom.gif"""
    from postprocess.tools import boomerang

    edit_clip(source, output, overwrite, lambda frames, fps: (boomerang(frames), fps))


@edit_app.command("loop")
def edit_loop(source: Path = SOURCE_ARGUMENT, output: Path = CLIP_OUTPUT_OPTION,
              bridge: int = typer.Option(4, help="Frames interpolated from the last frame back to the first."),
              overwrite: bool = OVERWRITE_OPTION):
    """Make a clip loop seamlessly: its last frame flows into its first. Example: videogen edit loop clip.mp4 -o loop.gif"""
    from postprocess.tools import seamless_loop

    edit_clip(source, output, overwrite, lambda frames, fps: (seamless_loop(frames, bridge), fps))


@edit_app.command("colour")
def edit_colour(source: Path = SOURCE_ARGUMENT, output: Path = CLIP_OUTPUT_OPTION,
                reference: Optional[Path] = typer.Option(None, help="Image, or clip whose first frame, to match (default: the clip's first frame)."),
                strength: float = typer.Option(1.0, help="0 keeps the colours, 1 matches fully."),
                overwrite: bool = OVERWRITE_OPTION):
    """Colour coherence: match every frame's LAB histograms to a reference. Example: videogen edit colour shot2.mp4 --reference shot1.mp4 -o shot2_matched.mp4"""
    with usage_errors():
        from postprocess.colour import match_colour
        from postprocess.images import is_image_path, read_image
        from postprocess.read import read_video

        target = None if reference is None else read_image(reference) if is_image_path(reference) else read_video(reference)[0][0]
    edit_clip(source, output, overwrite, lambda frames, fps: (match_colour(frames, target, strength), fps))


@edit_app.command("deflicker")
def edit_deflicker(source: Path = SOURCE_ARGUMENT, output: Path = CLIP_OUTPUT_OPTION,
                   window: int = typer.Option(5, help="Frames averaged for the target brightness."),
                   overwrite: bool = OVERWRITE_OPTION):
    """Even out frame-to-frame brightness flicker. Example: videogen edit deflicker clip.mp4 -o steady.mp4"""
    from postprocess.colour import deflicker

    edit_clip(source, output, overwrite, lambda frames, fps: (deflicker(frames, window), fps))


@edit_app.command("aspect")
def edit_aspect(source: Path = SOURCE_ARGUMENT, output: Path = CLIP_OUTPUT_OPTION,
                ratio: str = typer.Option(..., help="Width:height such as 16:9, 9:16, 2.39."),
                mode: str = typer.Option("crop", help="crop (centred) or pad (letterbox / pillarbox in black)."),
                overwrite: bool = OVERWRITE_OPTION):
    """Crop or pad to an aspect ratio. Example: videogen edit aspect clip.mp4 --ratio 9:16 -o vertical.mp4"""
    from postprocess import FrameError
    from postprocess.tools import crop_to_aspect, pad_to_aspect

    def transform(frames, fps):
        if mode not in ("crop", "pad"):
            raise FrameError(f"--mode: {mode!r} is not allowed; use crop or pad")
        return (crop_to_aspect if mode == "crop" else pad_to_aspect)(frames, ratio), fps

    edit_clip(source, output, overwrite, transform)


@edit_app.command("frames")
def edit_frames(source: Path = SOURCE_ARGUMENT,
                output: Path = typer.Option(..., "-o", "--output", help="Folder for frame_NNNNN.png files."),
                every: int = typer.Option(1, help="Keep every n-th frame."),
                overwrite: bool = OVERWRITE_OPTION):
    """Extract frames as PNG files. Example: videogen edit frames clip.mp4 --every 12 -o stills/"""
    with usage_errors():
        refuse_existing(output, overwrite)
        from postprocess.read import read_video
        from postprocess.tools import extract_frames

        paths = extract_frames(read_video(source)[0], output, every)
    typer.echo(f"{output}: {len(paths)} PNG frames")


@edit_app.command("sheet")
def edit_sheet(source: Path = SOURCE_ARGUMENT,
               output: Path = typer.Option(..., "-o", "--output", help="PNG to write."),
               count: int = typer.Option(12, help="Frames to show, evenly spaced."),
               columns: int = typer.Option(4, help="Thumbnails per row."),
               width: int = typer.Option(256, help="Thumbnail width in pixels."),
               overwrite: bool = OVERWRITE_OPTION):
    """A contact sheet of evenly spaced frames labelled with their times. Example: videogen edit sheet clip.mp4 -o sheet.png"""
    with usage_errors():
        refuse_existing(output, overwrite)
        import numpy as np

        from postprocess.preview import contact_sheet, save_png
        from postprocess.read import read_video

        frames, fps = read_video(source)
        picks = np.unique(np.linspace(0, len(frames) - 1, max(1, count)).round().astype(int))
        save_png(contact_sheet(frames[picks], columns, [f"{float(index / fps):.2f} s" for index in picks], width), output)
    typer.echo(f"{output}: {len(picks)} of {len(frames)} frames")


@edit_app.command("gif")
def edit_gif(source: Path = SOURCE_ARGUMENT,
             output: Path = typer.Option(..., "-o", "--output", help="GIF to write."),
             width: int = typer.Option(320, help="Largest width; wider clips are shrunk."),
             overwrite: bool = OVERWRITE_OPTION):
    """A small looping GIF preview at the clip's frame rate. Example: videogen edit gif clip.mp4 -o preview.gif"""
    with usage_errors():
        refuse_existing(output, overwrite)
        from postprocess.preview import write_gif_preview
        from postprocess.read import read_video

        frames, fps = read_video(source)
        write_gif_preview(frames, output, float(fps), width)
    typer.echo(f"{output}: {len(frames)} frames at {fps} fps")


def main():
    app()


if __name__ == "__main__":
    main()
