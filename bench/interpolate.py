"""Frame interpolation benchmark: drop frames from real-image clips and rebuild them.

Clips are camera moves (pan, zoom, roll) and moving cut-outs composed over scikit-image's bundled photographs,
and clips of the project's procedural world (videogen.world, scenes and looks drawn at random) through their own
camera moves.
Every `factor`-th frame is kept; the rest are rebuilt by postprocess.interpolate, by ffmpeg's minterpolate
(mi_mode=mci, mc_mode=aobmc, me_mode=bidir, vsbmc=1) and by plain blending, and scored against the dropped
originals with PSNR and SSIM. Time is wall time per rebuilt frame, the median of `--repeats` runs in which the
methods take turns; CPU time (this process plus ffmpeg's) is summed too, as it is steadier on a busy machine.

    python bench/interpolate.py --factors 2 4 --repeats 3 --world 4
"""

from __future__ import annotations

import argparse
import platform
import resource
import subprocess
import time
from collections.abc import Callable

import cv2
import imageio_ffmpeg
import numpy as np
from skimage import data
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from postprocess.interpolate import interpolate_factor

WIDTH, HEIGHT, FRAMES = 480, 320, 25


def _camera(photo: np.ndarray, pose: Callable[[float], tuple[float, float, float, float]]) -> np.ndarray:
    """(FRAMES, HEIGHT, WIDTH, 3) clip of a camera over `photo`; pose(s) gives (dx, dy, zoom, degrees) for s in [0, 1]."""
    centre = (photo.shape[1] / 2, photo.shape[0] / 2)
    frames = []
    for s in np.linspace(0, 1, FRAMES):
        dx, dy, zoom, degrees = pose(s)
        matrix = cv2.getRotationMatrix2D((centre[0] + dx, centre[1] + dy), degrees, zoom)
        matrix[:, 2] += (WIDTH / 2 - centre[0] - dx, HEIGHT / 2 - centre[1] - dy)  # look at centre + (dx, dy)
        frames.append(cv2.warpAffine(photo, matrix, (WIDTH, HEIGHT), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT))
    return np.stack(frames)


def _cutout(image: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """A sprite resized to width x height and a soft elliptical alpha mask for it."""
    sprite = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA).astype(np.float32)
    mask = np.zeros((height, width), np.float32)
    cv2.ellipse(mask, (width // 2, height // 2), (width // 2 - 2, height // 2 - 2), 0, 0, 360, 1.0, -1, cv2.LINE_AA)
    return sprite, cv2.GaussianBlur(mask, (3, 3), 0)


def _composite(background: np.ndarray, sprites, paths) -> np.ndarray:
    """Paste sprites over each background frame at sub-pixel positions paths[i](s) (painter's order)."""
    frames = background.astype(np.float32)
    for index, s in enumerate(np.linspace(0, 1, FRAMES)):
        for (sprite, mask), path in zip(sprites, paths):
            x, y = path(s)
            shift = np.float32([[1, 0, x], [0, 1, y]])
            layer = cv2.warpAffine(sprite, shift, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR)
            alpha = cv2.warpAffine(mask, shift, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR)[..., None]
            frames[index] = alpha * layer + (1 - alpha) * frames[index]
    return np.clip(frames + 0.5, 0, 255).astype(np.uint8)


def _rgb(image: np.ndarray) -> np.ndarray:
    return np.repeat(image[..., None], 3, axis=-1) if image.ndim == 2 else image[..., :3]


def scenes() -> dict[str, np.ndarray]:
    """The benchmark clips, each (FRAMES, HEIGHT, WIDTH, 3) uint8."""
    cat, rocket, coins = _cutout(data.chelsea(), 150, 110), _cutout(data.rocket(), 120, 90), _cutout(_rgb(data.coins()), 110, 90)
    return {
        "pan (motorcycle)": _camera(data.stereo_motorcycle()[0], lambda s: (-110 + 220 * s, -30 + 50 * s**2, 1, 0)),
        "zoom in (astronaut)": _camera(data.astronaut(), lambda s: (0, -40 * s, 1 + 0.6 * s, 0)),
        "roll and zoom (coffee)": _camera(data.coffee(), lambda s: (20 * s, 0, 1.0 + 0.15 * s, 14 * s)),
        "cut-outs over a still (astronaut)": _composite(
            _camera(data.astronaut(), lambda s: (0, 0, 1, 0)), [rocket, cat],
            [lambda s: (330 - 180 * s, 200 - 120 * s), lambda s: (-20 + 250 * s, 60 + 60 * np.sin(np.pi * s))],
        ),
        "cut-out over a pan (rocket)": _composite(
            _camera(data.rocket(), lambda s: (-60 + 100 * s, 0, 1.1, 0)), [coins],
            [lambda s: (360 - 260 * s, 40 + 150 * s)],
        ),
    }


def world_clips(count: int, seed: int = 7) -> dict[str, np.ndarray]:
    """`count` random scenes of the procedural world, rendered at the benchmark size through their own cameras."""
    from videogen.world.render import render_clip
    from videogen.world.scene import sample_scene

    rng = np.random.default_rng(seed)
    clips = {}
    for _ in range(count):
        scene = sample_scene(rng)
        frames = render_clip(scene, FRAMES, WIDTH, HEIGHT)
        clips[f"world: {scene.terrain}, {scene.look}, {scene.camera}"] = (np.clip(frames, 0, 1) * 255 + 0.5).astype(np.uint8)
    return clips


def minterpolate(kept: np.ndarray, factor: int) -> np.ndarray:
    """ffmpeg's motion-compensated interpolation to `factor` times the rate; (len-1)*factor+1 frames."""
    height, width = kept.shape[1:3]
    # minterpolate stops before the last input's interval: feed the last frame twice more, keep what aligns.
    padded = np.concatenate([kept, kept[-1:], kept[-1:]])
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
        "-s", f"{width}x{height}", "-r", "10", "-i", "-", "-vf",
        f"format=yuv444p,minterpolate=fps={10 * factor}:mi_mode=mci:mc_mode=aobmc:me_mode=bidir:vsbmc=1,format=rgb24",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-",
    ]
    output = subprocess.run(command, input=padded.tobytes(), capture_output=True, check=True).stdout
    return np.frombuffer(output, np.uint8).reshape(-1, height, width, 3)[: (len(kept) - 1) * factor + 1]


def blend(kept: np.ndarray, factor: int) -> np.ndarray:
    """Plain linear crossfade between neighbouring kept frames."""
    weights = (np.arange(factor) / factor)[:, None, None, None]
    pairs = [(1 - weights) * a + weights * b for a, b in zip(kept[:-1].astype(np.float32), kept[1:].astype(np.float32))]
    return np.concatenate([np.concatenate(pairs), kept[-1:].astype(np.float32)]).round().astype(np.uint8)


METHODS = {"ours (DIS flow)": interpolate_factor, "ffmpeg minterpolate": minterpolate, "blend": blend}


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (ffmpeg), user plus system."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def score(clip: np.ndarray, factor: int, repeats: int) -> dict[str, tuple[float, float, float, float]]:
    """{method: (mean PSNR dB, mean SSIM, wall ms, CPU ms per rebuilt frame)} over the dropped frames of one clip;
    the methods take turns within each repeat, so a busy machine slows them alike."""
    clip = clip[: (len(clip) - 1) // factor * factor + 1]
    kept = clip[::factor]
    dropped = [i for i in range(len(clip)) if i % factor]
    timings, cpu, rebuilt = {name: [] for name in METHODS}, {name: [] for name in METHODS}, {}
    for _ in range(repeats):
        for name, method in METHODS.items():
            start, start_cpu = time.perf_counter(), _cpu_seconds()
            rebuilt[name] = method(kept, factor)
            timings[name].append(time.perf_counter() - start)
            cpu[name].append(_cpu_seconds() - start_cpu)
    results = {}
    for name, frames in rebuilt.items():
        assert frames.shape == clip.shape, (name, frames.shape, clip.shape)
        psnr = np.mean([peak_signal_noise_ratio(clip[i], frames[i], data_range=255) for i in dropped])
        ssim = np.mean([structural_similarity(clip[i], frames[i], channel_axis=-1, data_range=255) for i in dropped])
        per_frame = [1000 * float(np.median(values)) / len(dropped) for values in (timings[name], cpu[name])]
        results[name] = (float(psnr), float(ssim), *per_frame)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factors", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--world", type=int, default=3, help="how many procedural-world clips to add (0: none)")
    args = parser.parse_args()
    cv2.setNumThreads(2)
    clips = scenes() | (world_clips(args.world) if args.world else {})
    print(f"{platform.processor() or platform.machine()}, {cv2.getNumberOfCPUs()} CPUs, OpenCV {cv2.__version__}, "
          f"{WIDTH}x{HEIGHT}, {FRAMES} frames a clip, median of {args.repeats} runs\n")
    print("| factor | clip | " + " | ".join(f"{name} PSNR / SSIM / ms" for name in METHODS) + " |")
    print("|---|---|" + "---|" * len(METHODS))
    totals = {name: [] for name in METHODS}
    for factor in args.factors:
        for clip_name, clip in clips.items():
            results = score(clip, factor, args.repeats)
            for name, result in results.items():
                totals[name].append(result)
            row = " | ".join(f"{psnr:.2f} / {ssim:.3f} / {ms:.1f}" for psnr, ssim, ms, _ in results.values())
            print(f"| {factor} | {clip_name} | {row} |", flush=True)
    means = {name: np.mean(values, axis=0) for name, values in totals.items()}
    print("| all | mean | " + " | ".join(f"**{m[0]:.2f} / {m[1]:.3f} / {m[2]:.1f}**" for m in means.values()) + " |")
    ours, peer = means["ours (DIS flow)"], means["ffmpeg minterpolate"]
    print(f"\nours vs minterpolate: {ours[0] - peer[0]:+.2f} dB PSNR, {ours[1] - peer[1]:+.3f} SSIM, "
          f"{peer[2] / ours[2]:.1f}x faster in wall time ({ours[2]:.1f} vs {peer[2]:.1f} ms a frame), "
          f"{peer[3] / ours[3]:.1f}x in CPU time ({ours[3]:.1f} vs {peer[3]:.1f} ms a frame)")


if __name__ == "__main__":
    main()
