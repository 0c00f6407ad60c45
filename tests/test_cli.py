"""`videogen render` end to end with a tiny model folder, and every bad input: one line, exit 2, no file."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import TINY_SIZE
from postprocess.read import probe, read_video
from videogen import render
from videogen.cli import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(arg) for arg in args])


def render_args(model_dir, output, *extra):
    return ("render", "a misty lake at dawn", "-o", output, "--model", model_dir, "--steps", 2, "--frames", 8, "--keyframes", 4, *extra)


def test_help_shows_examples():
    result = invoke("--help")
    assert result.exit_code == 0 and "videogen render" in result.output
    assert "Example" in invoke("render", "--help").output


def test_render_writes_a_clip_with_its_metadata(tiny_model_dir, tmp_path):
    output = tmp_path / "clip.mp4"
    result = invoke(*render_args(tiny_model_dir, output, "--fps", "24000/1001", "--seed", 3, "--camera", "pan_right:0.4",
                                 "--camera-shift", 0.3))
    assert result.exit_code == 0, result.output
    assert f"{output}: 8 frames, {TINY_SIZE}x{TINY_SIZE} at 24000/1001 fps" in result.output
    info = probe(output)
    assert (info.num_frames, info.width, info.height) == (8, TINY_SIZE, TINY_SIZE)
    sidecar = json.loads((tmp_path / "clip.mp4.json").read_text())
    assert sidecar["prompt"] == "a misty lake at dawn" and sidecar["seed"] == 3
    assert sidecar["camera"].startswith("pan_right") and sidecar["settings"]["steps"] == 2
    assert sidecar["settings"]["camera_shift"] == 0.3
    assert info.metadata["videogen_version"] == sidecar["videogen_version"]


def test_same_seed_renders_identical_frames_through_the_api(tiny_model_dir):
    first = render("a misty lake at dawn", model=str(tiny_model_dir), steps=2, frames=6, keyframes=3, seed=4)
    second = render("a misty lake at dawn", model=str(tiny_model_dir), steps=2, frames=6, keyframes=3, seed=4)
    assert first.path is None and first.frames.shape == (6, TINY_SIZE, TINY_SIZE, 3)
    np.testing.assert_array_equal(first.frames, second.frames)


def test_keyframes_are_kept_and_interpolated_between(tiny_model_dir):
    keyframes = render("a lake", model=str(tiny_model_dir), steps=2, frames=3, keyframes=3, seed=1).frames
    filled = render("a lake", model=str(tiny_model_dir), steps=2, frames=5, keyframes=3, seed=1).frames
    np.testing.assert_allclose(filled[[0, 2, 4]], keyframes, atol=1e-6)


@pytest.mark.parametrize("name", ["clip.gif", "clip.webm", "clip.mov", "frames"])
def test_render_to_every_format(tiny_model_dir, tmp_path, name):
    result = invoke(*render_args(tiny_model_dir, tmp_path / name))
    assert result.exit_code == 0, result.output
    assert read_video(tmp_path / name)[0].shape == (8, TINY_SIZE, TINY_SIZE, 3)


BAD_INPUTS = [
    (("--size", "30x32"), "width: got 30; must be a positive multiple of 8"),
    (("--size", "big"), "--size: got 'big'; use WIDTHxHEIGHT"),
    (("--frames", 0), "frames: got 0; Input should be greater than or equal to 1"),
    (("--steps", 0), "steps: got 0; Input should be greater than or equal to 1"),
    (("--guidance", -1), "guidance: got -1.0; Input should be greater than or equal to 0"),
    (("--format", "avi"), "format: got 'avi'; allowed: mp4, h265, webm, prores, gif, png"),
    (("--camera", "pan_rihgt:0.5"), "pan_rihgt"),
    (("--camera", "pan_right:0.5", "--camera-shift", 1.5), "camera_shift: got 1.5; Input should be less than or equal to 1"),
    (("--fps", "0"), "fps: got 0; must be above 0"),
]


@pytest.mark.parametrize("extra, message", BAD_INPUTS)
def test_bad_settings_exit_2_with_one_line_and_no_file(tiny_model_dir, tmp_path, extra, message):
    result = invoke(*render_args(tiny_model_dir, tmp_path / "clip.mp4", *extra))
    assert result.exit_code == 2, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_unknown_model_and_non_model_folder(tmp_path):
    result = invoke("render", "a lake", "-o", tmp_path / "clip.mp4", "--model", "builtin:nope")
    assert result.exit_code == 2 and "model: unknown built-in 'builtin:nope'; available: builtin:landscapes" in result.output
    result = invoke("render", "a lake", "-o", tmp_path / "clip.mp4", "--model", tmp_path)
    assert result.exit_code == 2 and "has no model_index.json" in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("damage", ["truncated", "another component's weights", "another shape"])
def test_a_damaged_weights_file_is_one_line_naming_its_folder(tiny_model_dir, tmp_path, damage):
    """A corrupt or mismatched weights file is one error line naming the component's folder, and no clip is written."""
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    weights = model / "denoiser" / "diffusion_pytorch_model.safetensors"
    if damage == "truncated":
        weights.write_bytes(weights.read_bytes()[:1000])
    elif damage == "another component's weights":
        shutil.copy(model / "vae" / "diffusion_pytorch_model.safetensors", weights)
    else:
        config = json.loads((model / "denoiser" / "config.json").read_text())
        (model / "denoiser" / "config.json").write_text(json.dumps({**config, "cross_attention_dim": 2 * config["cross_attention_dim"]}))
    result = invoke(*render_args(model, tmp_path / "clip.mp4"))
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output
    assert f"error: model: could not load {model / 'denoiser'}: " in result.output
    assert not (tmp_path / "clip.mp4").exists()


def test_empty_prompt(tiny_model_dir, tmp_path):
    result = invoke("render", "   ", "-o", tmp_path / "clip.mp4", "--model", tiny_model_dir)
    assert result.exit_code == 2 and "prompt: got '   '" in result.output


def test_existing_output_needs_overwrite(tiny_model_dir, tmp_path):
    output = tmp_path / "clip.mp4"
    output.write_bytes(b"precious")
    result = invoke(*render_args(tiny_model_dir, output))
    assert result.exit_code == 2 and re.search("output: .*clip.mp4 exists; pass --overwrite", result.output)
    assert output.read_bytes() == b"precious"
    assert invoke(*render_args(tiny_model_dir, output, "--overwrite")).exit_code == 0
    assert probe(output).num_frames == 8


def test_unwritable_output_folder(tiny_model_dir, tmp_path, monkeypatch):
    monkeypatch.setattr("videogen.request.os.access", lambda path, mode: False)  # CI runs as root, which writes anywhere
    result = invoke(*render_args(tiny_model_dir, tmp_path / "new" / "clip.mp4"))
    assert result.exit_code == 2 and f"output: folder {tmp_path} is not writable" in result.output
    assert list(tmp_path.iterdir()) == []


def test_camera_probe_refuses_a_folder_without_a_denoiser_or_latents(tmp_path, tiny_model_dir):
    result = CliRunner().invoke(app, ["train", "camera-probe", "--model", str(tmp_path), "--data", str(tmp_path)])
    assert result.exit_code == 2 and "has no denoiser/config.json" in result.output
    result = CliRunner().invoke(app, ["train", "camera-probe", "--model", str(tiny_model_dir), "--data", str(tmp_path)])
    assert result.exit_code == 2 and "data: no rendered shards in" in result.output


def test_train_latents_and_exports_refuse_bad_folders(tmp_path, tiny_model_dir):
    result = CliRunner().invoke(app, ["train", "latents", "--data", str(tmp_path), "--vae", str(tmp_path)])
    assert result.exit_code == 2 and f"vae: {tmp_path} has no config.json" in result.output
    result = CliRunner().invoke(app, ["train", "latents", "--data", str(tmp_path / "none")])
    assert result.exit_code == 2 and "data: no rendered shards in" in result.output
    result = CliRunner().invoke(app, ["train", "export-decoder", "--vae", str(tmp_path)])
    assert result.exit_code == 2 and "has no config.json" in result.output
    export = ["train", "export", "--run", str(tmp_path), "--vae", str(tiny_model_dir / "vae"), "--out", str(tmp_path / "model")]
    result = CliRunner().invoke(app, export)
    assert result.exit_code == 2 and f"run: {tmp_path / 'checkpoint.pt'} does not exist" in result.output
    assert not (tmp_path / "model").exists()
