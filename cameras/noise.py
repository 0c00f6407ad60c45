"""Training-free camera control: noise warped along the camera's flow, and latents shifted by it."""

from __future__ import annotations

import hashlib

import numpy as np
import torch
import torch.nn.functional as F

from .errors import CameraError
from .trajectory import DEFAULT_DEPTH, Trajectory, pixel_grid


def _check_video_tensor(tensor: torch.Tensor, name: str):
    if tensor.ndim != 5:
        raise CameraError(f"{name} has shape {tuple(tensor.shape)}; allowed (B, C, F, h, w)")


def _check_strength(strength: float):
    if not 0.0 <= strength <= 1.0:
        raise CameraError(f"camera strength {strength:g} is out of range 0..1")


def _fit_frames(trajectory: Trajectory, num_frames: int) -> Trajectory:
    """The trajectory at the tensor's frame count (latent frames may be fewer than video frames)."""
    return trajectory if trajectory.num_frames == num_frames else trajectory.resample(num_frames)


def _subpixel_targets(flow: np.ndarray, subpixels: int, width: int, height: int):
    """Flat target pixel of every sub-pixel after moving along `flow` (hk, wk, 2), and which ones land inside."""
    grid = pixel_grid(width * subpixels, height * subpixels)[..., :2]
    position = (grid + 0.5) / subpixels - 0.5 + flow  # sub-pixel centres in latent pixel units
    column, row = np.rint(position[..., 0]).astype(np.int64), np.rint(position[..., 1]).astype(np.int64)
    inside = (column >= 0) & (column < width) & (row >= 0) & (row < height)
    return (row * width + column).reshape(-1), inside.reshape(-1)


def _upsample_conditional(frame: torch.Tensor, subpixels: int, generator: torch.Generator) -> torch.Tensor:
    """k x k sub-pixels per pixel, i.i.d. N(0, 1/k^2) and summing to the pixel: x/k^2 + (z - mean z)/k."""
    *lead, height, width = frame.shape
    fresh = torch.randn(*lead, height, subpixels, width, subpixels, generator=generator, device=frame.device)
    residual = fresh - fresh.mean(dim=(-3, -1), keepdim=True)
    pixel = frame[..., :, None, :, None]  # (..., h, 1, w, 1)
    # (..., h, k, w, k) -> (..., h*k, w*k): row i*k + a, column j*k + b
    return (pixel / subpixels**2 + residual / subpixels).reshape(*lead, height * subpixels, width * subpixels)


def warp_noise(noise: torch.Tensor, trajectory: Trajectory, strength: float = 1.0, depth=DEFAULT_DEPTH,
               subpixels: int = 4, generator: torch.Generator | None = None) -> torch.Tensor:
    """Gaussian noise that follows the camera (Chang et al. 2024, "How I Warped Your Noise"): each frame is the
    previous one split into k x k conditional sub-pixels, splatted along the flow and summed per pixel with
    sqrt(count) renormalisation (fresh noise where nothing lands), then mixed as
    strength * warped + sqrt(1 - strength^2) * the input frame, so every frame stays i.i.d. N(0, 1).

    noise: (B, C, F, h, w) at latent resolution; the trajectory is resampled to F frames if needed; depth is a
    scalar or an (h, w) / (F, h, w) map in scene units. strength 0 returns the input, 1 fully warped noise.
    generator seeds the sub-pixel and disoccluded draws (default: seeded from a hash of the input's first frame,
    so the result is deterministic and inputs drawn from different seeds get different fills)."""
    _check_video_tensor(noise, "noise")
    _check_strength(strength)
    if subpixels < 1:
        raise CameraError(f"subpixels {subpixels} must be at least 1")
    batch, channels, num_frames, height, width = noise.shape
    if strength == 0 or num_frames == 1:
        return noise.clone()
    if generator is None:  # derived from the input, so other seeds' noise gets other fills
        first_frame = noise[:, :, 0].detach().float().cpu().numpy().tobytes()
        seed = int.from_bytes(hashlib.sha256(first_frame).digest()[:8], "little")
        generator = torch.Generator(device=noise.device).manual_seed(seed)
    depth = np.asarray(depth, dtype=np.float64)
    if depth.ndim:  # depth maps follow the sub-pixel grid
        depth = depth.repeat(subpixels, axis=-2).repeat(subpixels, axis=-1)
    flows = _fit_frames(trajectory, num_frames).flow(width * subpixels, height * subpixels, depth) / subpixels

    source = noise.float()
    frames = [source[:, :, 0]]
    for step, flow in enumerate(flows):
        targets, inside = _subpixel_targets(flow, subpixels, width, height)
        targets = torch.from_numpy(targets[inside]).to(noise.device)
        inside = torch.from_numpy(inside).to(noise.device)
        splats = _upsample_conditional(frames[-1], subpixels, generator).reshape(batch * channels, -1)
        # (B*C, hk*wk) sub-pixels -> (B*C, h*w) per-pixel sums and counts
        sums = torch.zeros(batch * channels, height * width, device=noise.device).index_add_(
            1, targets, splats[:, inside])
        counts = torch.bincount(targets, minlength=height * width).to(sums.dtype)
        fill = torch.randn(sums.shape, generator=generator, device=noise.device)
        warped = torch.where(counts > 0, sums * subpixels / counts.clamp(min=1).sqrt(), fill)
        warped = warped.reshape(batch, channels, height, width)  # (B*C, h*w) -> (B, C, h, w)
        frames.append(strength * warped + (1 - strength**2) ** 0.5 * source[:, :, step + 1])
    return torch.stack(frames, dim=2).to(noise.dtype)


def shift_latents(latents: torch.Tensor, trajectory: Trajectory, strength: float = 1.0,
                  depth: float = DEFAULT_DEPTH, feather: float = 0.0) -> torch.Tensor:
    """Latent shifting for the first denoising steps: each frame blended with frame 0 warped into it by the
    camera's plane homography (bilinear, torch grid_sample); pixels frame 0 does not cover keep their own value.

    latents: (B, C, F, h, w), or decoded frames (B, 3, F, H, W); strength 0 returns the input, 1 replaces each
    frame with warped frame 0. feather: pixels over which the blend fades out towards frame 0's edges (0: a hard
    edge), so a warped picture meets the frame's own pixels without a seam and leaves frame 0's border behind."""
    _check_video_tensor(latents, "latents")
    _check_strength(strength)
    if feather < 0:
        raise CameraError(f"feather {feather:g} must be at least 0 pixels")
    batch, channels, num_frames, height, width = latents.shape
    homographies = _fit_frames(trajectory, num_frames).homographies(width, height, depth)  # frame 0 -> frame f
    source = np.einsum("fij,hwj->fhwi", np.linalg.inv(homographies), pixel_grid(width, height))
    source = source[..., :2] / source[..., 2:]  # (F, h, w, 2) frame-0 pixel each pixel of frame f came from
    grid = torch.from_numpy(2 * source / [width - 1, height - 1] - 1).to(latents.device, torch.float32)
    first = latents[:, :, 0].float().repeat_interleave(num_frames, dim=0)  # (B, C, h, w) -> (B*F, C, h, w)
    warped = F.grid_sample(first, grid.repeat(batch, 1, 1, 1), align_corners=True)
    # pixels from frame 0's nearest edge (negative outside it) -> blend weight, (F, h, w)
    inside = np.minimum(source, [width - 1, height - 1] - source).min(-1)
    weight = (inside >= 0).astype(np.float32) if feather == 0 else np.clip(inside / feather, 0, 1)
    weight = torch.from_numpy(strength * weight).to(latents.device, torch.float32)[None, None]  # (1, 1, F, h, w)
    # (B*F, C, h, w) -> (B, C, F, h, w)
    warped = warped.reshape(batch, num_frames, channels, height, width).transpose(1, 2)
    return torch.lerp(latents.float(), warped, weight).to(latents.dtype)
