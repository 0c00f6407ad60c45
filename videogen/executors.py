"""Executors: render storyboard shots in this process, in a pool of local processes, or as Ray tasks.

Every executor runs `render_shot` on ShotJobs and yields each shot's files as bytes (or a ShotFailure), so
only the caller writes the output folder: the outputs are the same whichever executor made them, and a Ray
cluster needs no shared disk.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import importlib.util
import math
import multiprocessing
import os
import queue
import socket
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from postprocess.mux import write_video
from postprocess.preview import save_png, write_gif_preview
from postprocess.tools import concat, transition
from videogen.api import generate, reading_of
from videogen.errors import UsageError
from videogen.models.registry import load_pipeline
from videogen.request import Request

GIF_PREVIEW_FRAMES = 48  # longer shots are subsampled in their GIF preview


@dataclass(frozen=True)
class ShotJob:
    """What a worker needs to render one shot: a Request per prompt segment, their crossfade, the file metadata."""

    shot: str
    key: str
    requests: tuple[Request, ...]
    blend_frames: int
    metadata: dict
    # Worker processes start with other thread counts (Ray sets one); CPU float sums, and so the frames, depend
    # on it, so workers use the driver's count and every executor renders the same bytes on one machine.
    torch_threads: int = field(default_factory=torch.get_num_threads)


@dataclass(frozen=True)
class RenderedShot:
    """A rendered shot's files by suffix (.mp4, .mp4.json sidecar, .png poster, .gif preview) and how it was made."""

    shot: str
    key: str
    files: dict[str, bytes]
    seconds: float
    device: str
    worker: str


@dataclass(frozen=True)
class ShotFailure:
    """A shot that raised (or whose worker died more often than the retries allow)."""

    shot: str
    key: str
    error: str


@dataclass(frozen=True)
class ShotEvent:
    """Progress of one shot: queued, cached, rendering (denoising steps done of total), retrying, done or failed."""

    shot: str
    status: str
    done: int = 0
    total: int = 0
    worker: str = ""
    message: str = ""


Report = Callable[[ShotEvent], None]


def worker_name() -> str:
    """host:pid of the process rendering a shot."""
    return f"{socket.gethostname()}:{os.getpid()}"


def join_clips(clips: list[np.ndarray], joins: list[tuple[str, int]]) -> np.ndarray:
    """Clips in order, each pair joined by (kind, frames): a postprocess transition over that many overlapping
    frames, or a cut (kind "cut" or 0 frames)."""
    joined = clips[0]
    for clip, (kind, frames) in zip(clips[1:], joins):
        joined = transition(joined, clip, kind, frames) if kind != "cut" and frames else concat([joined, clip])
    return joined


def render_shot(job: ShotJob, progress: Callable[[int, int], None] | None = None, device: str | None = None) -> RenderedShot:
    """Render a shot's segments, join them, and encode the clip with its poster frame and GIF preview.

    device overrides the Requests' device (a Ray worker given a GPU); progress gets (steps done, steps in all).
    """
    started = time.perf_counter()
    requests = [request.model_copy(update={"device": device}) if device else request for request in job.requests]
    clips = []
    for index, request in enumerate(requests):
        load_pipeline(request.model, request.device).set_progress_bar_config(disable=True)  # our events replace tqdm
        # Prompt-travel segments share their step count: segment i of n reports i + done/total of n.
        report = (lambda done, total, before=index: progress(before * total + done, len(requests) * total)) if progress else None
        frames, fps = generate(request, report)
        clips.append(frames)
    frames = join_clips(clips, [("crossfade", job.blend_frames)] * (len(clips) - 1))
    every = math.ceil(len(frames) / GIF_PREVIEW_FRAMES)
    with tempfile.TemporaryDirectory() as folder:
        stem = Path(folder) / "shot"
        write_video(frames, stem.with_suffix(".mp4"), fps, metadata=job.metadata | reading_of(requests))
        save_png(frames[len(frames) // 2], stem.with_suffix(".png"))
        write_gif_preview(frames[::every], stem.with_suffix(".gif"), float(fps) / every)
        files = {path.name.removeprefix("shot"): path.read_bytes() for path in Path(folder).iterdir()}
    return RenderedShot(job.shot, job.key, files, time.perf_counter() - started, requests[0].device, worker_name())


def _render_reporting(job: ShotJob, progress_queue, device: str | None = None) -> RenderedShot:
    """render_shot in a worker, its step progress put on a queue the driver drains."""
    torch.set_num_threads(job.torch_threads)
    worker = worker_name()
    return render_shot(job, lambda done, total: progress_queue.put_nowait((job.shot, done, total, worker)), device)


def _drain(progress_queue) -> list[ShotEvent]:
    """The progress messages waiting on the queue, as events."""
    events = []
    while True:
        try:
            shot, done, total, worker = progress_queue.get_nowait()
        except queue.Empty:  # Ray's queue raises a subclass of it
            return events
        events.append(ShotEvent(shot, "rendering", done, total, worker))


def _one_line(error: BaseException) -> str:
    """'Type: first line of the message', of the task's own exception where Ray wraps it (RayTaskError.cause)."""
    error = getattr(error, "cause", None) or error
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")


def drive(
    jobs: Iterable[ShotJob],
    submit: Callable[[ShotJob], concurrent.futures.Future],
    progress_queue,
    report: Report,
    worker_lost: Callable[[BaseException], bool] = lambda error: False,
    retries: int = 0,
) -> Iterator[RenderedShot | ShotFailure]:
    """Submit every job, stream progress from the queue, and yield shots as they finish; a shot whose worker
    was lost is submitted again, up to `retries` times."""
    pending = {}
    for job in jobs:
        pending[submit(job)] = (job, 0)
        report(ShotEvent(job.shot, "queued"))
    while pending:
        finished, _ = concurrent.futures.wait(pending, timeout=0.2, return_when=concurrent.futures.FIRST_COMPLETED)
        for event in _drain(progress_queue):
            report(event)
        for future in finished:
            job, attempt = pending.pop(future)
            try:
                rendered = future.result()
            except Exception as error:  # noqa: BLE001 -- a shot's failure, whatever it is, must not stop the others
                if worker_lost(error) and attempt < retries:
                    report(ShotEvent(job.shot, "retrying", message=f"worker lost ({_one_line(error)}); attempt {attempt + 2}"))
                    pending[submit(job)] = (job, attempt + 1)
                    continue
                report(ShotEvent(job.shot, "failed", message=_one_line(error)))
                yield ShotFailure(job.shot, job.key, _one_line(error))
                continue
            report(ShotEvent(job.shot, "done", worker=rendered.worker, message=f"{rendered.seconds:.1f} s"))
            yield rendered


class LocalExecutor:
    """Shots on this machine: one at a time in this process (jobs=1; models stay loaded between shots), or
    `jobs` at a time in worker processes (each loads the model once)."""

    name = "local"

    def __init__(self, jobs: int = 1):
        if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
            raise UsageError(f"jobs: got {jobs!r}; must be a whole number >= 1")
        self.jobs = jobs

    def run(self, jobs: list[ShotJob], report: Report) -> Iterator[RenderedShot | ShotFailure]:
        with contextlib.ExitStack() as stack:
            if self.jobs == 1:  # a thread, so the pipeline cache of this process is reused
                progress_queue, pool = queue.Queue(), concurrent.futures.ThreadPoolExecutor(1)
            else:
                context = multiprocessing.get_context("spawn")  # fork would copy torch's thread pools
                progress_queue = stack.enter_context(context.Manager()).Queue()
                pool = concurrent.futures.ProcessPoolExecutor(self.jobs, mp_context=context)
            stack.enter_context(pool)
            yield from drive(jobs, lambda job: pool.submit(_render_reporting, job, progress_queue), progress_queue, report)


class RayExecutor:
    """Each shot a Ray task (one GPU each when the cluster has GPUs, rendering on cuda); progress streams back
    through a Ray queue, and a shot whose worker or node died is submitted again, up to `retries` times.

    address: None starts a local Ray (or uses the one this process already started), "auto" or HOST:PORT joins
    a running cluster.
    """

    name = "ray"

    def __init__(self, address: str | None = None, retries: int = 2):
        if importlib.util.find_spec("ray") is None:  # found before any shot renders
            raise UsageError('executor: ray is not installed; install it with pip install "videogen[ray]"')
        self.address, self.retries = address, retries

    def run(self, jobs: list[ShotJob], report: Report) -> Iterator[RenderedShot | ShotFailure]:
        import ray
        from ray.util.queue import Queue

        started_here = not ray.is_initialized()
        if started_here:
            try:
                ray.init(address=self.address, logging_level="error", log_to_driver=False)
            except ConnectionError as error:
                raise UsageError(f"address: cannot reach a Ray cluster at {self.address!r} ({error})") from None
        try:
            gpus = ray.cluster_resources().get("GPU", 0) >= 1
            task = ray.remote(num_gpus=1 if gpus else 0, max_retries=0)(_render_reporting)
            progress_queue = Queue()

            def submit(job: ShotJob) -> concurrent.futures.Future:
                return task.remote(job, progress_queue, "cuda" if gpus else None).future()

            lost = (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError, ray.exceptions.LocalRayletDiedError)
            yield from drive(jobs, submit, progress_queue, report, lambda error: isinstance(error, lost), self.retries)
        finally:
            if started_here:
                ray.shutdown()
