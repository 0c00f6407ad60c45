"""Train the x2 super-resolution network of postprocess/superres.py on image folders (L1 loss, Adam, cosine decay).

    python -m postprocess.train_superres [IMAGE_DIR ...] --skimage --minutes 20

`--skimage` adds scikit-image's bundled pictures except the photographs bench/upscale.py scores on.

Low-resolution inputs are made the way the benchmark makes them: area downscaling (cv2.INTER_AREA) by 2.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch.nn import functional

from postprocess.files import atomic_path
from postprocess.superres import SuperResolution

PATCH = 64  # high-resolution patch side
# scikit-image pictures to train on; astronaut, chelsea, coffee, rocket and stereo_motorcycle are held out.
SKIMAGE_TRAIN = ("retina", "immunohistochemistry", "hubble_deep_field", "colorwheel", "grass", "gravel", "brick",
                 "camera", "moon", "coins", "clock", "page", "text")


def skimage_images() -> list[np.ndarray]:
    """SKIMAGE_TRAIN as float32 RGB in [0, 1]."""
    from skimage import data

    images = [getattr(data, name)() for name in SKIMAGE_TRAIN]
    return [np.repeat(image[..., None], 3, -1) if image.ndim == 2 else image[..., :3] for image in images]


def load_images(folders: list[Path]) -> list[np.ndarray]:
    """Every PNG/JPEG under the folders as float32 RGB in [0, 1], at least PATCH on each side."""
    images = []
    for folder in folders:
        for path in sorted(Path(folder).rglob("*")):
            if path.suffix.lower() in {".png", ".jpg", ".jpeg"}:
                image = cv2.imread(str(path), cv2.IMREAD_COLOR)
                if image is not None and min(image.shape[:2]) >= PATCH:
                    images.append(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    return images


def batch_of_patches(images: list[np.ndarray], size: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(low, high) tensors (B, 3, PATCH/2, PATCH/2) and (B, 3, PATCH, PATCH) from random crops, flips and turns."""
    highs = []
    for _ in range(size):
        image = images[rng.integers(len(images))]
        top, left = rng.integers(image.shape[0] - PATCH + 1), rng.integers(image.shape[1] - PATCH + 1)
        patch = np.rot90(image[top : top + PATCH, left : left + PATCH], k=rng.integers(4))
        highs.append(patch[:, ::-1] if rng.random() < 0.5 else patch)
    highs = np.stack(highs)  # (B, PATCH, PATCH, 3)
    lows = np.stack([cv2.resize(high, (PATCH // 2, PATCH // 2), interpolation=cv2.INTER_AREA) for high in highs])
    # (B, H, W, 3) -> (B, 3, H, W)
    return torch.from_numpy(lows).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(highs).permute(0, 3, 1, 2).contiguous()


def train(images: list[np.ndarray], minutes: float, out: Path, batch: int = 32, seed: int = 0,
          init: Path | None = None, lr: float = 1e-3) -> None:
    """Train on uint8 RGB images for a wall-clock budget, cosine learning-rate decay over it (from `init` weights if
    given); write safetensors atomically."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    images = [image.astype(np.float32) / 255 for image in images if min(image.shape[:2]) >= PATCH]
    model = SuperResolution(scale=2)
    if init is not None:
        model.load_state_dict(load_file(str(init)))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    start, step, budget = time.monotonic(), 0, minutes * 60
    while (elapsed := time.monotonic() - start) < budget:
        for group in optimizer.param_groups:
            group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * elapsed / budget))
        low, high = batch_of_patches(images, batch, rng)
        loss = functional.l1_loss(model(low), high)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step += 1
        if step % 200 == 0:
            print(f"step {step}  {elapsed / 60:.1f} min  L1 {loss.item():.4f}", flush=True)
    with atomic_path(out) as temporary:
        save_file({name: tensor.contiguous() for name, tensor in model.state_dict().items()}, str(temporary))
    print(f"wrote {out} after {step} steps on {len(images)} images")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", type=Path, nargs="*")
    parser.add_argument("--skimage", action="store_true", help="add scikit-image's pictures (held-out ones excepted)")
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--out", type=Path, default=Path("postprocess/weights/superres_x2.safetensors"))
    parser.add_argument("--init", type=Path, help="start from these weights (continue a run)")
    parser.add_argument("--lr", type=float, default=1e-3, help="peak learning rate")
    args = parser.parse_args()
    images = load_images(args.folders) + (skimage_images() if args.skimage else [])
    if not images:
        raise SystemExit("no training images: give folders of PNG/JPEG images or --skimage")
    train(images, args.minutes, args.out, init=args.init, lr=args.lr)


if __name__ == "__main__":
    main()
