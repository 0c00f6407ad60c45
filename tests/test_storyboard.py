"""Storyboards: the schema, every bad input found before rendering (with file:line:column), seeds, prompt
travel, the examples, the cache (a changed shot re-renders alone; a killed run resumes), and the CLI."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

import cameras
import videogen.executors
from postprocess.mux import write_video
from postprocess.preview import save_png
from postprocess.read import probe, read_video
from videogen import Storyboard
from videogen.cli import app
from videogen.errors import UsageError
from videogen.executors import RayExecutor
from videogen.request import Request
from videogen.storyboard import (
    Defaults, Shot, StoryboardError, StoryboardSpec, camera_window, derive_seed, storyboard_json_schema, travel_segments,
)

runner = CliRunner()
EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("storyboard_*.yaml"))
SCHEMA = Path(__file__).resolve().parents[1] / "configs" / "storyboard.schema.json"
SIZE = 64
FAST = {"steps": 2, "size": f"{SIZE}x{SIZE}", "fps": 8}  # tiny renders for every test
# Tests that compare manifests (file hashes) render at 128 pixels: libx264 (FFmpeg 8, via PyAV) does not give
# the same bytes for the same frames run to run at 64 pixels and below, even with threads=1.
DETERMINISTIC = "128x128"


def write_board(folder: Path, model_dir, shots: list[dict], **defaults) -> Path:
    """A storyboard file of `shots` rendering with the tiny model."""
    board = {"title": "test", "defaults": {"model": str(model_dir), **FAST, "duration": 1, **defaults}, "shots": shots}
    path = folder / "board.yaml"
    path.write_text(yaml.safe_dump(board, sort_keys=False))
    return path


def three_shots() -> list[dict]:
    return [
        {"id": "a", "prompt": "a lake at dawn", "camera": "pan_right:0.4", "transition": {"type": "crossfade", "duration": 0.25}},
        {"id": "b", "prompt": "hills at noon", "transition": "wipe"},
        {"id": "c", "prompt": "dunes at night", "camera": "zoom_in:0.5"},
    ]


def without_run_facts(manifest: dict) -> dict:
    """A manifest minus what differs between runs of the same spec (render times, workers, cached flags)."""
    return {**manifest, "shots": [{key: value for key, value in shot.items() if key != "render"} for shot in manifest["shots"]]}


def load_manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


# ---------------------------------------------------------------------------------------------- schema


def test_schema_file_is_up_to_date():
    published = json.loads(SCHEMA.read_text())
    assert published == storyboard_json_schema(), (
        "configs/storyboard.schema.json is stale: python -c 'from videogen.storyboard import write_schema; write_schema()'"
    )


def test_every_request_setting_is_a_storyboard_setting():
    assert set(Request.model_fields) <= set(Shot.model_fields)
    assert set(Request.model_fields) <= set(Defaults.model_fields)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.stem)
def test_examples_round_trip_through_the_schema(example):
    data = yaml.safe_load(example.read_text())
    jsonschema.validate(data, storyboard_json_schema())
    spec = StoryboardSpec.model_validate(data)
    again = StoryboardSpec.model_validate(json.loads(spec.model_dump_json(exclude_unset=True)))
    assert again == spec
    jsonschema.validate(json.loads(again.model_dump_json(exclude_unset=True)), storyboard_json_schema())


def test_there_are_three_example_storyboards():
    assert {path.stem for path in EXAMPLES} >= {"storyboard_landscapes", "storyboard_day_to_night", "storyboard_camera_moves"}


# ----------------------------------------------------------------------------------------------- bad input

GOOD_SHOT = "  - id: a\n    prompt: a lake\n"


@pytest.mark.parametrize("text, where, message", [
    ("shots: [\n  - id: a\n", "board.yaml:2:3", "not valid YAML: expected the node content, but found '-'"),
    ("shots:\n  - id: a\n    prompt: a lake\n    stpes: 2\n", "board.yaml:4:5", "shots[0].stpes: unknown setting; did you mean steps? allowed: "),
    ("shots:\n  - id: a\n    prompt: a lake\n    steps: 0\n", "board.yaml:4:12", "shots[0].steps: got 0; Input should be greater than or equal to 1"),
    ("defaults:\n  guidance: lots\nshots:\n" + GOOD_SHOT, "board.yaml:2:13", "defaults.guidance: got 'lots'; Input should be a valid number"),
    ("shots:\n  - id: a\n    prompt: a lake\n    transition: fade\n", "board.yaml:4:17", "shots[0].transition.type: got 'fade'; Input should be 'cut', 'crossfade', 'dip_to_black' or 'wipe'"),
    ("shots:\n  - id: a\n    prompt: a lake\n    camera: pan_rigth:0.5\n", "board.yaml:4:13", 'shots[0].camera: camera spec "pan_rigth:0.5": unknown preset "pan_rigth" at column 1; did you mean pan_right?'),
    ("shots:\n" + GOOD_SHOT + GOOD_SHOT, "board.yaml:4:9", "shots[1].id: 'a' is already the id of shots[0]; ids must be unique"),
    ("shots:\n  - id: a\n    prompt: a lake\n    prompt: a sea\n", "board.yaml:4:5", "duplicate key 'prompt' (first at line 3)"),
    ("shots:\n  - id: a\n    prompt: a lake\n    init_image: photos/missing.png\n", "board.yaml:4:17", "shots[0].init_image: file photos/missing.png does not exist"),
    ("shots:\n  - id: a\n    prompt: a lake\n    frames: 8\n    duration: 2\n", "board.yaml:5:5", "shots[0].duration: give duration or frames, not both"),
    ("shots:\n  - id: a\n", "board.yaml:2:5", "shots[0]: missing prompt"),
    ("shots:\n  - id: a\n    prompt: a lake\n    prompts: [{time: 0, prompt: a sea}]\n", "board.yaml:4:14", "give prompt or prompts"),
    ("shots:\n  - id: a\n    prompts: [{time: 0.5, prompt: a sea}]\n", "board.yaml:3:15", "the first prompt starts at frame 12; it must start at 0"),
    ("shots:\n  - id: a\n    prompts: [{frame: 0, prompt: a}, {frame: 2, prompt: b}]\n", "board.yaml:3:15", "fewer than the 12-frame prompt_blend"),
    ("shots:\n  - id: a\n    prompts: [{time: 0, frame: 0, prompt: a}]\n", "board.yaml:3:15", "give exactly one of time (seconds) or frame"),
    ("shots:\n" + GOOD_SHOT + "    transition: {type: crossfade, duration: 0.5}\n  - id: b\n    prompt: sea\n    frames: 2\n",
     "board.yaml:4:17", "shots[0].transition: the transitions overlap 12 frames of shot 'b', which has 2"),
    ("shots:\n" + GOOD_SHOT + "    transition: crossfade\n", "board.yaml:4:17", "the last shot has no next shot to crossfade into; use cut"),
    ("shots:\n" + GOOD_SHOT + "  - id: b\n    prompt: sea\n    fps: 12\n", "board.yaml:4:5", "shots[1]: fps 12 differs from shot 'a''s 24"),
    ("title: x\nsceens: []\n", "board.yaml:2:1", "sceens: unknown setting; allowed: version, title, defaults, shots"),
    ("shots: []\n", "board.yaml:1:8", "shots: got []; List should have at least 1 item"),
])
def test_bad_storyboards_name_file_line_column_and_setting(tmp_path, tiny_model_dir, text, where, message):
    path = tmp_path / "board.yaml"
    path.write_text(text)
    with pytest.raises(StoryboardError) as caught:
        Storyboard.from_yaml(path, overrides={"model": str(tiny_model_dir)})
    error = str(caught.value)
    assert "\n" not in error
    assert error.startswith(f"{tmp_path / where}: "), error
    assert message in error, error


def test_output_checks_come_before_any_render(tmp_path, tiny_model_dir, monkeypatch):
    board = Storyboard.from_yaml(write_board(tmp_path, tiny_model_dir, three_shots()))
    (tmp_path / "file").write_text("")
    with pytest.raises(StoryboardError, match="output: .*file is a file; give a folder"):
        board.render(tmp_path / "file")
    with pytest.raises(StoryboardError, match="only: no shot 'z' in .*; shots: a, b, c"):
        board.render(tmp_path / "out", only=["z"])
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(StoryboardError, match=f"output: folder {tmp_path} is not writable"):
        board.plan(tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_an_input_file_is_found_beside_the_storyboard_and_hashed_into_the_key(tmp_path, tiny_model_dir):
    image = np.full((SIZE, SIZE, 3), 90, np.uint8)
    save_png(image, tmp_path / "start.png")
    shots = [{"id": "a", "prompt": "a lake", "init_image": "start.png", "frames": 4}]
    first = Storyboard.from_yaml(write_board(tmp_path, tiny_model_dir, shots))
    assert first.shots[0].request.init_image == str((tmp_path / "start.png").resolve())
    assert first.shots[0].request.mode == "image_to_video"
    save_png(image // 2, tmp_path / "start.png")
    assert Storyboard.from_yaml(tmp_path / "board.yaml").shots[0].job.key != first.shots[0].job.key


# --------------------------------------------------------------------------------------- seeds, travel, camera


def test_seeds_derived_fixed_and_per_shot(tmp_path, tiny_model_dir):
    shots = [{"id": "a", "prompt": "x"}, {"id": "b", "prompt": "y"}, {"id": "c", "prompt": "z", "seed": 5}]
    derived = Storyboard.from_yaml(write_board(tmp_path, tiny_model_dir, shots, seed=9))
    assert [plan.seed for plan in derived.shots] == [derive_seed(9, "a"), derive_seed(9, "b"), 5]
    assert derive_seed(9, "a") != derive_seed(9, "b") and derive_seed(9, "a") != derive_seed(10, "a")
    reordered = Storyboard.from_yaml(write_board(tmp_path, tiny_model_dir, shots[::-1], seed=9))
    assert {plan.id: plan.seed for plan in reordered.shots} == {plan.id: plan.seed for plan in derived.shots}
    fixed = Storyboard.from_yaml(write_board(tmp_path, tiny_model_dir, shots, seed=9, seeds="fixed"))
    assert [plan.seed for plan in fixed.shots] == [9, 9, 5]


def test_shot_settings_override_defaults_and_look_prefixes_the_prompt(tmp_path, tiny_model_dir):
    shots = [{"id": "a", "prompt": "hills", "frames": 5, "look": "watercolor"}, {"id": "b", "prompt": "sea", "steps": 3}]
    board = Storyboard.from_yaml(write_board(tmp_path, tiny_model_dir, shots, duration=2))
    first, second = (plan.request for plan in board.shots)
    assert (first.frames, first.steps, first.prompt) == (5, 2, "a watercolor painting of hills")
    assert (second.frames, second.steps, second.fps) == (16, 3, "8")  # duration 2 s at 8 fps


def test_clip_input_shots_take_their_length_from_the_clip_not_the_board_defaults(tmp_path, tiny_model_dir):
    clip = tmp_path / "in.mp4"
    write_video(np.zeros((6, SIZE, SIZE, 3), np.uint8), clip, fps=8)
    shots = [{"id": "v", "prompt": "a lake", "mode": "video_to_video", "init_video": "in.mp4"},
             {"id": "t", "prompt": "hills"}]
    board = Storyboard.from_yaml(write_board(tmp_path, tiny_model_dir, shots, duration=2))
    video, text = (plan.request for plan in board.shots)
    assert (video.frames, text.frames) == (6, 16)  # the board's duration: 2 s at 8 fps
    shots[0]["frames"] = 10  # given on the shot itself, a different length is still refused
    with pytest.raises(StoryboardError, match="frames: mode video_to_video keeps the input's 6 frames"):
        Storyboard.from_yaml(write_board(tmp_path, tiny_model_dir, shots))


def test_travel_segments_overlap_by_the_blend_and_join_to_the_shot_length():
    ranges = travel_segments([0, 10, 25], 40, 6)
    assert ranges == [(0, 13), (7, 28), (22, 40)]
    assert sum(stop - start for start, stop in ranges) - 2 * 6 == 40


def test_camera_window_continues_the_shot_camera():
    path = cameras.parse_camera("pan_right:0.8+dolly_in:0.5@ease_in_out")
    whole = path.trajectory(30)
    window = cameras.parse_camera(camera_window(path, 30, 12, 22)).trajectory(10)
    expected = np.linalg.inv(whole.c2w[12]) @ whole.c2w[12:22]
    np.testing.assert_allclose(window.c2w, expected, atol=1e-5)
    np.testing.assert_allclose(window.focal, whole.focal[12:22] / whole.focal[12], atol=1e-5)
    assert camera_window(cameras.parse_camera("static"), 30, 0, 10) == "static"


def test_prompt_travel_shot_is_planned_as_crossfaded_segments(tmp_path, tiny_model_dir):
    shots = [{"id": "t", "duration": 3, "camera": "pan_left:0.5", "prompt_blend": 0.5,
              "prompts": [{"time": 0, "prompt": "hills at noon"}, {"frame": 12, "prompt": "hills at night"}]}]
    plan = Storyboard.from_yaml(write_board(tmp_path, tiny_model_dir, shots)).shots[0]
    assert [request.prompt for request in plan.job.requests] == ["hills at noon", "hills at night"]
    assert [request.frames for request in plan.job.requests] == [14, 14]  # 24 frames, 12 | 12, widened by the 4-frame blend
    assert plan.job.blend_frames == 4 and plan.prompts == ((0, "hills at noon"), (12, "hills at night"))
    assert all(request.seed == plan.seed for request in plan.job.requests)


# --------------------------------------------------------------------------------------------- rendering


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.stem)
def test_every_example_renders(example, tmp_path, tiny_model_dir):
    board = Storyboard.from_yaml(example, overrides={"model": str(tiny_model_dir), **FAST})
    events = []
    result = board.render(tmp_path, progress=events.append)
    film = probe(result.film)
    overlap = sum(plan.transition_frames for plan in board.shots)
    assert film.num_frames == sum(plan.frames for plan in board.shots) - overlap
    assert (film.width, film.height, film.fps) == (SIZE, SIZE, 8)
    assert {event.shot for event in events if event.status == "done"} == {plan.id for plan in board.shots}
    manifest = load_manifest(tmp_path)
    page = (tmp_path / "index.html").read_text()
    for plan, entry in zip(board.shots, manifest["shots"]):
        assert entry["status"] == "done" and entry["key"] == plan.job.key
        for output in entry["outputs"].values():
            assert (tmp_path / output["path"]).is_file()
        assert probe(tmp_path / entry["outputs"]["video"]["path"]).metadata["shot"] == plan.id
        assert f'id="{plan.id}"' in page and f"shots/{plan.stem}.gif" in page
    assert (tmp_path / "contact_sheet.png").is_file()


def test_a_changed_shot_renders_alone(tmp_path, tiny_model_dir):
    out = tmp_path / "out"
    shots = three_shots()
    first = Storyboard.from_yaml(write_board(tmp_path, tiny_model_dir, shots)).render(out)
    assert first.rendered == ["a", "b", "c"] and first.cached == []
    before = {path.name: path.stat().st_mtime_ns for path in (out / "shots").iterdir()}
    film_before = load_manifest(out)["film"]["sha256"]
    shots[1]["prompt"] = "hills at dusk"
    board = Storyboard.from_yaml(write_board(tmp_path, tiny_model_dir, shots))
    second = board.render(out)
    assert second.rendered == ["b"] and second.cached == ["a", "c"]
    after = {path.name: path.stat().st_mtime_ns for path in (out / "shots").iterdir()}
    unchanged = {name for name in before if not name.startswith("b-")}
    assert {name: after[name] for name in unchanged} == {name: before[name] for name in unchanged}
    assert sorted(name for name in after if name.startswith("b-")) == sorted(
        f"{board.shots[1].stem}{suffix}" for suffix in (".gif", ".mp4", ".mp4.json", ".png"))  # the old b is gone
    assert load_manifest(out)["film"]["sha256"] != film_before
    film_stat = (out / "film.mp4").stat()
    third = board.render(out)
    assert third.rendered == [] and (out / "film.mp4").stat().st_mtime_ns == film_stat.st_mtime_ns  # the film is cached too


def test_rerendering_a_shot_keeps_the_files_of_a_shot_whose_id_it_prefixes(tmp_path, tiny_model_dir):
    shots = [{"id": "a", "prompt": "hills"}, {"id": "a-1", "prompt": "sea"}]
    Storyboard.from_yaml(write_board(tmp_path, tiny_model_dir, shots)).render(tmp_path / "out")
    kept = sorted(path.name for path in (tmp_path / "out" / "shots").glob("a-1-*"))
    shots[0]["prompt"] = "dunes"
    assert Storyboard.from_yaml(write_board(tmp_path, tiny_model_dir, shots)).render(tmp_path / "out").rendered == ["a"]
    assert sorted(path.name for path in (tmp_path / "out" / "shots").glob("a-1-*")) == kept and len(kept) == 4


def test_a_failing_shot_does_not_stop_the_others(tmp_path, tiny_model_dir, monkeypatch):
    def generate_or_fail(request, progress=None):
        if request.prompt == "sea":
            raise RuntimeError("out of memory\nmore detail")
        return generate(request, progress)

    generate = videogen.executors.generate
    monkeypatch.setattr(videogen.executors, "generate", generate_or_fail)
    shots = [{"id": "a", "prompt": "hills"}, {"id": "b", "prompt": "sea"}, {"id": "c", "prompt": "dunes"}]
    result = runner.invoke(app, ["storyboard", str(write_board(tmp_path, tiny_model_dir, shots)), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "error: 1 of 3 shots failed: b: RuntimeError: out of memory" in result.output
    manifest = load_manifest(tmp_path / "out")
    assert [shot["status"] for shot in manifest["shots"]] == ["done", "failed", "done"] and manifest["film"] is None
    assert "RuntimeError: out of memory" in (tmp_path / "out" / "index.html").read_text()


def test_ray_executor_without_ray_is_a_usage_error(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(UsageError, match='executor: ray is not installed; install it with pip install "videogen\\[ray\\]"'):
        RayExecutor()


def test_only_renders_the_named_shots_and_the_film_waits_for_all(tmp_path, tiny_model_dir):
    board = Storyboard.from_yaml(write_board(tmp_path, tiny_model_dir, three_shots()))
    partial = board.render(tmp_path / "out", only=["b"])
    assert partial.rendered == ["b"] and partial.film is None
    assert [shot["status"] for shot in load_manifest(tmp_path / "out")["shots"]] == ["pending", "done", "pending"]
    assert "pending" in (tmp_path / "out" / "index.html").read_text()
    rest = board.render(tmp_path / "out")
    assert rest.rendered == ["a", "c"] and rest.cached == ["b"] and rest.film.is_file()


def test_killed_run_resumes_without_redoing_finished_shots(tmp_path, tiny_model_dir):
    shots = [{"id": f"s{index}", "prompt": f"rolling hills {index}"} for index in range(5)]
    board_path = write_board(tmp_path, tiny_model_dir, shots, size=DETERMINISTIC)
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    process = subprocess.Popen([sys.executable, "-m", "videogen.cli", "storyboard", board_path, "-o", killed],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not list(killed.glob("shots/*.mp4")):
            assert process.poll() is None, "the storyboard finished or failed before it could be killed"
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=120)
    finished = {path.name: path.stat() for path in killed.glob("shots/*.mp4")}
    assert 1 <= len(finished) < len(shots)
    for name in finished:
        assert probe(killed / "shots" / name).num_frames == 8  # complete files only: 1 s at 8 fps
    board = Storyboard.from_yaml(board_path)
    resumed = board.render(killed)
    assert sorted(resumed.cached) == sorted(name.split("-")[0] for name in finished)
    assert sorted(resumed.rendered + resumed.cached) == [shot["id"] for shot in shots]
    for name, stat in finished.items():  # the very same files, not rendered again
        assert ((killed / "shots" / name).stat().st_ino, (killed / "shots" / name).stat().st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)
    assert not [path for path in killed.rglob(".*") if path.is_file()]  # no temporaries left
    board.render(whole)
    assert without_run_facts(load_manifest(killed)) == without_run_facts(load_manifest(whole))


def test_prompt_travel_renders_one_clip_of_the_shot_length(tmp_path, tiny_model_dir):
    shots = [{"id": "t", "duration": 3, "camera": "pan_left:0.5",
              "prompts": [{"time": 0, "prompt": "hills at noon"}, {"time": 1.5, "prompt": "hills at night"}]}]
    board = Storyboard.from_yaml(write_board(tmp_path, tiny_model_dir, shots))
    steps = []
    board.render(tmp_path / "out", progress=lambda event: steps.append((event.done, event.total)) if event.status == "rendering" else None)
    frames, fps = read_video(tmp_path / "out" / "shots" / f"{board.shots[0].stem}.mp4")
    assert (len(frames), fps) == (24, 8)
    assert steps == [(1, 4), (2, 4), (3, 4), (4, 4)]  # two segments of two steps, one bar
    assert json.loads(probe(tmp_path / "out" / "film.mp4").metadata["shots"]) == ["t"]


# --------------------------------------------------------------------------------------------------- CLI


def test_cli_dry_run_prints_the_plan_and_renders_nothing(tmp_path, tiny_model_dir):
    board = write_board(tmp_path, tiny_model_dir, three_shots())
    result = runner.invoke(app, ["storyboard", str(board), "-o", str(tmp_path / "out"), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "3 of 3 shots to render, 96 denoiser frame evaluations" in result.output  # 3 x 8 keyframes x 2 steps x 2 (guidance)
    assert "pan_right:0.4" in result.output and not (tmp_path / "out").exists()


def test_cli_bad_storyboard_exits_2_with_one_line(tmp_path, tiny_model_dir):
    board = write_board(tmp_path, tiny_model_dir, [{"id": "a", "prompt": "x", "stpes": 3}])
    result = runner.invoke(app, ["storyboard", str(board), "-o", str(tmp_path / "out")])
    line = board.read_text().splitlines().index("  stpes: 3") + 1
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {board}:{line}:3: shots[0].stpes: unknown setting; did you mean steps? allowed: " + \
        ", ".join(Shot.model_fields)
    result = runner.invoke(app, ["storyboard", str(board), "-o", str(tmp_path / "out"), "--executor", "slurm"])
    assert result.exit_code == 2 and "--executor: got 'slurm'; use local or ray" in result.output


def test_cli_renders_only_the_named_shots(tmp_path, tiny_model_dir):
    board = write_board(tmp_path, tiny_model_dir, three_shots())
    result = runner.invoke(app, ["storyboard", str(board), "-o", str(tmp_path / "out"), "--only", "a,c"])
    assert result.exit_code == 0, result.output
    assert "film not assembled (shots missing)" in result.output and "2 shots rendered, 0 cached" in result.output
