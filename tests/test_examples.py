"""Every script in examples/ runs (with the tiny model instead of the built-in one, for speed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from postprocess.read import probe

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_api_render_example(tiny_model_dir, tmp_path):
    output = tmp_path / "lake.mp4"
    completed = subprocess.run(
        [sys.executable, EXAMPLES / "api_render.py", output, "--model", tiny_model_dir, "--steps", "2"],
        capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    assert "32 frames at 24 fps" in completed.stdout
    assert probe(output).num_frames == 32


def test_api_read_prompt_example(tmp_path):
    output = tmp_path / "peaks.png"
    completed = subprocess.run([sys.executable, EXAMPLES / "api_read_prompt.py", output, "--steps", "1"],
                               capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert "read as: a watercolour of mountains at sunset, in thick fog" in completed.stdout
    assert "'alpine summits' -> 'mountains'" in completed.stdout and output.is_file()
