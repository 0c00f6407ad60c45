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
            steps=steps, guidance=guidance, seed=seed, camera=camera, model=model, device=device,
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


def main():
    app()


if __name__ == "__main__":
    main()
