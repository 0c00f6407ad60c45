"""`videogen camera` and the camera examples: previews written with their spec; bad input is one line, exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from cameras import parse_camera
from videogen.cli import app

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(arg) for arg in args])


def test_camera_writes_a_preview_gif_and_a_plot(tmp_path):
    output, plot = tmp_path / "orbit.gif", tmp_path / "orbit.png"
    result = invoke("camera", "orbit_left:1+zoom_in:0.5@ease-in-out", "--frames", 12, "--size", "96x64", "-o", output,
                    "--plot", plot)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (f"{output}: 12 frames of camera orbit_left:1+zoom_in:0.5@ease_in_out at 96x64; "
                                     f"plot {plot}")
    with Image.open(output) as gif:
        assert gif.n_frames == 12 and gif.size == (96, 64)
    assert json.loads(output.with_name("orbit.gif.json").read_text())["camera"] == "orbit_left:1+zoom_in:0.5@ease_in_out"
    with Image.open(plot) as image:
        assert image.format == "PNG"


@pytest.mark.parametrize("example", ["camera_keyframes.yaml", "camera_rig.yaml"])
def test_yaml_examples_preview(example, tmp_path):
    output = tmp_path / "path.gif"
    result = invoke("camera", EXAMPLES / example, "--frames", 6, "--size", "64x48", "-o", output)
    assert result.exit_code == 0, result.output
    assert str(parse_camera(EXAMPLES / example)) in result.output and output.exists()


@pytest.mark.parametrize("args, message", [
    (("pan_rigth:0.6",), 'unknown preset "pan_rigth" at column 1; did you mean pan_right?'),
    (("pan_right:9",), "intensity 9 for pan_right is out of range 0..2"),
    (("[{frame: 0}, {frame: 60, pan: 5}]",), "frame 60 is beyond the clip of 48 frames"),
    (("pan_right", "--size", "big"), "--size: got 'big'"),
    (("missing.yaml",), "camera file 'missing.yaml' cannot be read"),
])
def test_bad_camera_input_is_one_line_and_writes_nothing(args, message, tmp_path):
    result = invoke("camera", *args, "-o", tmp_path / "out.gif")
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and message in result.output
    assert list(tmp_path.iterdir()) == []


def test_camera_preview_example_runs(tmp_path):
    completed = subprocess.run([sys.executable, EXAMPLES / "camera_preview.py", tmp_path, "truck_left:1"],
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    dx = next(line for line in completed.stdout.splitlines() if line.strip().startswith("dx"))
    measured, predicted = (float(part.split(",")[0]) for part in dx.split("measured")[1].split("predicted"))
    assert measured == pytest.approx(predicted, rel=0.1) and predicted > 0  # trucking left slides the picture right
    assert (tmp_path / "preview.gif").exists() and (tmp_path / "path.png").exists()
