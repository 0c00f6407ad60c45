"""Conditioning of the image and clip modes: which pixels to keep, what to start from, and how far to noise it.

Every conditioned mode is one `Conditioning` handed to `VideoPipeline.__call__`:

| mode                            | frames                                     | regenerate                      |
|---------------------------------|--------------------------------------------|---------------------------------|
| image_to_image, video_to_video  | the input                                  | everything (SDEdit by strength) |
| inpaint, video_inpaint          | the input                                  | the mask                        |
| outpaint, expand_video          | the input on a larger canvas, edges copied | the new border                  |
| image_to_video                  | the image in every frame                   | every frame but the first       |
| keyframes                       | a cross-fade from the first to the last    | every frame but the two ends    |
| extend (one window)             | the clip's last frames, the last repeated  | the new frames                  |

The pipeline keeps the rest with blended latent diffusion and pastes the kept pixels back exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch.nn import functional

from postprocess.frames import check_frames, to_float
from videogen.errors import UsageError
from videogen.inputs import (
    Padding,
    check_mask,
    load_image,
    load_mask,
    load_video,
    parse_outpaint,
    resize_frames,
    working_size,
)

FEATHER_PIXELS = 8  # one latent cell of an 8x VAE: the seam fades over the band the latent mask rounds over


@dataclass(frozen=True)
class Conditioning:
    """What a conditioned generation keeps and starts from.

    frames: (F, H, W, 3) float32 in [0, 1], the pixels kept and the start of noising.
    regenerate: (F, H, W) bool, True = generate, False = keep these pixels exactly.
    strength: in (0, 1], how far `frames` are noised before denoising; 1 starts from pure noise (the
        frames then matter only where they are kept).
    feather: pixels over which generated content fades in from the edge of the kept area.
    """

    frames: np.ndarray
    regenerate: np.ndarray
    strength: float = 1.0
    feather: int = FEATHER_PIXELS

    def blend_weights(self) -> np.ndarray:
        """Weight of the generated pixels in the final composite, (F, H, W) float32: 0 on every kept pixel,
        rising to 1 over `feather` pixels into the regenerated area (a feathered paste that never touches kept pixels)."""
        weights = np.empty(self.regenerate.shape, np.float32)
        for index, region in enumerate(self.regenerate.astype(np.uint8)):
            # Distance to the nearest kept pixel; a frame with none gets float max, so weight 1.
            distance = cv2.distanceTransform(region, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
            weights[index] = np.clip(distance / max(self.feather, 1), 0, 1)
        return weights

    def latent_regenerate(self, factor: int) -> torch.Tensor:
        """(1, 1, F, h, w) bool: a latent is regenerated when any pixel it decodes to is, so kept latents never reach into the regenerated area."""
        regions = torch.from_numpy(self.regenerate).float()[:, None]  # (F, 1, H, W)
        pooled = functional.max_pool2d(regions, factor)  # (F, 1, h, w)
        return pooled.permute(1, 0, 2, 3)[None] > 0  # -> (1, 1, F, h, w)


def as_clip(frames, name: str = "frames") -> np.ndarray:
    """An image (H, W, 3) or clip (F, H, W, 3), uint8 or float, as a float32 clip in [0, 1]."""
    array = np.asarray(frames)
    return to_float(check_frames(array[None] if array.ndim == 3 else array, name))


def sdedit(frames, strength: float) -> Conditioning:
    """image_to_image / video_to_video: regenerate everything from the input noised to `strength` (SDEdit, Meng et al. 2022)."""
    clip = as_clip(frames)
    return Conditioning(clip, np.ones(clip.shape[:3], bool), strength)


def inpaint(frames, mask: np.ndarray, strength: float = 1.0) -> Conditioning:
    """inpaint / video_inpaint: regenerate where `mask` (H, W) or (F, H, W) is True, keep the rest exactly."""
    clip = as_clip(frames)
    mask = np.asarray(mask, bool)
    if mask.shape[-2:] != clip.shape[1:3] or (mask.ndim == 3 and len(mask) != len(clip)):
        raise UsageError(f"mask: shape {mask.shape} does not fit frames of shape {clip.shape[:3]}")
    regenerate = np.broadcast_to(mask, clip.shape[:3]).copy()
    return Conditioning(clip, check_mask(regenerate), strength)


def outpaint(frames, padding: Padding, strength: float = 1.0) -> Conditioning:
    """outpaint / expand_video: the input on a larger canvas, the new border regenerated (seeded with the input's edge pixels)."""
    clip = as_clip(frames)
    top, right, bottom, left = padding
    canvas = np.pad(clip, ((0, 0), (top, bottom), (left, right), (0, 0)), mode="edge")
    regenerate = np.ones(canvas.shape[:3], bool)
    regenerate[:, top : top + clip.shape[1], left : left + clip.shape[2]] = False
    return Conditioning(canvas, regenerate, strength)


def image_to_video(image, num_frames: int, strength: float = 1.0) -> Conditioning:
    """image_to_video: the image is frame 0, the following frames are generated (starting from the still image when strength < 1)."""
    if num_frames < 2:
        raise UsageError(f"frames: image_to_video needs at least 2 keyframes, got {num_frames}")
    clip = np.repeat(as_clip(image, "image"), num_frames, axis=0)
    regenerate = np.ones(clip.shape[:3], bool)
    regenerate[0] = False
    return Conditioning(clip, regenerate, strength)


def keyframes(first, last, num_frames: int, strength: float = 1.0) -> Conditioning:
    """keyframes: the motion between two images; they are the first and last frames, the ones between start from a cross-fade."""
    first, last = as_clip(first, "init_image")[0], as_clip(last, "end_image")[0]
    if first.shape != last.shape:
        raise UsageError(f"end_image: size {last.shape[1]}x{last.shape[0]} differs from init_image's {first.shape[1]}x{first.shape[0]}")
    if num_frames < 3:
        raise UsageError(f"frames: keyframes mode needs at least 3 keyframes (two ends and one between), got {num_frames}")
    times = np.linspace(0, 1, num_frames, dtype=np.float32)[:, None, None, None]
    clip = (1 - times) * first + times * last
    regenerate = np.ones(clip.shape[:3], bool)
    regenerate[[0, -1]] = False
    return Conditioning(clip.astype(np.float32), regenerate, strength)


def continuation(context, num_new_frames: int, strength: float = 1.0) -> Conditioning:
    """One window of extend: the context frames are kept, num_new_frames follow them (starting from the last frame when strength < 1)."""
    context = as_clip(context, "init_video")
    clip = np.concatenate([context, np.repeat(context[-1:], num_new_frames, axis=0)])
    regenerate = np.zeros(clip.shape[:3], bool)
    regenerate[len(context) :] = True
    return Conditioning(clip, regenerate, strength)


def load_input_frames(request) -> np.ndarray:
    """A request's init_video or init_image as a float clip (F, H, W, 3) at the file's own size."""
    return load_video(request.init_video)[0] if request.init_video else load_image(request.init_image)[None]


def at_working_size(clip: np.ndarray, request, factor: int = 8) -> np.ndarray:
    """`clip` resized to the request's width and height, or to its own size rounded to multiples of `factor`."""
    return resize_frames(clip, *working_size(*clip.shape[1:3], request.height, request.width, factor))


def conditioning_for(request, factor: int = 8) -> Conditioning:
    """Load a request's inputs and build its mode's conditioning (the modes of one pipeline call: not text, upscale or extend)."""
    mode, strength = request.mode, request.denoise_strength
    source = load_input_frames(request)
    if mode in ("outpaint", "expand_video"):  # the input keeps its pixels; the spec sizes the canvas
        return outpaint(source, parse_outpaint(request.outpaint, *source.shape[1:3], factor), strength)
    clip = at_working_size(source, request, factor)
    if mode in ("inpaint", "video_inpaint"):
        mask = load_mask(request.mask, *source.shape[1:3], len(source) if request.init_video else None)
        mask = np.broadcast_to(mask, source.shape[:3]).astype(np.float32)  # masks follow the input through the resize
        return inpaint(clip, resize_frames(mask, *clip.shape[1:3], nearest=True) > 0.5, strength)
    if mode == "image_to_video":
        return image_to_video(clip[0], request.num_keyframes, strength)
    if mode == "keyframes":
        last = resize_frames(load_image(request.end_image, "end_image")[None], *clip.shape[1:3])
        return keyframes(clip[0], last[0], request.num_keyframes, strength)
    return sdedit(clip, strength)
