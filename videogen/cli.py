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
    frames: int = typer.Option(48, help="Frames in the output."),
    keyframes: Optional[int] = typer.Option(None, help="Frames the model generates (default: min(frames, 16)); interpolation fills the rest."),
    fps: str = typer.Option("24", help="Frame rate, a number or a ratio such as 24000/1001."),
    size: Optional[str] = typer.Option(None, help="WIDTHxHEIGHT, multiples of 8 (default: the model's size)."),
    steps: int = typer.Option(25, help="Denoising steps."),
    guidance: float = typer.Option(7.5, help="Classifier-free guidance scale (<= 1 disables it)."),
    seed: int = typer.Option(0, help="Seed of the initial noise; the same seed gives the same clip."),
    negative: Optional[str] = typer.Option(None, help="Negative prompt."),
    camera: Optional[str] = typer.Option(None, help="Camera spec, e.g. pan_right:0.6 or zoom_in:0.3+tilt_up:0.2@ease_in_out."),
    camera_strength: float = typer.Option(1.0, help="How strongly a model without camera conditioning follows the camera (0..1)."),
    model: str = typer.Option("builtin:landscapes", help="builtin:NAME or a local diffusers folder."),
    format: Optional[str] = typer.Option(None, help="mp4, h265, webm, prores, gif or png (default: from the suffix)."),
    audio: Optional[Path] = typer.Option(None, help="Audio file to mux in (trimmed to the clip)."),
    overwrite: bool = typer.Option(False, help="Replace an existing output."),
    device: str = typer.Option("cpu", help="torch device, e.g. cpu or cuda."),
):
    """Render a clip from a prompt.

    Example: videogen render "golden hour over a misty alpine lake, slow pan to the right" -o lake.mp4 --camera pan_right:0.4
    """
    with usage_errors():
        from videogen.api import render as render_clip
        from videogen.request import Request

        width, height = parse_size(size)
        request = Request.create(
            prompt=prompt, negative_prompt=negative, frames=frames, keyframes=keyframes, fps=fps, width=width, height=height,
            steps=steps, guidance=guidance, seed=seed, camera=camera, camera_strength=camera_strength, model=model, device=device,
        )
        with step_progress("denoising") as progress:
            result = render_clip(request, output, format=format, overwrite=overwrite, audio=audio, progress=progress)
    height, width = result.frames.shape[1:3]
    typer.echo(f"{result.path}: {len(result.frames)} frames, {width}x{height} at {result.fps} fps, rendered in {result.seconds:.1f} s")


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


def main():
    app()


if __name__ == "__main__":
    main()
