"""What the commands share: one-line usage errors, option parsing, progress bars, the overwrite rule."""

from __future__ import annotations

import contextlib
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

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


@contextlib.contextmanager
def step_progress(description: str):
    """A rich progress bar fed by a (done, total) callback."""
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task(description, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def refuse_existing(output: Path, overwrite: bool) -> None:
    """The muxer's rule for every other output: an existing file or folder is kept unless --overwrite."""
    from postprocess import FrameError

    if output.exists() and not overwrite:
        raise FrameError(f"output: {output} exists; pass --overwrite to replace it")
