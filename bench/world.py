"""Render speed of the procedural world vs reading the same clips back from disk, in one run.

    python bench/world.py [--clips 40] [--frames 16] [--size 128]

The world is a training-data source, so its peer is the stored dataset it replaces: the same clips
written once as H.264 MP4 (our muxer) and decoded with PyAV (postprocess.read.read_video), and as raw
uint8 .npy files. Everything runs on one thread; we report the median seconds per clip and the ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from postprocess.frames import to_uint8
from postprocess.mux import write_video
from postprocess.read import read_video
from videogen.world import render_clip, sample_scene


def median_seconds(run, items) -> float:
    """Median wall time of run(item) over the items."""
    times = []
    for item in items:
        started = time.perf_counter()
        run(item)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", type=int, default=40)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", type=int, default=128)
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    scenes = [sample_scene(rng, split="train") for _ in range(args.clips)]
    folder = Path(tempfile.mkdtemp())
    render = lambda scene: render_clip(scene, args.frames, args.size, args.size)
    ours = median_seconds(render, scenes)
    for index, scene in enumerate(scenes):  # the stored dataset the peers read
        clip = to_uint8(render(scene))
        write_video(clip, folder / f"{index}.mp4", fps=8)
        np.save(folder / f"{index}.npy", clip)
    decode = median_seconds(lambda index: read_video(folder / f"{index}.mp4"), range(args.clips))
    load = median_seconds(lambda index: np.load(folder / f"{index}.npy"), range(args.clips))
    print(f"{args.clips} clips of {args.frames} frames at {args.size}x{args.size}, one thread "
          f"(OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}), load average {os.getloadavg()[0]:.1f}")
    print("| source | ms per clip | clips/s |\n|---|---|---|")
    for label, seconds in (("videogen.world render_clip", ours), ("PyAV decode of the H.264 MP4", decode),
                           ("np.load of the uint8 .npy", load)):
        print(f"| {label} | {1000 * seconds:.1f} | {1 / seconds:.1f} |")
    print(f"ratio (render / MP4 decode time): {ours / decode:.2f}x; (render / .npy load time): {ours / load:.1f}x")


if __name__ == "__main__":
    main()
