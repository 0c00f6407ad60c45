"""The camera-conditioned temporal UNet: diffusers' UNet3DConditionModel plus per-frame camera motion.

Camera motion enters as extra input channels (CameraCtrl-style dense conditioning, He et al. 2024, with
the trajectory's 2D motion instead of Plücker rays because it is what the model has to reproduce): for
every latent pixel of frame f, where that content sat in the previous frame and in frame 0, for a
fronto-parallel plane at the presets' subject depth. A static camera is all zeros, so the model called without
a camera -- exactly like a UNet3DConditionModel, as diffusers' TextToVideoSDPipeline calls it -- is the
static-camera model.

Input channels reach only the first convolution. With `camera_embedding`, a summary of each frame's motion
(shift, zoom, roll) is also embedded and added to the time embedding of that frame in every residual block
(the way AnimateDiff's and MotionCtrl's camera signals reach every level), so every block knows where the
camera goes. With `text_embedding`, the prompt's mean token state is embedded and added there too (Imagen's pooled
text embedding, Saharia et al. 2022): global words such as the weather or the time of day reach every block
directly, not only the levels with cross-attention.
"""

from __future__ import annotations

import numpy as np
import torch
from diffusers import ModelMixin, UNet3DConditionModel  # noqa: F401 -- ModelMixin: see below
from diffusers.configuration_utils import register_to_config
from diffusers.models.resnet import ResnetBlock2D
from torch import nn

from cameras import DEFAULT_DEPTH

# DiffusionPipeline.from_pretrained finds a custom component's loading base class (ModelMixin) by name in
# the component's own module, hence the import above.
CAMERA_CHANNELS = 4  # (dx, dy) to the previous frame + (dx, dy) to frame 0
MOTION_FEATURES = 8  # shift x, shift y, zoom, roll; to the previous frame and to frame 0


def camera_condition(trajectory, height: int, width: int) -> torch.Tensor:
    """Dense backward displacement of a fronto-parallel plane at the presets' depth, in latent pixels.

    Latent pixels keep the inputs near the latents' unit scale (a pan moves ~0.2 per frame); in units of
    the width they were ~0.01 and the zero-initialised camera weights barely learned.
    Returns (CAMERA_CHANNELS, F, height, width) float32; frame 0 is zero.
    """
    homographies = trajectory.homographies(width, height, depth=DEFAULT_DEPTH)  # (F, 3, 3): frame 0 -> f
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64) + 0.5
    pixels = np.stack([xs, ys, np.ones_like(xs)], axis=-1).reshape(-1, 3)  # (H*W, 3)
    to_first = []
    for homography in homographies:
        source = pixels @ np.linalg.inv(homography).T  # where frame f's pixels were in frame 0
        to_first.append(source[:, :2] / source[:, 2:3] - pixels[:, :2])
    to_first = np.stack(to_first).reshape(len(homographies), height, width, 2)  # (F, H, W, 2)
    to_previous = np.zeros_like(to_first)
    to_previous[1:] = to_first[1:] - to_first[:-1]
    features = np.concatenate([to_previous, to_first], axis=-1)  # (F, H, W, 4)
    return torch.from_numpy(features.astype(np.float32)).permute(3, 0, 1, 2)  # -> (4, F, H, W)


def motion_summary(camera: torch.Tensor) -> torch.Tensor:
    """Per-frame global motion of a dense camera condition (B, 4, F, h, w) -> (B, F, 8): for the displacement to
    the previous frame and to frame 0, the mean shift (x, y) and the zoom (divergence) and roll (curl) about the
    centre, the last two as the displacement they cause at the edge, so all are in latent pixels."""
    batch, _, frames, height, width = camera.shape
    ys = torch.arange(height, dtype=camera.dtype, device=camera.device) - (height - 1) / 2
    xs = torch.arange(width, dtype=camera.dtype, device=camera.device) - (width - 1) / 2
    y, x = torch.meshgrid(ys, xs, indexing="ij")
    u, v = camera[:, 0::2], camera[:, 1::2]  # x and y displacement, (B, 2, F, h, w): to previous, to first
    radius = (x * x + y * y).mean()
    edge = width / 2
    zoom = (u * x + v * y).mean(dim=(-2, -1)) / radius * edge
    roll = (v * x - u * y).mean(dim=(-2, -1)) / radius * edge
    features = torch.stack([u.mean(dim=(-2, -1)), v.mean(dim=(-2, -1)), zoom, roll], dim=-1)  # (B, 2, F, 4)
    return features.permute(0, 2, 1, 3).reshape(batch, frames, MOTION_FEATURES)


def pool_text(encoder_hidden_states: torch.Tensor) -> torch.Tensor:
    """The pooled text the text embedding reads: the mean over all token states, padding included. (B, T, D) -> (B, D)"""
    return encoder_hidden_states.mean(dim=1)


def silent_embedder(features: int, width: int) -> nn.Sequential:
    """A two-layer MLP to the time-embedding width whose output layer starts at zero: adding it to a trained
    model changes nothing until it learns."""
    embedder = nn.Sequential(nn.Linear(features, width), nn.SiLU(), nn.Linear(width, width))
    nn.init.zeros_(embedder[-1].weight)
    nn.init.zeros_(embedder[-1].bias)
    return embedder


class PassThrough(nn.Module):
    """Stands in for UNet3DConditionModel's transformer_in: returns the features as they came, as its (output,) tuple."""

    def forward(self, hidden_states: torch.Tensor, *args, **kwargs) -> tuple[torch.Tensor]:
        return (hidden_states,)


class CameraUNet3D(UNet3DConditionModel):
    """UNet3DConditionModel whose conv_in also reads CAMERA_CHANNELS of per-frame camera motion, and whose residual
    blocks add to their time embedding an embedding of each frame's motion_summary (with camera_embedding) and of
    the prompt's mean token state (with text_embedding). input_temporal_transformer=False drops the temporal
    transformer diffusers puts before the first block (transformer_in). prompt_clauses adds no weights: it tells the
    pipeline to append that many clause embeddings to the token states its cross-attention reads
    (videogen.models.text_encoder.clause_states), as the model was trained."""

    @register_to_config
    def __init__(
        self,
        sample_size: int | None = None,
        in_channels: int = 4,
        out_channels: int = 4,
        down_block_types: tuple[str, ...] = ("CrossAttnDownBlock3D", "CrossAttnDownBlock3D", "DownBlock3D"),
        up_block_types: tuple[str, ...] = ("UpBlock3D", "CrossAttnUpBlock3D", "CrossAttnUpBlock3D"),
        block_out_channels: tuple[int, ...] = (64, 128, 256),
        layers_per_block: int = 1,
        norm_num_groups: int = 32,
        cross_attention_dim: int = 384,
        attention_head_dim: int = 32,
        num_attention_heads: int | None = None,
        act_fn: str = "silu",
        norm_eps: float = 1e-5,
        downsample_padding: int = 1,
        mid_block_scale_factor: float = 1,
        time_cond_proj_dim: int | None = None,
        camera_channels: int = CAMERA_CHANNELS,
        camera_embedding: bool = False,
        text_embedding: bool = False,
        input_temporal_transformer: bool = True,
        prompt_clauses: int = 0,
    ):
        super().__init__(
            sample_size=sample_size,
            in_channels=in_channels,
            out_channels=out_channels,
            down_block_types=down_block_types,
            up_block_types=up_block_types,
            block_out_channels=block_out_channels,
            layers_per_block=layers_per_block,
            norm_num_groups=norm_num_groups,
            cross_attention_dim=cross_attention_dim,
            attention_head_dim=attention_head_dim,
            num_attention_heads=num_attention_heads,
            act_fn=act_fn,
            norm_eps=norm_eps,
            downsample_padding=downsample_padding,
            mid_block_scale_factor=mid_block_scale_factor,
            time_cond_proj_dim=time_cond_proj_dim,
        )
        if not input_temporal_transformer:
            # diffusers gives transformer_in 8 heads of attention_head_dim channels whatever the width of the first
            # level: at the built-in sizes a 256-channel transformer on every 32-channel pixel of every frame, half of
            # the UNet's compute (measured), beside the temporal attention and convolutions every block already has.
            self.transformer_in = PassThrough()
        # Widen conv_in for the camera channels; their weights start at zero so training begins from
        # the static-camera model.
        plain = self.conv_in
        self.conv_in = nn.Conv2d(in_channels + camera_channels, plain.out_channels, plain.kernel_size, padding=plain.padding)
        with torch.no_grad():
            self.conv_in.weight.zero_()
            self.conv_in.weight[:, :in_channels] = plain.weight
            self.conv_in.bias.copy_(plain.bias)
        self._frame_embedding = None  # (B*F, D) during a forward call with either embedding
        width = self.time_embedding.linear_2.out_features
        if camera_embedding:
            self.camera_embedder = silent_embedder(MOTION_FEATURES, width)
        if text_embedding:
            self.text_embedder = silent_embedder(cross_attention_dim, width)
        if camera_embedding or text_embedding:
            for module in self.modules():
                if isinstance(module, ResnetBlock2D):
                    module.register_forward_pre_hook(self._add_frame_embedding)

    def _add_frame_embedding(self, block: nn.Module, args: tuple) -> tuple:
        """Forward pre-hook of every residual block: (hidden_states, temb) -> (hidden_states, temb + embeddings)."""
        hidden_states, temb = args[:2]
        return (hidden_states, temb + self._frame_embedding.to(temb), *args[2:])

    def forward(self, sample: torch.Tensor, timestep, encoder_hidden_states: torch.Tensor, camera: torch.Tensor | None = None,
                pooled_text: torch.Tensor | None = None, **kwargs):
        """sample (B, C, F, h, w); camera (B, camera_channels, F, h, w) from `camera_condition`, None = static;
        pooled_text (B, cross_attention_dim) for the text embedding, None = the mean of encoder_hidden_states (training
        passes the real caption's while cross-attention reads the empty one, see train_denoiser's pooled_text_share)."""
        batch, _, frames, height, width = sample.shape
        if camera is None:
            camera = sample.new_zeros(batch, self.config.camera_channels, frames, height, width)
        camera = camera.to(sample)
        embeddings = []  # each (B*F, D), frame-major within a clip like UNet3DConditionModel's temb
        if self.config.camera_embedding:
            embeddings.append(self.camera_embedder(motion_summary(camera)).flatten(0, 1))
        if self.config.text_embedding:
            pooled = pool_text(encoder_hidden_states) if pooled_text is None else pooled_text  # (B, cross_attention_dim)
            embeddings.append(self.text_embedder(pooled.to(sample)).repeat_interleave(frames, dim=0))
        if embeddings:
            self._frame_embedding = sum(embeddings)
        sample = torch.cat([sample, camera], dim=1)  # (B, C + camera_channels, F, h, w)
        try:
            return super().forward(sample, timestep, encoder_hidden_states, **kwargs)
        finally:
            self._frame_embedding = None
