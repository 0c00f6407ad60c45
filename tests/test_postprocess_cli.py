"""`videogen interpolate`, `videogen upscale` and `videogen edit ...` end to end; bad input is one line, exit 2, no file."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data
from typer.testing import CliRunner

from postprocess.mux import write_video
from postprocess.read import read_video
from videogen.cli import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(arg) for arg in args])


@pytest.fixture
def clip(tmp_path):
    """An 8-frame 64x48 pan over a photo, as a lossless PNG-sequence folder at 8 fps."""
    photo = cv2.resize(data.astronaut(), (128, 128), interpolation=cv2.INTER_AREA)
    frames = np.stack([photo[40:88, 10 + 3 * i : 74 + 3 * i] for i in range(8)])
    path = tmp_path / "clip"
    write_video(frames, path, fps=8, format="png")
    return path, frames


def test_interpolate_to_a_frame_rate_and_by_a_factor(clip, tmp_path):
    source, frames = clip
    result = invoke("interpolate", source, "--fps", 24, "-o", tmp_path / "fast.gif")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{tmp_path / 'fast.gif'}: 8 frames -> 24 frames at 24 fps"
    result = invoke("interpolate", source, "--factor", 2, "-o", tmp_path / "double")
    assert result.exit_code == 0, result.output
    doubled, fps = read_video(tmp_path / "double")
    assert fps == 16 and len(doubled) == 15 and np.array_equal(doubled[::2], frames)


def test_upscale_image_and_clip(clip, tmp_path):
    source, frames = clip
    Image.fromarray(frames[0]).save(tmp_path / "still.png")
    result = invoke("upscale", tmp_path / "still.png", "--scale", 4, "--sharpen", 0.3, "-o", tmp_path / "big.jpg")
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "big.jpg").size == (256, 192)
    result = invoke("upscale", source, "--method", "lanczos", "--deblock", 0.5, "-o", tmp_path / "big")
    assert result.exit_code == 0, result.output
    assert read_video(tmp_path / "big")[0].shape == (8, 96, 128, 3)


def test_edit_tools_chain(clip, tmp_path):
    source, frames = clip
    steps = [
        (("trim", source, "--start", 0.25, "--end", 0.75), 4),
        (("speed", source, "--speed", 0.5), 16),
        (("reverse", source), 8),
        (("boomerang", source), 14),
        (("loop", source, "--bridge", 2), 10),
        (("colour", source, "--strength", 0.5), 8),
        (("deflicker", source), 8),
        (("concat", source, source, "--transition", "crossfade", "--duration", 0.25), 14),
    ]
    for index, (args, expected) in enumerate(steps):
        output = tmp_path / f"out{index}"
        result = invoke("edit", *args, "-o", output)
        assert result.exit_code == 0, result.output
        assert len(read_video(output)[0]) == expected, args
    assert np.array_equal(read_video(tmp_path / "out2")[0], frames[::-1])
    result = invoke("edit", "aspect", source, "--ratio", "1:1", "--mode", "pad", "-o", tmp_path / "square")
    assert result.exit_code == 0 and read_video(tmp_path / "square")[0].shape == (8, 64, 64, 3)


def test_edit_previews(clip, tmp_path):
    source, _ = clip
    assert invoke("edit", "sheet", source, "--count", 4, "--width", 32, "-o", tmp_path / "sheet.png").exit_code == 0
    assert Image.open(tmp_path / "sheet.png").size[0] == 4 * 32 + 5 * 4
    assert invoke("edit", "gif", source, "-o", tmp_path / "p.gif").exit_code == 0
    assert Image.open(tmp_path / "p.gif").n_frames == 8
    result = invoke("edit", "frames", source, "--every", 4, "-o", tmp_path / "stills")
    assert result.exit_code == 0 and sorted(p.name for p in (tmp_path / "stills").iterdir()) == ["frame_00000.png", "frame_00004.png"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("interpolate", "{corrupt}", "--fps", 30), "is not a readable video"),
        (("interpolate", "{clip}", "--fps", 0), "fps: got 0; must be above 0"),
        (("interpolate", "{clip}", "--factor", 0), "factor: 0 is not allowed"),
        (("interpolate", "{clip}"), "give exactly one of them"),
        (("upscale", "{clip}", "--scale", 3), "scale: 3 is not allowed"),
        (("upscale", "{corrupt_png}"), "is not a readable image"),
        (("edit", "concat", "{clip}", "{small}"), "clip 2: frames are 32x24 but clip 1's are 64x48"),
        (("edit", "trim", "{clip}", "--start", 5), "leaves no frames"),
        (("edit", "speed", "{clip}", "--speed", -1), "speed: -1.0 is not allowed"),
        (("edit", "aspect", "{clip}", "--ratio", "1:1", "--mode", "stretch"), "--mode: 'stretch' is not allowed"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_output(clip, tmp_path, args, message):
    (tmp_path / "corrupt.mp4").write_bytes(b"not a video at all")
    (tmp_path / "corrupt.png").write_bytes(b"not a png")
    write_video(clip[1][:, ::2, ::2], tmp_path / "small", fps=8, format="png")
    paths = {"clip": clip[0], "corrupt": tmp_path / "corrupt.mp4", "corrupt_png": tmp_path / "corrupt.png", "small": tmp_path / "small"}
    output = tmp_path / "out.mp4"
    result = invoke(*[str(arg).format(**paths) for arg in args], "-o", output)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert not output.exists() and not list(tmp_path.glob(".out*"))


@pytest.mark.parametrize("tool, name", [("frames", "stills"), ("sheet", "sheet.png"), ("gif", "preview.gif")])
def test_preview_tools_keep_an_existing_output_without_overwrite(clip, tmp_path, tool, name):
    output = tmp_path / name
    output.mkdir() if tool == "frames" else output.write_bytes(b"precious")
    result = invoke("edit", tool, clip[0], "-o", output)
    assert result.exit_code == 2 and "exists; pass --overwrite" in result.output
    assert (list(output.iterdir()) == []) if tool == "frames" else output.read_bytes() == b"precious"
    assert invoke("edit", tool, clip[0], "-o", output, "--overwrite").exit_code == 0
