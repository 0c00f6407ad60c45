"""`videogen storyboard`: render a storyboard's shots and assemble the film."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from videogen.cli import app
from videogen.cli.common import console, usage_errors


@app.command("storyboard")
def storyboard_command(
    board: Path = typer.Argument(..., help="Storyboard YAML file (see examples/storyboard_*.yaml)."),
    output: Path = typer.Option(..., "-o", "--output", help="Folder for shots/, film.mp4, contact_sheet.png, index.html, manifest.json."),
    jobs: int = typer.Option(1, help="Local executor: shots rendered at once (above 1: in worker processes)."),
    # '\\[': rich reads a bare [ray] as markup and prints nothing of it
    executor: str = typer.Option("local", help="local, or ray (needs pip install 'videogen\\[ray]')."),
    address: Optional[str] = typer.Option(None, help="Ray cluster to join: auto or HOST:PORT (default: start a local Ray)."),
    only: Optional[list[str]] = typer.Option(None, "--only", help="Render only these shot ids (repeat, or comma-separate)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check everything, print the plan, the work and each prompt the model would rewrite (it loads the model); render nothing."),
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
            for shot, texts in story.readings().items():
                typer.echo(f"{shot} read as: {' | '.join(texts)}")
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
