"""How much of a prompt a VAE keeps: the eval judge's adherence on rendered truth passed through each VAE, beside
the same truth under a plain Gaussian blur (the peer: losing detail the way a blur does, at a similar PSNR).

    python bench/vae_ceiling.py [--vae videogen/models/builtin/landscapes/vae] [--vae OTHER ...] [--frames 4] [--sheet out.png]

The truth is the development prompt set (make_prompt_set(per_group=48, per_camera=0, seed=11): 144 scenes, none
in the eval report's set), 4 frames each at 128 px (`--frames`: the judge reads 4, repeating fewer). Each VAE encodes (posterior mode) and decodes every frame, as
the eval's "vae ceiling" does; no denoiser can show more of a prompt than its VAE keeps. Prints PSNR, adherence
(mean, and seen / held-out phrasing / held-out combination), per-attribute adherence, each source's three
commonest misreadings, and the PSNR over the subjects' pixels alone (where the scene rendered without its subject
differs; a subject is about 2% of a frame, so the whole-frame PSNR hardly sees it). --sheet writes the first frames of
12 scenes: truth on top, one row per VAE.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections import Counter
from types import SimpleNamespace

import cv2
import numpy as np
import torch
from diffusers import AutoencoderKL
from PIL import Image

from videogen.eval.evaluate import adherence_summary, vae_round_trip
from videogen.eval.judge import ATTRIBUTES, judge_frames, load_judge
from videogen.eval.metrics import psnr
from videogen.eval.prompts import make_prompt_set
from videogen.world import render_clip

BLUR_SIGMAS = (1.0, 2.0)  # pixels; both lose less PSNR than the shipped VAE's round trip (29.8 and 26.5 dB against 23.8)


def adherence(judge, prompts, clips) -> dict:
    """The eval's adherence table for these clips, its mean per group and per attribute, and the three commonest
    misreadings (truth->read) over all attributes."""
    predicted = judge.predict(np.stack([judge_frames(clip) for clip in clips]))
    misses = Counter(f"{p.scene.attributes[name]}->{predicted[name][i]}" for i, p in enumerate(prompts) for name in ATTRIBUTES
                     if predicted[name][i] != p.scene.attributes[name])
    return {**adherence_summary(prompts, predicted), "misses": misses.most_common(3)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--vae", action="append", help="a VAE folder (repeatable)")
    parser.add_argument("--frames", type=int, default=4, help="frames per scene (1: what the development set's first frame keeps)")
    parser.add_argument("--sheet", help="PNG contact sheet: truth, then each VAE's round trip")
    args = parser.parse_args()
    vae_folders = args.vae or ["videogen/models/builtin/landscapes/vae"]
    torch.manual_seed(0)
    prompts = make_prompt_set(per_group=48, per_camera=0, seed=11)
    truth = [render_clip(p.scene, args.frames, 128, 128) for p in prompts]
    subject_masks = [np.abs(clip - render_clip(dataclasses.replace(p.scene, subject="none"), args.frames, 128, 128)).mean(-1) > 0.05
                     for p, clip in zip(prompts, truth)]  # (F, H, W) per scene: where its subject is drawn (psnr's mask)
    blurs = {f"Gaussian blur, sigma {sigma:g} px (peer)": [np.stack([cv2.GaussianBlur(frame, (0, 0), sigma) for frame in clip])
                                                           for clip in truth] for sigma in BLUR_SIGMAS}
    round_trips = {}
    for folder in vae_folders:
        vae = AutoencoderKL.from_pretrained(folder, torch_dtype=torch.float32).eval()
        round_trips[f"VAE {folder} ({vae.config.latent_channels} channels)"] = vae_round_trip(SimpleNamespace(vae=vae), truth)
    sources = {"rendered truth": truth, **blurs, **round_trips}
    judge = load_judge()
    print(f"{len(prompts)} development scenes, {args.frames} frames at 128 px; adherence: mean (seen / held-out phrasing / held-out combination)\n")
    print("| source | PSNR | subject PSNR | adherence | " + " | ".join(ATTRIBUTES) + " | commonest misreadings |")
    print("|---|---|---|---|" + "---|" * len(ATTRIBUTES) + "---|")
    for name, clips in sources.items():
        scores = adherence(judge, prompts, clips)
        quality = "" if clips is truth else f"{np.mean([psnr(a, b) for a, b in zip(truth, clips)]):.2f} dB"
        subjects = ("" if clips is truth else
                    f"{psnr(np.concatenate(truth), np.concatenate(clips), np.concatenate(subject_masks)[..., None]):.2f} dB")
        groups = " / ".join(f"{value:.3f}" for value in scores["groups"].values())
        print(f"| {name} | {quality} | {subjects} | {scores['mean']:.3f} ({groups}) | "
              + " | ".join(f"{scores['attributes'][a]:.2f}" for a in ATTRIBUTES)
              + " | " + ", ".join(f"{miss} ({count})" for miss, count in scores["misses"]) + " |")
    if args.sheet:
        rows = [np.concatenate([clip[0] for clip in clips[:12]], axis=1) for clips in (truth, *round_trips.values())]
        Image.fromarray(np.round(np.concatenate(rows, axis=0) * 255).astype(np.uint8)).save(args.sheet)


if __name__ == "__main__":
    main()
