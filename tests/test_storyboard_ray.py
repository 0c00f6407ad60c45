"""The Ray executor on a local Ray: the same manifest as the local executor, and a killed worker's shot is retried."""

from __future__ import annotations

import os
import signal

import pytest

from test_storyboard import DETERMINISTIC, load_manifest, three_shots, without_run_facts, write_board
from videogen import Storyboard
from videogen.executors import LocalExecutor, RayExecutor

ray = pytest.importorskip("ray", reason="the Ray executor is the optional extra videogen[ray]")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, logging_level="error", log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_matches_local_and_survives_a_killed_worker(local_ray, tmp_path, tiny_model_dir):
    shots = three_shots()
    shots[1]["steps"] = 15  # b renders long enough to be killed mid-shot
    board = Storyboard.from_yaml(write_board(tmp_path, tiny_model_dir, shots, size=DETERMINISTIC))
    board.render(tmp_path / "local", executor=LocalExecutor())
    events, killed = [], []

    def kill_first_worker_of_b(event):
        events.append(event)
        if event.shot == "b" and event.status == "rendering" and not killed:
            killed.append(event.worker)
            os.kill(int(event.worker.rsplit(":", 1)[1]), signal.SIGKILL)

    result = board.render(tmp_path / "ray", progress=kill_first_worker_of_b, executor=RayExecutor(retries=2))
    assert killed and [event.shot for event in events if event.status == "retrying"] == ["b"]
    assert sorted(result.rendered) == ["a", "b", "c"] and result.film.is_file()
    manifest = load_manifest(tmp_path / "ray")
    assert {shot["render"]["executor"] for shot in manifest["shots"]} == {"ray"}
    assert next(shot for shot in manifest["shots"] if shot["id"] == "b")["render"]["worker"] != killed[0]
    assert without_run_facts(manifest) == without_run_facts(load_manifest(tmp_path / "local"))
