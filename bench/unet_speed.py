"""What the input temporal transformer and a second layer per block cost: the built-in UNet beside the same UNet with
diffusers' transformer_in, and beside itself at two layers per block (`videogen train denoiser --layers-per-block 2`).

    python bench/unet_speed.py [--repeats 5] [--threads 2]

The peer is the built-in architecture as diffusers' UNet3DConditionModel lays it out, with transformer_in (8 heads
of attention_head_dim channels on the first level's features; the built-in UNet had it until session 13). Both are
timed in the same run on random weights and inputs, interleaved so a load on the machine hits all alike:
a training step on 16 images (num_frames=1), one on 4 clips of 8 frames (forward, backward, AdamW), and a sampling
step (guidance: a batch of 2 clips of 16 frames, no gradient). Prints the parameter counts, the median seconds and
the ratios to ours.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from videogen.models.denoiser import CameraUNet3D
from videogen.train.denoiser import builtin_denoiser

CONTEXT_TOKENS = 64
CASES = {  # name -> (batch, frames, train)
    "train step, 16 images": (16, 1, True),
    "train step, 4 clips of 8 frames": (4, 8, True),
    "sampling step, 2 x 16 frames": (2, 16, False),
}


def run_case(model: CameraUNet3D, optimizer: torch.optim.Optimizer, batch: int, frames: int, train: bool) -> float:
    """Seconds for one step of the case on random inputs."""
    channels, size = model.config.in_channels, model.config.sample_size
    sample = torch.randn(batch, channels, frames, size, size)
    context = torch.randn(batch, CONTEXT_TOKENS, model.config.cross_attention_dim)
    timesteps = torch.randint(0, 1000, (batch,))
    started = time.perf_counter()
    with torch.set_grad_enabled(train):
        prediction = model(sample, timesteps, encoder_hidden_states=context).sample
        if train:
            optimizer.zero_grad(set_to_none=True)
            F.mse_loss(prediction, sample).backward()
            optimizer.step()
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    ours = builtin_denoiser()
    models = {"ours": ours, "peer": CameraUNet3D.from_config({**ours.config, "input_temporal_transformer": True}),
              "deeper": builtin_denoiser(layers_per_block=2)}
    optimizers = {name: torch.optim.AdamW(model.parameters(), lr=1e-4) for name, model in models.items()}
    print(f"torch {torch.__version__}, {args.threads} threads, median of {args.repeats} (after one warm-up each)\n")
    print("| case | ours (no transformer_in), s | peer (with transformer_in), s | peer / ours "
          "| ours at 2 layers per block, s | deeper / ours |")
    print("|---|---|---|---|---|---|")
    counts = {name: f"{sum(p.numel() for p in model.parameters()) / 1e6:.2f}M" for name, model in models.items()}
    print(f"| parameters | {counts['ours']} | {counts['peer']} | | {counts['deeper']} | |")
    for case, (batch, frames, train) in CASES.items():
        times = {name: [] for name in models}
        for repeat in range(args.repeats + 1):
            for name, model in models.items():
                model.train(train)
                seconds = run_case(model, optimizers[name], batch, frames, train)
                if repeat:  # the first is a warm-up
                    times[name].append(seconds)
        ours_s, peer_s, deeper_s = (statistics.median(times[name]) for name in ("ours", "peer", "deeper"))
        print(f"| {case} | {ours_s:.3f} | {peer_s:.3f} | {peer_s / ours_s:.2f} | {deeper_s:.3f} | {deeper_s / ours_s:.2f} |")


if __name__ == "__main__":
    main()
