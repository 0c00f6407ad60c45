"""The modes with a real model: a README gallery row per mode, made by the commands shown beside it, and the
mode numbers for the model card.

    python bench/modes.py out/modes [--model builtin:landscapes] [--steps 25] [--seeds 8]

Writes OUT/gallery.md (mode | input | mask | output | command; clips shown as GIF previews) and
OUT/modes.json + OUT/modes.md:
- inpainting seam quality, in the gradient domain: Sobel gradient energy on the mask's edge over the energy
  4-8 pixels away on both sides (1 = no seam; a visible seam raises it), for our feathered paste, for a hard
  paste of the same generation, and for the untouched source (the ratio natural texture gives);
- image-to-video temporal consistency: flow warping error and VBench temporal flickering
  (videogen.eval.metrics) of image_to_video clips beside text-to-video clips of the same prompts and seeds.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
from pathlib import Path

import cv2
import numpy as np

from postprocess.preview import save_png, write_gif_preview
from postprocess.read import read_video
from videogen import conditioning as modes
from videogen.cli import app
from videogen.eval.metrics import flow_warping_error, temporal_flickering
from videogen.inputs import draw_mask_shape, load_image
from videogen.models.registry import load_pipeline

PROMPTS = (
    "sunset over a mountain lake, golden hour",
    "snowy peaks above a frozen lake at noon",
    "rolling green hills with a forest under a cloudy sky",
    "a desert canyon at dusk",
)


def gallery_rows(size: int) -> list[tuple[str, str, str | None, str | None]]:
    """(mode, command after `videogen`, input shown, mask spec shown) for a model of `size` pixels, run in order."""
    ellipse = f"ellipse:{size // 2},{size * 2 // 3},{size * 5 // 16},{size // 6}"
    clip = "--frames 16 --keyframes 8 --fps 8"
    return [
        ("text_to_image", f'image "{PROMPTS[0]}" -o source.png --seed 1', None, None),
        ("image_to_image", 'image "(snowy:1.4) mountain lake in winter" --image source.png --strength 0.6 -o image_to_image.png', "source.png", None),
        ("inpaint", f'image "a pine forest on the shore" --image source.png --mask {ellipse} -o inpaint.png', "source.png", ellipse),
        ("outpaint", f'image "{PROMPTS[0]}, wide view" --image source.png --outpaint 16:9 -o outpaint.png', "source.png", None),
        ("upscale", f'image "{PROMPTS[0]}" --image source.png --mode upscale --upscale 2 -o upscale.png', "source.png", None),
        ("image_to_video", f'render "{PROMPTS[0]}, camera pans right" --image source.png --camera pan_right:0.4 {clip} -o image_to_video.mp4', "source.png", None),
        ("keyframes", f'render "mountain lake from summer to winter" --image source.png --end-image image_to_image.png {clip} -o keyframes.mp4', "source.png", None),
        ("video_to_video", 'render "(snowy:1.4) mountain lake in winter" --video image_to_video.mp4 --strength 0.5 -o video_to_video.mp4', "image_to_video.mp4", None),
        ("video_inpaint", f'render "a pine forest on the shore" --video image_to_video.mp4 --mask {ellipse} -o video_inpaint.mp4', "image_to_video.mp4", ellipse),
        ("expand_video", f'render "{PROMPTS[0]}, wide view" --video image_to_video.mp4 --outpaint 16:9 -o expand_video.mp4', "image_to_video.mp4", None),
        ("extend", f'render "{PROMPTS[0]}, camera pans right" --video image_to_video.mp4 --mode extend --frames 28 -o extend.mp4', "image_to_video.mp4", None),
    ]


def shown(folder: Path, name: str) -> str:
    """The file the gallery shows for `name`: itself for images, a GIF preview for clips."""
    if name.endswith(".png"):
        return name
    frames, fps = read_video(folder / name)
    write_gif_preview(frames, folder / f"{name}.gif", float(fps))
    return f"{name}.gif"


def make_gallery(folder: Path, model: str, steps: int) -> None:
    """Run every gallery command in `folder` and write gallery.md beside the outputs."""
    lines = ["| mode | input | mask | output | command |", "|---|---|---|---|---|"]
    for mode, command, source, mask in gallery_rows(load_pipeline(model).default_size):
        arguments = shlex.split(command) + ["--model", model, "--steps", str(steps), "--overwrite"]
        arguments = [argument if not argument.endswith((".png", ".mp4")) else str(folder / argument) for argument in arguments]
        if app(arguments, standalone_mode=False):  # a usage error's exit code
            raise SystemExit(f"videogen {command}: failed")
        mask_cell = ""
        if mask:
            height, width = load_image(folder / "source.png").shape[:2]
            save_png(np.repeat(draw_mask_shape(mask, height, width)[..., None], 3, axis=-1).astype(np.float32), folder / f"{mode}_mask.png")
            mask_cell = f"![]({mode}_mask.png)"
        output = shlex.split(command)[shlex.split(command).index("-o") + 1]
        source_cell = f"![]({shown(folder, source)})" if source else ""
        lines.append(f"| {mode} | {source_cell} | {mask_cell} | ![]({shown(folder, output)}) | `videogen {command}` |")
    (folder / "gallery.md").write_text("\n".join(lines) + "\n")


def seam_ratio(image: np.ndarray, mask: np.ndarray, band: float = 1.5, context: tuple[float, float] = (4, 8)) -> float:
    """Gradient energy (Sobel magnitude of the luma) within `band` pixels of the mask's edge over that `context`
    pixels away on both sides: 1 = the edge is as busy as its surroundings, a seam raises it (gradient-domain
    seam judging, as in Poisson image editing, Pérez et al. 2003)."""
    luma = cv2.cvtColor(image.astype(np.float32), cv2.COLOR_RGB2GRAY)
    magnitude = np.hypot(cv2.Sobel(luma, cv2.CV_32F, 1, 0), cv2.Sobel(luma, cv2.CV_32F, 0, 1))
    inside = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    outside = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    distance = np.where(mask, inside, outside)  # pixels to the edge, on either side
    near = (distance >= context[0]) & (distance <= context[1])
    return float(magnitude[distance <= band].mean() / magnitude[near].mean())


def measure(model: str, steps: int, seeds: int) -> dict:
    """Seam ratios of inpainting and temporal consistency of image_to_video, over `seeds` seeds and PROMPTS."""
    pipe = load_pipeline(model)
    size = pipe.default_size
    rows = {"seam_feathered": [], "seam_hard": [], "seam_source": [], "i2v_warp": [], "t2v_warp": [], "i2v_flicker": [], "t2v_flicker": []}
    for seed in range(seeds):
        prompt = PROMPTS[seed % len(PROMPTS)]
        settings = {"num_inference_steps": steps, "seed": seed}
        source = pipe(prompt, num_frames=1, **settings).frames[0, 0]
        rng = np.random.default_rng(seed)
        centre = rng.integers(size // 3, 2 * size // 3, 2)
        mask = draw_mask_shape(f"ellipse:{centre[0]},{centre[1]},{size // 5},{size // 8}", size, size)
        condition = modes.inpaint(source, mask)
        feathered = pipe("a pine forest on the shore", conditioning=condition, **settings).frames[0, 0]
        hard = pipe("a pine forest on the shore", conditioning=dataclasses.replace(condition, feather=0), **settings).frames[0, 0]
        rows["seam_feathered"].append(seam_ratio(feathered, mask))
        rows["seam_hard"].append(seam_ratio(hard, mask))
        rows["seam_source"].append(seam_ratio(source, mask))
        from_image = pipe(prompt, conditioning=modes.image_to_video(source, 16), **settings).frames[0]
        from_text = pipe(prompt, num_frames=16, **settings).frames[0]
        for name, clip in (("i2v", from_image), ("t2v", from_text)):
            rows[f"{name}_warp"].append(flow_warping_error(clip))
            rows[f"{name}_flicker"].append(temporal_flickering(clip))
    return {name: {"mean": float(np.mean(values)), "std": float(np.std(values))} for name, values in rows.items()} | {"seeds": seeds, "steps": steps, "model": model}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("output", type=Path)
    parser.add_argument("--model", default="builtin:landscapes")
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--seeds", type=int, default=8)
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    make_gallery(args.output, args.model, args.steps)
    numbers = measure(args.model, args.steps, args.seeds)
    (args.output / "modes.json").write_text(json.dumps(numbers, indent=2) + "\n")
    table = ["| measure | mean | std |", "|---|---|---|"]
    table += [f"| {name} | {value['mean']:.4f} | {value['std']:.4f} |" for name, value in numbers.items() if isinstance(value, dict)]
    (args.output / "modes.md").write_text("\n".join(table) + "\n")
    print("\n".join(table))


if __name__ == "__main__":
    main()
