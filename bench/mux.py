"""Encode throughput of our muxer vs diffusers.utils.export_to_video on the same frames, in one run.

    python bench/mux.py [--frames 96] [--size 512x512] [--repeats 3]

Both write H.264 MP4; we time the median of the repeats and report frames per second, the ratio, and the
file size and PSNR of what each wrote (speed alone would reward lower quality).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from diffusers.utils import export_to_video

from postprocess.frames import to_uint8
from postprocess.mux import write_video
from postprocess.read import probe, read_video


def test_frames(num_frames: int, width: int, height: int) -> np.ndarray:
    """Moving gradients and a square: content a codec has to work for, deterministic."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    frames = np.empty((num_frames, height, width, 3), np.float32)
    for index in range(num_frames):
        frames[index, ..., 0] = 0.5 + 0.5 * np.sin((xs + 4 * index) / 23)
        frames[index, ..., 1] = 0.5 + 0.5 * np.cos((ys - 3 * index) / 31)
        frames[index, ..., 2] = (xs + ys) / (width + height)
        frames[index, 40:120, 20 + 5 * index : 100 + 5 * index] = 0.9
    return frames


def psnr(reference: np.ndarray, decoded: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB over the whole clip (8-bit)."""
    error = np.mean((reference.astype(np.float64) - decoded.astype(np.float64)) ** 2)
    return float(10 * np.log10(255**2 / error))


def median_seconds(write, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        write()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=96)
    parser.add_argument("--size", default="512x512")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    width, height = (int(part) for part in args.size.split("x"))
    frames = test_frames(args.frames, width, height)
    folder = Path(tempfile.mkdtemp())
    ours = median_seconds(lambda: write_video(frames, folder / "ours.mp4", fps=24, overwrite=True), args.repeats)
    peer = median_seconds(lambda: export_to_video(list(frames), str(folder / "peer.mp4"), fps=24), args.repeats)
    print("| writer | frames/s | file | PSNR |\n|---|---|---|---|")
    for label, name, seconds in (("videogen write_video", "ours.mp4", ours), ("diffusers export_to_video", "peer.mp4", peer)):
        info = probe(folder / name)
        assert (info.codec, info.num_frames) == ("h264", args.frames)
        quality = psnr(to_uint8(frames), read_video(folder / name)[0])
        print(f"| {label} | {args.frames / seconds:.1f} | {(folder / name).stat().st_size / 1e3:.0f} kB | {quality:.1f} dB |")
    print(f"ratio (ours / peer throughput): {peer / ours:.2f}x")


if __name__ == "__main__":
    main()
