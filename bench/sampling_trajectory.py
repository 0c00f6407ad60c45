"""What the judge reads of the denoiser's clean-latent prediction along sampling: where a sample's picture is decided.

    python bench/sampling_trajectory.py [MODEL] [--group seen]

For the development set's prompts of one group (bench/dev_prompts.yaml, 32 a group) at one frame, 25 DPM-Solver++
steps and guidance 7.5 (the pipeline's defaults), the prediction of the clean latent that the solver keeps at steps
1, 5, 10, 15, 20 and 25 is decoded and judged. The peer is the truth through the model's VAE. Each row also gives the
share of the latents' power above half the latent Nyquist frequency (a noisy latent has more) and how many clear skies
read as clear. About 2 minutes on 2 CPU threads.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from dev_adherence import PROMPTS
from videogen import load_pipeline
from videogen.eval.evaluate import adherence_summary
from videogen.eval.judge import judge_frames, load_judge
from videogen.eval.prompts import GROUPS, load_prompt_set
from videogen.world import render_clip

MARKS = (0, 4, 9, 14, 19, 24)  # solver steps (0-based) whose clean-latent prediction is judged


def high_frequency_share(latents: torch.Tensor) -> float:
    """Share of a (1, C, 1, h, w) latent's power, each channel's mean removed, above half the Nyquist frequency."""
    channels = latents.float()[0, :, 0]  # -> (C, h, w)
    power = torch.fft.fft2(channels - channels.mean((1, 2), keepdim=True)).abs() ** 2
    frequencies = torch.fft.fftfreq(channels.shape[-1])
    radius = (frequencies[:, None] ** 2 + frequencies[None, :] ** 2).sqrt()
    return float(power[:, radius > 0.25].sum() / power.sum())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model", nargs="?", default="builtin:landscapes")
    parser.add_argument("--group", choices=GROUPS, default="seen")
    args = parser.parse_args()
    prompts = [p for p in load_prompt_set(PROMPTS) if p.group == args.group]
    judge = load_judge()
    pipe = load_pipeline(args.model)
    pipe.set_progress_bar_config(disable=True)
    predictions = {mark: [] for mark in MARKS}

    def keep_prediction(pipe, step, timestep, tensors):
        if step in predictions:
            predictions[step].append(pipe.scheduler.model_outputs[-1].clone())  # DPM-Solver++ keeps x0 predictions

    truth = []
    for index, prompt in enumerate(prompts):
        pipe(prompt.prompt, num_frames=1, seed=index, output_type="latent", callback_on_step_end=keep_prediction)
        truth.append(pipe.encode_frames(render_clip(prompt.scene, 1, 128, 128)))
    clear = [i for i, p in enumerate(prompts) if p.scene.attributes["clouds"] == "clear"]
    print(f"| latents | adherence | clouds | high-frequency share | clear skies read clear (of {len(clear)}) |\n|---|---|---|---|---|")
    for name, latents in {"truth through the VAE (peer)": truth, **{f"prediction at step {m + 1}": predictions[m] for m in MARKS}}.items():
        frames = [pipe.decode_latents(latent)[0].permute(0, 2, 3, 1).numpy() for latent in latents]
        read = judge.predict(np.stack([judge_frames(frame) for frame in frames]))
        summary = adherence_summary(prompts, read)
        print(f"| {name} | {summary['mean']:.3f} | {summary['attributes']['clouds']:.2f} | "
              f"{np.mean([high_frequency_share(latent) for latent in latents]):.3f} | {sum(read['clouds'][i] == 'clear' for i in clear)} |")


if __name__ == "__main__":
    main()
