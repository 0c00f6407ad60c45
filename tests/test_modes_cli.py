"""`videogen image` and the mode options of `videogen render`, end to end with the tiny model folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY_SIZE
from PIL import Image
from typer.testing import CliRunner

from postprocess.mux import write_video
from postprocess.read import probe
from videogen.cli import app

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def invoke(*args):
    return runner.invoke(app, [str(arg) for arg in args])


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.fixture()
def lake_png(tmp_path):
    path = tmp_path / "lake.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (TINY_SIZE, TINY_SIZE, 3), dtype=np.uint8)).save(path)
    return path


def test_image_variations_grid_and_each_seed_alone(tiny_model_dir, tmp_path):
    output = tmp_path / "lake.png"
    result = invoke("image", "(misty:1.3) lake at dawn", "-o", output, "--model", tiny_model_dir, "--steps", 2, "--n", 4, "--seed", 3)
    assert result.exit_code == 0, result.output
    assert f"{output}: 4 images of {TINY_SIZE}x{TINY_SIZE} (text, seeds 3-6)" in result.output
    variations = [tmp_path / f"lake-seed{seed}.png" for seed in range(3, 7)]
    assert all(path.is_file() for path in variations)
    grid = pixels(output)
    assert grid.shape[0] > 2 * TINY_SIZE and grid.shape[1] > 2 * TINY_SIZE  # 2 x 2 thumbnails with labels
    alone = tmp_path / "alone.png"
    assert invoke("image", "(misty:1.3) lake at dawn", "-o", alone, "--model", tiny_model_dir, "--steps", 2, "--seed", 5).exit_code == 0
    np.testing.assert_array_equal(pixels(alone), pixels(variations[2]))
    metadata = json.loads(Image.open(alone).text["videogen"])
    assert metadata["seed"] == 5 and metadata["prompt"] == "(misty:1.3) lake at dawn" and metadata["settings"]["frames"] == 1


def test_image_inpaint_with_a_rectangle_keeps_every_other_pixel(tiny_model_dir, tmp_path, lake_png):
    output = tmp_path / "boat.png"
    result = invoke("image", "a boat", "--image", lake_png, "--mask", "rect:8,8,16,8", "-o", output, "--model", tiny_model_dir, "--steps", 2)
    assert result.exit_code == 0, result.output
    assert "(inpaint, seed 0)" in result.output
    kept = np.ones((TINY_SIZE, TINY_SIZE), bool)
    kept[8:16, 8:24] = False
    np.testing.assert_array_equal(pixels(output)[kept], pixels(lake_png)[kept])
    assert not np.array_equal(pixels(output)[~kept], pixels(lake_png)[~kept])


def test_render_video_to_video_keeps_frames_and_fps(tiny_model_dir, tmp_path):
    clip = write_video(np.random.default_rng(2).random((6, TINY_SIZE, TINY_SIZE, 3)), tmp_path / "in.mp4", fps="30000/1001")
    output = tmp_path / "out.mp4"
    result = invoke("render", "a lake in autumn", "--video", clip, "--strength", 0.5, "-o", output, "--model", tiny_model_dir, "--steps", 2)
    assert result.exit_code == 0, result.output
    info = probe(output)
    assert (info.num_frames, str(info.fps)) == (6, "30000/1001")


@pytest.mark.parametrize(
    "extra, message",
    [
        (("--strength", 0), "strength: got 0.0; Input should be greater than 0"),
        (("--mask", "rect:100,100,4,4"), "mask: selects no pixels"),
        (("--outpaint", "3"), "outpaint: '3' makes a 38x38 canvas from 32x32; both sides must be multiples of 8"),
        (("--upscale", 3), "upscale: got 3; Input should be 2 or 4"),
        (("--mode", "keyframes"), "end_image: mode keyframes needs it"),
    ],
)
def test_image_bad_inputs_exit_2_with_one_line_and_no_file(tiny_model_dir, tmp_path, lake_png, extra, message):
    output = tmp_path / "out.png"
    result = invoke("image", "a lake", "--image", lake_png, "-o", output, "--model", tiny_model_dir, "--steps", 2, *extra)
    assert result.exit_code == 2, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert not output.exists()


def test_non_image_input_and_non_png_output(tiny_model_dir, tmp_path, lake_png):
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    result = invoke("image", "a lake", "--image", notes, "-o", tmp_path / "out.png", "--model", tiny_model_dir)
    assert result.exit_code == 2 and "init_image: " in result.output and "is not an image PIL can read" in result.output
    result = invoke("image", "a lake", "-o", tmp_path / "out.jpg", "--model", tiny_model_dir)
    assert result.exit_code == 2 and "output: images are written as PNG; got 'out.jpg'" in result.output


@pytest.mark.parametrize("script", ["modes_images.py", "modes_clips.py"])
def test_mode_examples_run(tiny_model_dir, tmp_path, script):
    completed = subprocess.run(
        [sys.executable, EXAMPLES / script, tmp_path, "--model", tiny_model_dir, "--steps", "2"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert completed.returncode == 0, completed.stderr
    written = sorted(path.name for path in tmp_path.iterdir() if not path.name.endswith(".json"))
    expected = {"modes_images.py": ["inpainted.png", "lake.png", "outpainted.png"],
                "modes_clips.py": ["extended.mp4", "from_image.mp4", "restyled.mp4", "still.png"]}[script]
    assert written == expected, completed.stdout
