"""How much of the camera's motion survives latent shifting, with and without shifting the decoded pictures too.

    python bench/camera_shift.py [--vae videogen/models/builtin/landscapes/vae] [--vae OTHER ...]

The eval's 24 camera-group scenes are rendered (the truth) and encoded by each VAE. Every frame's latents are
then shifted along the camera as the pipeline's latent shifting leaves them after its last step (frame 0 warped
into each frame, `cameras.shift_latents`) and decoded: the peer, latent shifting alone. Ours shifts the decoded
pictures the same way afterwards (feathered over two latent pixels), as `VideoPipeline` does at camera_shift 1.
Beside them: each frame encoded and decoded (the VAE round trip) and the truth itself. Scored with the eval's
camera metrics: direction accuracy, and magnitude error on the pan/tilt/roll/zoom clips.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from diffusers import AutoencoderKL

import cameras
from videogen.eval.evaluate import camera_result, camera_summary
from videogen.eval.prompts import CAMERA_GROUP, load_prompt_set
from videogen.pipeline import SHIFT_FEATHER
from videogen.world import render_clip


def to_frames(images: torch.Tensor) -> np.ndarray:
    """(F, 3, H, W) in [-1, 1] -> (F, H, W, 3) in [0, 1]."""
    return ((images + 1) / 2).clamp(0, 1).permute(0, 2, 3, 1).numpy()


def shift_frames(images: torch.Tensor, trajectory, feather: float = 0.0) -> torch.Tensor:
    """cameras.shift_latents on (F, C, h, w) frames."""
    return cameras.shift_latents(images.transpose(0, 1)[None], trajectory, feather=feather)[0].transpose(0, 1)


@torch.no_grad()
def variants(vae: AutoencoderKL, clip: np.ndarray, trajectory) -> dict[str, np.ndarray]:
    """The truth clip (F, H, W, 3) in [0, 1] through each path."""
    images = torch.from_numpy(clip).permute(0, 3, 1, 2) * 2 - 1
    latents = vae.encode(images).latent_dist.mode()
    shifted = vae.decode(shift_frames(latents, trajectory)).sample
    feather = SHIFT_FEATHER * images.shape[-1] // latents.shape[-1]  # as VideoPipeline does at this VAE's scale
    return {
        "VAE round trip": to_frames(vae.decode(latents).sample),
        "latent shifting (peer)": to_frames(shifted),
        "latents and pictures shifted (ours)": to_frames(shift_frames(shifted, trajectory, feather)),
    }


def score(clips: list[tuple[str, np.ndarray]]) -> tuple[float, float]:
    """(direction accuracy, magnitude error) of (camera, clip) pairs, as the eval report scores them."""
    summary = camera_summary([(camera_result(frames, camera), camera) for camera, frames in clips])
    return summary["camera_direction_mean"], summary["camera_magnitude_error"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--vae", action="append", help="a VAE folder (repeatable)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    prompts = [p for p in load_prompt_set() if p.group == CAMERA_GROUP]
    truth = [(p.scene.camera, render_clip(p.scene, 16, 128, 128)) for p in prompts]
    print(f"{len(prompts)} camera-group scenes, 16 frames at 128 px")
    print("| VAE | path | direction accuracy | magnitude error |\n|---|---|---|---|")
    print("| - | truth | %.3f | %.3f |" % score(truth), flush=True)
    for folder in args.vae or ["videogen/models/builtin/landscapes/vae"]:
        vae = AutoencoderKL.from_pretrained(folder).float().eval()
        by_path: dict[str, list] = {}
        for camera, clip in truth:
            for path, frames in variants(vae, clip, cameras.parse_camera(camera).trajectory(len(clip))).items():
                by_path.setdefault(path, []).append((camera, frames))
        for path, clips in by_path.items():
            direction, magnitude = score(clips)
            print(f"| {folder} | {path} | {direction:.3f} | {magnitude:.3f} |", flush=True)


if __name__ == "__main__":
    main()
