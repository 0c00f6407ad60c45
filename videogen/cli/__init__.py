"""The `videogen` command: parses, calls the API, reports. Usage errors print one line and exit 2.

One module per front door registers its commands on `app`: generate (render, image, camera), train (train ..., world,
eval), storyboard, frames (interpolate, upscale, edit ...); common holds what they share.
"""

from __future__ import annotations

import typer

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


def show_version(value: bool):
    if value:
        from videogen import __version__

        typer.echo(f"videogen {__version__}")
        raise typer.Exit()


@app.callback()
def cli(version: bool = typer.Option(False, "--version", callback=show_version, is_eager=True, help="Print the version.")):
    """Text-to-video with camera control, offline on a CPU."""


# Imported after `app` exists, in this order: each registers its commands on it, and `videogen --help` lists them so.
from videogen.cli import generate  # noqa: E402,F401
from videogen.cli import train  # noqa: E402,F401
from videogen.cli import storyboard  # noqa: E402,F401
from videogen.cli import frames  # noqa: E402,F401


def main():
    app()
