"""The attribute judge: a small CNN that reads a clip's evenly spaced frames stacked as channels (so a moving
subject shows as a change between them) and names every world attribute, one linear head per attribute. Trained
only on rendered world clips with cross-entropy; the weights ship beside this file as fp16 safetensors.

    python -m videogen.eval.judge --cache /tmp/judge_data     # retrain after the renderer changes

renders the training set in shards of 16,000 clips (cached under --cache, keyed by seed, count and sizes: clear
it when the renderer changes; the three shards hold 9.4 GB in memory while training), trains on --threads threads
(about 13 minutes of rendering per shard and 7 of training per epoch over 48,000 clips on one busy core),
writes judge.safetensors and prints the accuracy per attribute on 500 fresh renders of another seed. Attributes
under JUDGE_MIN_ACCURACY there are reported as untrusted by the evaluation.
"""

from __future__ import annotations

import argparse
import functools
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn
from torch.nn import functional

from postprocess.files import atomic_path
from videogen.world import ATTRIBUTES, render_clip, sample_scene

JUDGE_PATH = Path(__file__).with_name("judge.safetensors")
JUDGE_MIN_ACCURACY = 0.95  # below this on fresh renders, an attribute's adherence is reported as untrusted
JUDGE_FRAMES = 4  # evenly spaced frames the judge reads (0, 5, 10, 15 of 16)
JUDGE_SIDE = 128  # frames are resized to this square
TRAIN_SEEDS, SHARD_CLIPS, TRAIN_EPOCHS = (2024, 2026, 2027), 16000, 12  # one rendered shard of clips per seed
TEST_SEED, TEST_CLIPS = 2025, 500
TRAIN_SIZES = (128, 128, 128, 64)  # render sizes in turn: mostly the judge's side, some small evaluations


def judge_frames(frames: np.ndarray, count: int = JUDGE_FRAMES, side: int = JUDGE_SIDE) -> np.ndarray:
    """What the judge reads of a clip (F, H, W, 3), uint8 or float in [0, 1]: `count` evenly spaced frames resized
    to (count, side, side, 3) uint8 (a one-frame clip repeats its frame)."""
    frames = np.asarray(frames)
    picks = np.round(np.linspace(0, len(frames) - 1, count)).astype(int)
    shrinking = frames.shape[1] * frames.shape[2] >= side * side
    resized = np.stack([cv2.resize(frame, (side, side), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
                        for frame in frames[picks]])
    if resized.dtype == np.uint8:
        return resized
    return np.clip(np.rint(resized * 255), 0, 255).astype(np.uint8)


def _conv(channels_in: int, channels_out: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(channels_in, channels_out, 3, stride, 1, bias=False), nn.BatchNorm2d(channels_out),
                         nn.ReLU(inplace=True))


class AttributeJudge(nn.Module):
    """(B, 3, S, H, W) in [0, 1] -> per-attribute logits: strided 3x3 convolutions (BatchNorm, ReLU) over the S
    frames stacked as channels; a 4x4 average pool that keeps the layout (sky above, ground below) beside a global
    max pool that keeps small things (a distant balloon) from being averaged away; one hidden layer, then one
    linear head per attribute of ATTRIBUTES."""

    def __init__(self, frames: int = JUDGE_FRAMES, widths: tuple[int, ...] = (24, 48, 96, 128), hidden: int = 128):
        super().__init__()
        layers, channels = [], 3 * frames
        for index, width in enumerate(widths):
            layers += [_conv(channels, width, 2)] + ([_conv(width, width, 1)] if index >= 2 else [])
            channels = width
        self.features = nn.Sequential(*layers)
        self.layout, self.peaks = nn.AdaptiveAvgPool2d(4), nn.AdaptiveMaxPool2d(1)
        self.hidden = nn.Sequential(nn.Linear(channels * 17, hidden), nn.ReLU(inplace=True))
        self.heads = nn.ModuleDict({name: nn.Linear(hidden, len(values)) for name, values in ATTRIBUTES.items()})

    def forward(self, clips: torch.Tensor) -> dict[str, torch.Tensor]:
        batch, channels, frames, height, width = clips.shape
        stacked = clips.reshape(batch, channels * frames, height, width)  # (B, 3, S, H, W) -> (B, 3*S, H, W)
        features = self.features(stacked - 0.5)  # (B, C, H/16, W/16)
        pooled = torch.cat([self.layout(features).flatten(1), self.peaks(features).flatten(1)], dim=1)  # (B, 17 C)
        hidden = self.hidden(pooled)
        return {name: head(hidden) for name, head in self.heads.items()}


def _as_tensor(inputs: np.ndarray) -> torch.Tensor:
    """judge_frames output (N, S, H, W, 3) uint8 -> (N, 3, S, H, W) float in [0, 1]."""
    clips = torch.from_numpy(np.ascontiguousarray(inputs)).permute(0, 4, 1, 2, 3)  # (N, S, H, W, 3) -> (N, 3, S, H, W)
    return clips.float() / 255


@dataclass(frozen=True)
class Judge:
    """The trained network in eval mode, fed judge_frames arrays (N, S, H, W, 3) uint8 in batches."""

    network: AttributeJudge
    batch: int = 64

    def logits(self, inputs: np.ndarray) -> dict[str, np.ndarray]:
        """Per-attribute logits (N, classes), classes in ATTRIBUTES order."""
        parts = []
        with torch.inference_mode():
            for start in range(0, len(inputs), self.batch):
                parts.append(self.network(_as_tensor(inputs[start : start + self.batch])))
        return {name: torch.cat([part[name] for part in parts]).numpy() for name in ATTRIBUTES}

    def predict(self, inputs: np.ndarray) -> dict[str, list[str]]:
        """Per-attribute predicted values."""
        return {name: [ATTRIBUTES[name][i] for i in logit.argmax(1)] for name, logit in self.logits(inputs).items()}

    def embed(self, inputs: np.ndarray) -> np.ndarray:
        """The judge's view of clips (N, sum of classes): all attributes' logits side by side (for Fréchet)."""
        return np.concatenate(list(self.logits(inputs).values()), axis=1)


@functools.lru_cache(maxsize=1)
def load_judge(path: Path = JUDGE_PATH) -> Judge:
    """The shipped judge (stored in float16 to stay small, computed in float32)."""
    network = AttributeJudge()
    network.load_state_dict({key: value.float() for key, value in load_file(str(path)).items()})
    return Judge(network.eval())


def save_judge(network: AttributeJudge, path: Path = JUDGE_PATH) -> None:
    """Write the network's weights as fp16 safetensors, atomically."""
    with atomic_path(path) as temporary:
        save_file({key: value.half().contiguous() for key, value in network.state_dict().items()}, str(temporary))


def rendered_dataset(count: int, seed: int, sizes=TRAIN_SIZES) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """judge_frames of freshly rendered scenes (N, S, side, side, 3) uint8 (both splits, random cameras) and label
    indices per attribute. Clips have JUDGE_FRAMES frames: the camera path and the subjects' motion are defined on
    clip time, so these are exactly the frames the judge picks from a 16-frame clip."""
    rng = np.random.default_rng(seed)
    inputs, labels = [], {name: [] for name in ATTRIBUTES}
    for index in range(count):
        scene = sample_scene(rng, split=("train", "heldout")[index % 5 == 4])
        size = sizes[index % len(sizes)]
        inputs.append(judge_frames(render_clip(scene, JUDGE_FRAMES, size, size)))
        for name, value in scene.attributes.items():
            labels[name].append(ATTRIBUTES[name].index(value))
    return np.stack(inputs), {name: np.array(values) for name, values in labels.items()}


def cached_dataset(cache: Path | None, count: int, seed: int,
                   sizes=TRAIN_SIZES) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """rendered_dataset, kept in `cache` (a folder; None renders every time) under its seed, count and sizes."""
    if cache is None:
        return rendered_dataset(count, seed, sizes)
    path = cache / f"world_{seed}_{count}_{'-'.join(map(str, sizes))}.npz"
    if not path.exists():
        inputs, labels = rendered_dataset(count, seed, sizes)
        cache.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as temporary, open(temporary, "wb") as file:
            np.savez(file, inputs=inputs, **labels)
    with np.load(path) as arrays:
        return arrays["inputs"], {name: arrays[name] for name in ATTRIBUTES}


def training_dataset(cache: Path | None, shards: int = len(TRAIN_SEEDS)) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The first `shards` shards of TRAIN_SEEDS (cached_dataset each), joined into one array without a second copy."""
    if not 1 <= shards <= len(TRAIN_SEEDS):
        raise ValueError(f"shards: got {shards}; must be 1 to {len(TRAIN_SEEDS)} (one per seed of TRAIN_SEEDS)")
    inputs, labels = None, {name: [] for name in ATTRIBUTES}
    for index, seed in enumerate(TRAIN_SEEDS[:shards]):
        shard, shard_labels = cached_dataset(cache, SHARD_CLIPS, seed)
        if inputs is None:
            inputs = np.empty((shards * SHARD_CLIPS, *shard.shape[1:]), shard.dtype)
        inputs[index * SHARD_CLIPS : (index + 1) * SHARD_CLIPS] = shard
        for name in ATTRIBUTES:
            labels[name].append(shard_labels[name])
    return inputs, {name: np.concatenate(values) for name, values in labels.items()}


def judge_accuracy(judge: Judge, inputs: np.ndarray, labels: dict[str, np.ndarray]) -> dict[str, float]:
    """Per-attribute accuracy of the judge on labelled inputs."""
    return {name: float((logit.argmax(1) == labels[name]).mean()) for name, logit in judge.logits(inputs).items()}


def soften(clips: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Half of a batch (B, 3, S, H, W) resampled through a random lower resolution (1/1.3 to 1/4 of the side), so the
    judge reads attributes from content, not from sharpness: generated clips come through a VAE and are softer."""
    batch, channels, frames, height, width = clips.shape
    chosen = torch.rand(batch, generator=generator) < 0.5
    if not chosen.any():
        return clips
    side = int(height / (1.3 + 2.7 * torch.rand(1, generator=generator).item()))
    images = clips[chosen].transpose(1, 2).reshape(-1, channels, height, width)  # -> (B' * S, 3, H, W)
    small = functional.interpolate(images, size=(side, side), mode="bilinear", antialias=True, align_corners=False)
    restored = functional.interpolate(small, size=(height, width), mode="bilinear", align_corners=False)
    clips = clips.clone()
    clips[chosen] = restored.reshape(-1, frames, channels, height, width).transpose(1, 2)
    return clips


def random_crop(clips: torch.Tensor, generator: torch.Generator, max_zoom: float = 1.2) -> torch.Tensor:
    """A random square crop of each clip (B, 3, S, H, W), 1/1 to 1/max_zoom of the side, resized back (the random
    resized crop of Szegedy et al. 2015, aspect kept and never past the frame): the same crop for all S frames, so
    motion between them is kept, and the attributes stay in view."""
    batch = clips.shape[0]
    scale = 1 / (1 + (max_zoom - 1) * torch.rand(batch, generator=generator))  # crop side / frame side
    offset = (1 - scale)[:, None] * (2 * torch.rand(batch, 2, generator=generator) - 1)  # crop centre in [-1, 1]
    theta = torch.zeros(batch, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = scale
    theta[:, :, 2] = offset
    channels, frames, height, width = clips.shape[1:]
    images = clips.reshape(batch, channels * frames, height, width)  # one crop for every frame of a clip
    grid = functional.affine_grid(theta, list(images.shape), align_corners=False)
    cropped = functional.grid_sample(images, grid, mode="bilinear", align_corners=False)
    return cropped.reshape(clips.shape)


def train_judge(inputs: np.ndarray, labels: dict[str, np.ndarray], epochs: int = TRAIN_EPOCHS, batch: int = 64,
                learning_rate: float = 2e-3, seed: int = 0, log=print) -> AttributeJudge:
    """Fit the judge: summed per-attribute cross-entropy on randomly cropped, mirrored and softened clips, AdamW with a
    one-cycle learning rate (Smith 2018)."""
    torch.manual_seed(seed)
    network = AttributeJudge()
    optimizer = torch.optim.AdamW(network.parameters(), lr=learning_rate, weight_decay=1e-4)
    steps_per_epoch = len(inputs) // batch
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, learning_rate, total_steps=epochs * steps_per_epoch)
    targets = {name: torch.from_numpy(values).long() for name, values in labels.items()}
    generator = torch.Generator().manual_seed(seed)
    started = time.monotonic()
    for epoch in range(epochs):
        network.train()
        order = torch.randperm(len(inputs), generator=generator)
        total = 0.0
        for step in range(steps_per_epoch):
            picks = order[step * batch : (step + 1) * batch]
            clips = soften(random_crop(_as_tensor(inputs[picks.numpy()]), generator), generator)
            mirrored = torch.rand(len(picks), generator=generator) < 0.5  # a mirrored world has the same attributes
            clips[mirrored] = clips[mirrored].flip(-1)
            logits = network(clips)
            loss = sum(functional.cross_entropy(logits[name], targets[name][picks]) for name in ATTRIBUTES)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item()
        log(f"epoch {epoch + 1}/{epochs}: loss {total / steps_per_epoch:.3f} ({time.monotonic() - started:.0f} s)")
    return network.eval()


def main(argv: list[str] | None = None) -> None:
    """Retrain and save the shipped judge; print its accuracy on fresh renders (another seed)."""
    parser = argparse.ArgumentParser(prog="python -m videogen.eval.judge", description=main.__doc__)
    parser.add_argument("--shards", type=int, default=len(TRAIN_SEEDS), choices=range(1, len(TRAIN_SEEDS) + 1),
                        help=f"rendered shards of {SHARD_CLIPS} clips")
    parser.add_argument("--epochs", type=int, default=TRAIN_EPOCHS)
    parser.add_argument("--cache", type=Path, default=None, help="folder that keeps rendered clips between runs")
    parser.add_argument("--out", type=Path, default=JUDGE_PATH)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is polite on a shared machine)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    inputs, labels = training_dataset(args.cache, args.shards)
    network = train_judge(inputs, labels, args.epochs)
    save_judge(network, args.out)
    load_judge.cache_clear()
    test_inputs, test_labels = cached_dataset(args.cache, TEST_CLIPS, TEST_SEED, sizes=(JUDGE_SIDE,))
    accuracy = judge_accuracy(load_judge(args.out), test_inputs, test_labels)
    print(f"{args.out}: accuracy on {TEST_CLIPS} fresh renders",
          {name: round(value, 3) for name, value in accuracy.items()})


if __name__ == "__main__":
    main()
