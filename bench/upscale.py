"""Upscaling benchmark: real images downscaled (area filter) and restored by bicubic, Lanczos and the learned x2
network (applied twice for x4); PSNR / SSIM against the originals, ms per frame, and temporal stability as the
warping error on a sub-pixel camera pan (mean |O[t+1] - warp(O[t])| with the true motion; lower is steadier).
The learned method stabilises clips by default (motion-compensated detail averaging); "frame by frame" is without.

    python bench/upscale.py --world 3
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np
from skimage import data
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from postprocess.upscale import upscale

METHODS = ("bicubic", "lanczos", "learned")
# Held out of the network's training set (postprocess/train_superres.py).
PHOTOS = {
    "astronaut": data.astronaut,
    "chelsea": data.chelsea,
    "coffee": data.coffee,
    "rocket": data.rocket,
    "motorcycle": lambda: data.stereo_motorcycle()[0],
}


def world_images(count: int, seed: int = 11) -> dict[str, np.ndarray]:
    """Frames of held-out procedural-world scenes at 512x320."""
    from videogen.world.render import render_clip
    from videogen.world.scene import sample_scene

    rng = np.random.default_rng(seed)
    images = {}
    for _ in range(count):
        scene = sample_scene(rng, split="heldout")
        frame = render_clip(scene, 1, 512, 320)[0]
        images[f"world: {scene.terrain}, {scene.look}"] = (np.clip(frame, 0, 1) * 255 + 0.5).astype(np.uint8)
    return images


def restore_scores(image: np.ndarray, scale: int) -> dict[str, tuple[float, float, float]]:
    """{method: (PSNR, SSIM, ms)} for one image downscaled by `scale` and restored, borders of 2*scale px ignored."""
    height, width = (np.array(image.shape[:2]) // scale) * scale
    truth = image[:height, :width]
    low = cv2.resize(truth, (width // scale, height // scale), interpolation=cv2.INTER_AREA)
    border = 2 * scale
    scores = {}
    for method in METHODS:
        start = time.perf_counter()
        restored = upscale(low[None], scale, method)[0]
        elapsed = 1000 * (time.perf_counter() - start)
        inner = (slice(border, -border), slice(border, -border))
        scores[method] = (
            peak_signal_noise_ratio(truth[inner], restored[inner], data_range=255),
            structural_similarity(truth[inner], restored[inner], channel_axis=-1, data_range=255),
            elapsed,
        )
    return scores


def pan_stability(scale: int = 2, frames: int = 10, step: float = 0.7) -> dict[str, tuple[float, float | None]]:
    """{method: (warping error, PSNR)} on a pan of `step` px per frame over the astronaut, downscaled and restored;
    the warping error is mean |O[t+1] - warp(O[t])| with the true motion (0-255 scale; lower is steadier)."""
    photo = data.astronaut()
    size = (384, 256)
    pans = [np.float32([[1, 0, -i * step - 64], [0, 1, -128]]) for i in range(frames)]
    truth = np.stack([cv2.warpAffine(photo, pan, size, flags=cv2.INTER_CUBIC) for pan in pans])
    low = np.stack([cv2.resize(frame, (size[0] // scale, size[1] // scale), interpolation=cv2.INTER_AREA) for frame in truth])
    outputs = {"truth": truth} | {method: upscale(low, scale, method) for method in METHODS}
    outputs["learned, frame by frame"] = upscale(low, scale, "learned", stabilise=0)
    results = {}
    for name, clip in outputs.items():
        clip = clip.astype(np.float32)
        moved = np.stack([cv2.warpAffine(frame, np.float32([[1, 0, -step], [0, 1, 0]]), size, flags=cv2.INTER_CUBIC) for frame in clip[:-1]])
        inner = (slice(None), slice(16, -16), slice(16, -16))
        error = float(np.abs(clip[1:] - moved)[inner].mean())
        restored = clip.round().astype(np.uint8)[inner]
        results[name] = (error, None if name == "truth" else peak_signal_noise_ratio(truth[inner], restored, data_range=255))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", type=int, default=3, help="how many procedural-world frames to add (0: none)")
    args = parser.parse_args()
    images = {name: load() for name, load in PHOTOS.items()} | (world_images(args.world) if args.world else {})
    upscale(np.zeros((1, 8, 8, 3), np.uint8), 2, "learned")  # load the network before timing
    print("| scale | image | " + " | ".join(f"{method} PSNR / SSIM / ms" for method in METHODS) + " |")
    print("|---|---|" + "---|" * len(METHODS))
    for scale in (2, 4):
        rows = []
        for name, image in images.items():
            scores = restore_scores(image, scale)
            rows.append([scores[method] for method in METHODS])
            print(f"| x{scale} | {name} | " + " | ".join(f"{p:.2f} / {s:.3f} / {ms:.0f}" for p, s, ms in rows[-1]) + " |", flush=True)
        means = np.mean(rows, axis=0)
        print(f"| x{scale} | **mean** | " + " | ".join(f"**{p:.2f} / {s:.3f} / {ms:.0f}**" for p, s, ms in means) + " |")
    print("\n| x2 on a 0.7 px/frame pan | warping error (lower is steadier) | PSNR |\n|---|---|---|")
    for name, (error, psnr) in pan_stability().items():
        print(f"| {name} | {error:.2f} | {'-' if psnr is None else f'{psnr:.2f}'} |")


if __name__ == "__main__":
    main()
