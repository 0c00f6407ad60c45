"""VideoPipeline: prompt (+ camera) -> keyframes, with a temporal UNet, a 2D VAE and a diffusers scheduler.

One numbered `__call__` in the style of diffusers' pipelines. An image is a one-frame clip.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
from diffusers import DiffusionPipeline
from diffusers.utils import BaseOutput

import cameras
from videogen.errors import UsageError
from videogen.models.denoiser import CameraUNet3D, camera_condition

OUTPUT_TYPES = ("np", "pt", "pil", "latent")


@dataclass
class VideoPipelineOutput(BaseOutput):
    """frames: np (B, F, H, W, 3) float32 in [0, 1] | pt (B, F, 3, H, W) | pil list of lists | latent (B, C, F, h, w)."""

    frames: Any


class VideoPipeline(DiffusionPipeline):
    """Text-to-video with camera control. Components: text_encoder + tokenizer, vae, denoiser, scheduler.

    The denoiser is a `CameraUNet3D` (native camera conditioning) or any diffusers `UNet3DConditionModel`
    (camera control by warping the initial noise along the camera's flow, training-free).
    """

    model_cpu_offload_seq = "text_encoder->denoiser->vae"

    def __init__(self, text_encoder, tokenizer, vae, denoiser, scheduler):
        super().__init__()
        self.register_modules(text_encoder=text_encoder, tokenizer=tokenizer, vae=vae, denoiser=denoiser, scheduler=scheduler)
        self.vae_scale_factor = 2 ** (len(self.vae.config.block_out_channels) - 1)

    @property
    def default_size(self) -> int:
        """Pixel size the denoiser was trained at."""
        return (self.denoiser.config.sample_size or 16) * self.vae_scale_factor

    def check_inputs(self, prompt, negative_prompt, num_frames, height, width, num_inference_steps, guidance_scale, output_type):
        """Raise UsageError naming the setting, the value and what is allowed."""
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        if not prompts or any(not isinstance(p, str) or not p.strip() for p in prompts):
            raise UsageError(f"prompt: got {prompt!r}; a non-empty text is required")
        if negative_prompt is not None and not isinstance(negative_prompt, str) and len(negative_prompt) != len(prompts):
            raise UsageError(f"negative_prompt: got {len(negative_prompt)} texts for {len(prompts)} prompts; give one, or one per prompt")
        factor = self.vae_scale_factor
        for name, value in (("height", height), ("width", width)):
            if not isinstance(value, int) or value < factor or value % factor:
                raise UsageError(f"{name}: got {value}; must be a positive multiple of {factor} (the VAE's downsampling factor)")
        if not isinstance(num_frames, int) or num_frames < 1:
            raise UsageError(f"num_frames: got {num_frames}; must be an integer >= 1")
        if not isinstance(num_inference_steps, int) or num_inference_steps < 1:
            raise UsageError(f"num_inference_steps: got {num_inference_steps}; must be an integer >= 1")
        if guidance_scale < 0:
            raise UsageError(f"guidance_scale: got {guidance_scale}; must be >= 0 (1 or less disables guidance)")
        if output_type not in OUTPUT_TYPES:
            raise UsageError(f"output_type: got {output_type!r}; allowed: {', '.join(OUTPUT_TYPES)}")
        return prompts

    @torch.no_grad()
    def encode_prompt(self, prompts: list[str], negative_prompt, do_classifier_free_guidance: bool) -> torch.Tensor:
        """MiniLM per-token hidden states, (B, T, D); with guidance the negative/empty prompts come first: (2B, T, D)."""
        if do_classifier_free_guidance:
            if negative_prompt is None or isinstance(negative_prompt, str):
                negatives = [negative_prompt or ""] * len(prompts)
            else:
                negatives = list(negative_prompt)
            prompts = negatives + prompts
        # Pad to the tokenizer's own length (MAX_PROMPT_TOKENS for MiniLM, 77 for CLIP), as the denoiser was trained.
        tokens = self.tokenizer(prompts, padding="max_length", max_length=self.tokenizer.model_max_length, truncation=True, return_tensors="pt")
        tokens = {name: value.to(self.text_encoder.device) for name, value in tokens.items()}
        hidden_states = self.text_encoder(**tokens).last_hidden_state
        return hidden_states.to(self.denoiser.dtype)

    def prepare_latents(self, batch_size, num_frames, height, width, generator, camera_path, trajectory, camera_strength) -> torch.Tensor:
        """Initial noise (B, C, F, h, w), drawn on the CPU so a seed gives the same clip on every device.

        For a denoiser without native camera conditioning, the noise follows the camera's flow.
        """
        shape = (batch_size, self.denoiser.config.in_channels, num_frames, height // self.vae_scale_factor, width // self.vae_scale_factor)
        noise = torch.randn(shape, generator=generator, dtype=torch.float32)
        if not isinstance(self.denoiser, CameraUNet3D) and not camera_path.is_static and camera_strength > 0:
            noise = cameras.warp_noise(noise, trajectory, strength=camera_strength)
        return (noise * self.scheduler.init_noise_sigma).to(self.device, self.denoiser.dtype)

    @torch.no_grad()
    def decode_latents(self, latents: torch.Tensor, chunk_size: int = 16) -> torch.Tensor:
        """(B, C, F, h, w) latents -> (B, F, 3, H, W) float in [0, 1], decoded a chunk of frames at a time."""
        batch, channels, frames, height, width = latents.shape
        latents = latents.permute(0, 2, 1, 3, 4).reshape(batch * frames, channels, height, width)  # -> (B*F, C, h, w)
        latents = latents / self.vae.config.scaling_factor
        images = torch.cat([self.vae.decode(chunk.to(self.vae.dtype)).sample for chunk in latents.split(chunk_size)])
        images = (images.float() / 2 + 0.5).clamp(0, 1)
        return images.reshape(batch, frames, *images.shape[1:])  # (B*F, 3, H, W) -> (B, F, 3, H, W)

    @torch.no_grad()
    def __call__(
        self,
        prompt: str | list[str],
        negative_prompt: str | list[str] | None = None,
        num_frames: int = 16,
        height: int | None = None,
        width: int | None = None,
        num_inference_steps: int = 25,
        guidance_scale: float = 7.5,
        generator: torch.Generator | None = None,
        seed: int | None = None,
        camera=None,
        camera_strength: float = 1.0,
        output_type: str = "np",
        callback_on_step_end: Callable[["VideoPipeline", int, Any, dict], dict | None] | None = None,
    ) -> VideoPipelineOutput:
        """Generate clips (num_frames=1: images).

        camera: a camera spec (string, mapping, keyframe list), a `cameras.CameraPath`, or None (static).
        camera_strength: how strongly a foreign denoiser's initial noise follows the camera (0..1).
        generator / seed: the source of the initial noise; seed makes a CPU generator.
        callback_on_step_end(pipe, step, timestep, {"latents": ...}) may return {"latents": ...} to replace them.
        """
        # 0. Defaults
        height = height or self.default_size
        width = width or self.default_size

        # 1. Check inputs
        prompts = self.check_inputs(prompt, negative_prompt, num_frames, height, width, num_inference_steps, guidance_scale, output_type)
        if generator is None:
            generator = torch.Generator().manual_seed(0 if seed is None else seed)
        do_classifier_free_guidance = guidance_scale > 1.0

        # 2. Encode the prompt
        context = self.encode_prompt(prompts, negative_prompt, do_classifier_free_guidance)

        # 3. Timesteps
        self.scheduler.set_timesteps(num_inference_steps, device=self.device)
        timesteps = self.scheduler.timesteps

        # 4. Camera
        camera_path = camera if isinstance(camera, cameras.CameraPath) else cameras.parse_camera(camera)
        trajectory = camera_path.trajectory(num_frames)
        denoiser_kwargs = {}
        if isinstance(self.denoiser, CameraUNet3D):
            motion = camera_condition(trajectory, height // self.vae_scale_factor, width // self.vae_scale_factor)
            motion = motion[None].expand(context.shape[0], *motion.shape)  # (C, F, h, w) -> (B', C, F, h, w)
            denoiser_kwargs["camera"] = motion.to(self.device, self.denoiser.dtype)

        # 5. Latents
        latents = self.prepare_latents(len(prompts), num_frames, height, width, generator, camera_path, trajectory, camera_strength)

        # 6. Denoise, with classifier-free guidance batched into one forward pass
        for step, timestep in enumerate(self.progress_bar(timesteps)):
            model_input = torch.cat([latents] * 2) if do_classifier_free_guidance else latents
            model_input = self.scheduler.scale_model_input(model_input, timestep)
            prediction = self.denoiser(model_input, timestep, encoder_hidden_states=context, return_dict=False, **denoiser_kwargs)[0]
            if do_classifier_free_guidance:
                unconditional, conditional = prediction.chunk(2)
                prediction = unconditional + guidance_scale * (conditional - unconditional)
            latents = self.scheduler.step(prediction, timestep, latents, return_dict=False)[0]
            if callback_on_step_end is not None:
                replaced = callback_on_step_end(self, step, timestep, {"latents": latents})
                latents = (replaced or {}).get("latents", latents)

        # 7. Decode
        if output_type == "latent":
            return VideoPipelineOutput(frames=latents)
        frames = self.decode_latents(latents)  # (B, F, 3, H, W)
        self.maybe_free_model_hooks()
        if output_type == "pt":
            return VideoPipelineOutput(frames=frames)
        frames = frames.permute(0, 1, 3, 4, 2).cpu().numpy()  # -> (B, F, H, W, 3)
        if output_type == "pil":
            from PIL import Image

            frames = [[Image.fromarray(np.round(frame * 255).astype(np.uint8)) for frame in clip] for clip in frames]
        return VideoPipelineOutput(frames=frames)
