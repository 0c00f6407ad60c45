"""Prompt adherence of models side by side on the development set, beside the rendered truth (the peer: what the
judge reads when the picture is right).

    python bench/dev_adherence.py [MODEL ...] [--frames 2] [--guidance 7.5] [--confusions GROUP] [--vae-ceiling] [--literal-prompt]

MODEL is builtin:NAME or a model folder (default: builtin:landscapes). The development set is bench/dev_prompts.yaml:
96 prompts, 32 in each adherence group (seen phrasing, held-out phrasing, held-out combination), none in the eval
report's set. It is make_prompt_set(per_group=32, per_camera=0, seed=11) on the caption grammar of 3ca388a, stored
before session 17 widened the grammar, so its seen prompts use the phrases every model up to session 16 trained on
and its numbers compare across sessions. Each prompt renders `--frames` frames at 128 px in 25 steps, seed = its
index, and the eval's judge reads them (288 judgements a group: about 0.03 of noise). About 4 minutes a model on
2 CPU threads at 2 frames. `--confusions heldout_phrasing` also prints, per model and attribute, what the judge read
for each value asked in that group ("all": every group), which tells a value drawn as another (the words were
misread) from one drawn as nothing (the subject or trees left out). `--vae-ceiling` adds, per model, the truth passed
through its VAE: the most its denoiser can show of these prompts. `--literal-prompt` reads the prompts as written
rather than in the model's vocabulary (videogen.vocabulary), as models did before session 27.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

import numpy as np

from videogen import load_pipeline
from videogen.eval.evaluate import adherence_summary, vae_round_trip
from videogen.eval.judge import ATTRIBUTES, judge_frames, load_judge
from videogen.eval.prompts import GROUPS, load_prompt_set
from videogen.world import render_clip

PROMPTS = Path(__file__).with_name("dev_prompts.yaml")


def scores(judge, prompts, clips) -> tuple[dict, dict]:
    """The eval's adherence summary of these clips (mean, per group, per attribute), and the judge's readings."""
    predicted = judge.predict(np.stack([judge_frames(clip) for clip in clips]))
    return adherence_summary(prompts, predicted), predicted


def confusions(prompts, predicted: dict, group: str) -> list[str]:
    """One line per attribute value asked in `group`: 'time dawn (9): sunset 4, dawn 3, noon 2', most read first."""
    lines = []
    for name in ATTRIBUTES:
        readings = {}
        for index, prompt in enumerate(prompts):
            if group in ("all", prompt.group):
                readings.setdefault(prompt.scene.attributes[name], Counter())[predicted[name][index]] += 1
        for asked, read in sorted(readings.items()):
            counts = ", ".join(f"{value} {count}" for value, count in read.most_common())
            lines.append(f"{name} {asked} ({sum(read.values())}): {counts}")
    return lines


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="*", default=["builtin:landscapes"])
    parser.add_argument("--frames", type=int, default=2)
    parser.add_argument("--guidance", type=float, default=7.5)
    parser.add_argument("--confusions", choices=("all", *GROUPS), help="print what the judge read per value asked")
    parser.add_argument("--vae-ceiling", action="store_true", help="add each model's VAE round trip of the truth")
    parser.add_argument("--literal-prompt", action="store_true", help="read the prompts as written, not in the model's vocabulary")
    args = parser.parse_args()
    prompts = load_prompt_set(PROMPTS)
    judge = load_judge()
    truth = [render_clip(p.scene, args.frames, 128, 128) for p in prompts]
    rows = {"rendered truth (peer)": scores(judge, prompts, truth)[0]}
    for model in args.models:
        pipe = load_pipeline(model)
        pipe.set_progress_bar_config(disable=True)
        if args.vae_ceiling:
            rows[f"{model}: its VAE's round trip of the truth"] = scores(judge, prompts, vae_round_trip(pipe, truth))[0]
        start = time.perf_counter()
        clips = [pipe(p.prompt, num_frames=args.frames, num_inference_steps=25, guidance_scale=args.guidance,
                      seed=index, rewrite_prompt=not args.literal_prompt).frames[0] for index, p in enumerate(prompts)]
        rows[model], predicted = scores(judge, prompts, clips)
        print(f"{model}: {time.perf_counter() - start:.0f} s", flush=True)
        if args.confusions:
            print(f"what the judge read, {args.confusions} prompts:", *confusions(prompts, predicted, args.confusions), sep="\n  ")
    truth = rows["rendered truth (peer)"]["mean"]
    print(f"\n| source | adherence | / truth | {' | '.join(GROUPS)} | {' | '.join(ATTRIBUTES)} |")
    print("|---" * (3 + len(GROUPS) + len(ATTRIBUTES)) + "|")
    for name, row in rows.items():
        cells = [f"{row['mean']:.3f}", f"{row['mean'] / truth:.3f}", *(f"{v:.3f}" for v in row["groups"].values()),
                 *(f"{v:.2f}" for v in row["attributes"].values())]
        print(f"| {name} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
