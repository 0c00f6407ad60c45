"""Whether a grown VAE reads its new latent channels: the round trip with the new channels as trained, beside the same
round trip with them put back to what they started as (the peer: the grown VAE without what training gave them).

    python bench/grown_channels.py RUN [RUN ...] [--start rotation|zero|copy]

RUN is a `videogen train vae --init ... --latent-channels N` run folder (its checkpoint's EMA weights are read) or a
saved VAE folder; the VAE grown from (videogen/models/builtin/landscapes/vae) gives the peer row. The new channels are those past the first half of the latent channels grown from (4 for the
built-in VAE; `--old-channels`). `--start` is what they are put back to: `rotation` (how grow_latent_channels starts
them), `zero`, or `copy` (each a copy of old channel k mod old). Frames: the first frames of the 8 last clips of
`--data` (which `train vae` holds out) for the whole-frame PSNR, and both frames of 24 counterfactual pairs whose
subject differs in `--pairs` for the subject pixels (where the pair's frames differ by 0.1 or more). Prints, per run,
the PSNR of each round trip, the subject-pixel PSNR, the spread of each latent channel, and each new channel's
correlation with its start. If putting the channels back costs nothing, the decoder does not read them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from diffusers import AutoencoderKL

from videogen.eval.metrics import psnr
from videogen.train.data import ClipStore, counterfactual_pairs
from videogen.train.loop import read_checkpoint
from videogen.train.vae import PAIR_CHANGE, added_channel_rotation, unit_range
from videogen.world import changed_attributes


def load_vae(path: Path) -> AutoencoderKL:
    """A run folder's EMA weights, or a saved VAE folder's."""
    state = read_checkpoint(path)
    if state is None:
        return AutoencoderKL.from_pretrained(path, torch_dtype=torch.float32).eval()
    vae = AutoencoderKL.from_config(state["config"]).eval()
    vae.load_state_dict(state["ema"])
    return vae


def started(means: torch.Tensor, old: int, start: str) -> torch.Tensor:
    """The latent means with the new channels put back to what they started as."""
    old_means, added = means[:, :old], means.shape[1] - old
    if added == 0:  # the VAE grown from (a peer row)
        return means
    if start == "rotation":
        new = torch.einsum("no,bohw->bnhw", added_channel_rotation(old, old + added), old_means)
    elif start == "copy":
        new = old_means[:, torch.arange(added) % old]
    else:
        new = torch.zeros_like(means[:, old:])
    return torch.cat([old_means, new], dim=1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--start", choices=("rotation", "zero", "copy"), default="rotation")
    parser.add_argument("--old-channels", type=int, default=4)
    parser.add_argument("--data", default="runs/data")
    parser.add_argument("--pairs", default="runs/pairsAll")
    args = parser.parse_args()
    torch.manual_seed(0)
    held_out = torch.from_numpy(np.array(ClipStore.load(args.data).clips[-8:, 0])).permute(0, 3, 1, 2).float() / 127.5 - 1
    pairs = ClipStore.load(args.pairs)
    subject_pairs = [pair for pair in counterfactual_pairs(pairs.scenes)
                     if list(changed_attributes(pairs.scenes[pair[0]], pairs.scenes[pair[1]])) == ["subject"]][:24]
    frames = torch.from_numpy(np.array(pairs.clips[np.concatenate(subject_pairs), 0])).permute(0, 3, 1, 2).float() / 127.5 - 1
    # (2 pairs, 1, H, W): both frames of a pair, where they differ
    changed = ((frames[0::2] - frames[1::2]).abs().mean(1, keepdim=True) >= PAIR_CHANGE).repeat_interleave(2, 0).numpy()
    print(f"{len(held_out)} held-out frames, {len(subject_pairs)} subject pairs ({changed.mean():.1%} of their pixels); "
          f"new channels put back to: {args.start}\n")
    print("| run | channels | PSNR | PSNR, new channels at their start | subject PSNR | at their start | channel spreads | "
          "new channels' correlation with their start |")
    print("|---|---|---|---|---|---|---|---|")
    for run in args.runs:
        vae = load_vae(run)
        with torch.no_grad():
            scores = []
            for images, mask in ((held_out, None), (frames, changed)):
                means = vae.encode(images).latent_dist.mean
                at_start = started(means, args.old_channels, args.start)
                for latents in (means, at_start):
                    scores.append(psnr(unit_range(images), unit_range(vae.decode(latents).sample), mask))
            start = at_start[:, args.old_channels:]  # spreads and correlations: on the subject pairs' frames
            correlations = ["-" if args.start == "zero" else  # nothing to correlate with
                            f"{torch.corrcoef(torch.stack([means[:, channel].flatten(), start[:, index].flatten()]))[0, 1].item():.3f}"
                            for index, channel in enumerate(range(args.old_channels, means.shape[1]))]
        spreads = ", ".join(f"{value:.2f}" for value in means.std(dim=(0, 2, 3)).tolist())
        print(f"| {run} | {means.shape[1]} | {scores[0]:.2f} dB | {scores[1]:.2f} dB | {scores[2]:.2f} dB | {scores[3]:.2f} dB | "
              f"{spreads} | {', '.join(correlations)} |")


if __name__ == "__main__":
    main()
