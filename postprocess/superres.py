"""A small learned super-resolution network: ESPCN-style convolutions at low resolution with a sub-pixel
(PixelShuffle) output (Shi et al. 2016), predicting the residual over bicubic upsampling (as VDSR, Kim et al. 2016).

Trained by postprocess/train_superres.py; the x2 weights ship in postprocess/weights/.
"""

from __future__ import annotations

import functools
from importlib import resources

import numpy as np
import torch
from safetensors.torch import load_file
from torch import nn
from torch.nn import functional


class SuperResolution(nn.Module):
    """(B, 3, H, W) in [0, 1] -> (B, 3, H*scale, W*scale): bicubic upsampling plus a learned residual."""

    def __init__(self, scale: int = 2, channels: int = 32, layers: int = 4):
        super().__init__()
        self.scale = scale
        body = [nn.Conv2d(3, channels, 3, padding=1), nn.ReLU()]
        for _ in range(layers):
            body += [nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU()]
        body += [nn.Conv2d(channels, 3 * scale * scale, 3, padding=1), nn.PixelShuffle(scale)]
        self.body = nn.Sequential(*body)

    def forward(self, low: torch.Tensor) -> torch.Tensor:
        upsampled = functional.interpolate(low, scale_factor=self.scale, mode="bicubic", align_corners=False)
        return upsampled + self.body(low - 0.5)


WEIGHTS = "superres_x2.safetensors"


@functools.lru_cache(maxsize=1)
def pretrained() -> SuperResolution:
    """The shipped x2 network, in eval mode."""
    model = SuperResolution(scale=2)
    with resources.as_file(resources.files("postprocess") / "weights" / WEIGHTS) as path:
        model.load_state_dict(load_file(str(path)))
    return model.eval()


def upscale_x2(frames: np.ndarray, batch: int = 4) -> np.ndarray:
    """float32 (F, H, W, 3) in [0, 1] -> (F, 2H, 2W, 3), clipped to [0, 1]."""
    model = pretrained()
    outputs = []
    with torch.inference_mode():
        for start in range(0, len(frames), batch):
            low = torch.from_numpy(np.ascontiguousarray(frames[start : start + batch])).permute(0, 3, 1, 2)  # (B, H, W, 3) -> (B, 3, H, W)
            high = model(low).clamp_(0, 1)
            outputs.append(high.permute(0, 2, 3, 1).numpy())  # (B, 3, 2H, 2W) -> (B, 2H, 2W, 3)
    return np.concatenate(outputs)
