"""VideoPipeline: prompt (+ camera) -> keyframes, with a temporal UNet, a 2D VAE and a diffusers scheduler.

One numbered `__call__` in the style of diffusers' pipelines. An image is a one-frame clip, and every
image or clip mode (image-to-image, inpainting, outpainting, image-to-video, keyframes, video-to-video,
video inpainting, expand, extend) is the same call with a `Conditioning` (see videogen/conditioning.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
from diffusers import DiffusionPipeline
from diffusers.utils import BaseOutput

import cameras
from videogen.conditioning import Conditioning, as_clip, continuation
from videogen.errors import UsageError
from videogen.models.denoiser import CameraUNet3D, camera_condition
from videogen.models.text_encoder import encode_text, sentence_embeddings
from videogen.prompt_weights import format_prompt_weights, parse_prompt_weights
from videogen.vocabulary import Rewrite, Vocabulary, apply_rewrites

OUTPUT_TYPES = ("np", "pt", "pil", "latent")
SHIFT_FEATHER = 2  # latent pixels over which shifted pictures fade out towards frame 0's edges


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

    def __init__(self, text_encoder, tokenizer, vae, denoiser, scheduler, default_camera_shift: float = 0.0, vocabulary: dict | None = None):
        super().__init__()
        self.register_modules(text_encoder=text_encoder, tokenizer=tokenizer, vae=vae, denoiser=denoiser, scheduler=scheduler)
        # camera_shift when a call leaves it unset, and the phrases of the training captions (videogen.vocabulary);
        # both kept in model_index.json by save_pretrained
        self.register_to_config(default_camera_shift=default_camera_shift, vocabulary=vocabulary)
        self.caption_vocabulary = Vocabulary.from_config(vocabulary, "model_index.json")
        self._phrase_embeddings = None  # the vocabulary's, made at the first rewrite
        self.vae_scale_factor = 2 ** (len(self.vae.config.block_out_channels) - 1)

    @property
    def default_size(self) -> int:
        """Pixel size the denoiser was trained at."""
        return (self.denoiser.config.sample_size or 16) * self.vae_scale_factor

    def check_inputs(self, prompt, negative_prompt, num_frames, height, width, num_inference_steps, guidance_scale, output_type, conditioning=None):
        """Raise UsageError naming the setting, the value and what is allowed."""
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        if not prompts or any(not isinstance(p, str) or not parse_prompt_weights(p)[0].strip() for p in prompts):
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
        if conditioning is not None:
            if conditioning.frames.shape != (num_frames, height, width, 3) or conditioning.regenerate.shape != (num_frames, height, width):
                raise UsageError(
                    f"conditioning: frames {conditioning.frames.shape} and regenerate {conditioning.regenerate.shape} do not fit "
                    f"{num_frames} frames of {width}x{height}; leave num_frames, height and width unset to take them from it"
                )
            if not 0 < conditioning.strength <= 1:
                raise UsageError(f"strength: got {conditioning.strength}; must be above 0 and at most 1")
        return prompts

    def phrase_similarity(self, texts: list[str]) -> torch.Tensor:
        """(N, P) cosine similarity of each text to the vocabulary's targets, by the text encoder's sentence embedding,
        on the CPU (the rewriting around it is small CPU work, wherever the encoder runs)."""
        if self._phrase_embeddings is None:
            self._phrase_embeddings = sentence_embeddings(self.text_encoder, self.tokenizer, list(self.caption_vocabulary.targets)).cpu()
        return sentence_embeddings(self.text_encoder, self.tokenizer, texts).cpu() @ self._phrase_embeddings.T

    def rewrite(self, text: str, spans: list[tuple[int, int, float]]) -> tuple[str, list[tuple[int, int, float]], list[Rewrite]]:
        """A plain text and its weighted spans (parse_prompt_weights) as the denoiser reads them, and the rewrites that
        made them: each run of words the model's training captions never used, said as their nearest phrase
        (videogen.vocabulary). A model without a vocabulary reads the text as it is."""
        if self.caption_vocabulary is None:
            return text, spans, []
        rewrites = self.caption_vocabulary.rewrites(text, self.phrase_similarity)
        return *apply_rewrites(text, spans, rewrites), rewrites

    def read_prompt(self, prompt: str) -> tuple[str, list[Rewrite]]:
        """The prompt as the denoiser reads it, its weights kept, and the rewrites that made it (see rewrite)."""
        text, spans, rewrites = self.rewrite(*parse_prompt_weights(prompt))
        return (format_prompt_weights(text, spans) if rewrites else prompt), rewrites

    @torch.no_grad()
    def encode_prompt(self, prompts: list[str], negative_prompt, do_classifier_free_guidance: bool, rewrite_prompt: bool = True) -> torch.Tensor:
        """The denoiser's context (B, T, D): MiniLM's per-token hidden states, and the prompt's clause embeddings after them
        for a denoiser trained with `prompt_clauses` (videogen.models.text_encoder.encode_text); with guidance the
        negative/empty prompts come first: (2B, T, D).

        Weighted words, '(misty:1.3) lake', scale their tokens' hidden states by the weight. With `rewrite_prompt`, each
        prompt (not the negatives) is first read in the model's vocabulary (read_prompt).
        """
        if do_classifier_free_guidance:
            if negative_prompt is None or isinstance(negative_prompt, str):
                negatives = [negative_prompt or ""] * len(prompts)
            else:
                negatives = list(negative_prompt)
            settings = ["negative_prompt"] * len(negatives) + ["prompt"] * len(prompts)
            prompts = negatives + prompts
        else:
            settings = ["prompt"] * len(prompts)
        texts, spans = zip(*(parse_prompt_weights(text, setting) for text, setting in zip(prompts, settings)))
        if rewrite_prompt:  # negative prompts are read as written: "blurry" is no camera move to steer away from
            texts, spans = zip(*(self.rewrite(text, weighted)[:2] if setting == "prompt" else (text, weighted)
                                 for text, weighted, setting in zip(texts, spans, settings)))
        # Padded to the tokenizer's own length (MAX_PROMPT_TOKENS for MiniLM, 77 for CLIP), as the denoiser was trained.
        clauses = self.denoiser.config.get("prompt_clauses", 0)
        return encode_text(self.text_encoder, self.tokenizer, list(texts), list(spans), clauses).to(self.denoiser.dtype)

    def prepare_noise(self, batch_size, num_frames, height, width, generator, camera_path, trajectory, camera_strength) -> torch.Tensor:
        """Unit Gaussian noise (B, C, F, h, w), drawn on the CPU so a seed gives the same clip on every device.

        For a denoiser without native camera conditioning, the noise follows the camera's flow.
        """
        shape = (batch_size, self.denoiser.config.in_channels, num_frames, height // self.vae_scale_factor, width // self.vae_scale_factor)
        noise = torch.randn(shape, generator=generator, dtype=torch.float32)
        if not isinstance(self.denoiser, CameraUNet3D) and not camera_path.is_static and camera_strength > 0:
            noise = cameras.warp_noise(noise, trajectory, strength=camera_strength, generator=generator)  # seeded fills
        return noise.to(self.device, self.denoiser.dtype)

    def get_timesteps(self, num_inference_steps: int, strength: float) -> torch.Tensor:
        """The last `strength` share of the schedule's timesteps (SDEdit, Meng et al. 2022); strength 1: all of them."""
        self.scheduler.set_timesteps(num_inference_steps, device=self.device)
        denoising_steps = min(int(num_inference_steps * strength), num_inference_steps)
        if denoising_steps < 1:
            raise UsageError(f"strength: {strength} of {num_inference_steps} steps leaves no step to denoise; raise strength or steps")
        start = (num_inference_steps - denoising_steps) * self.scheduler.order
        if hasattr(self.scheduler, "set_begin_index"):  # multistep schedulers index their sigmas from here
            self.scheduler.set_begin_index(start)
        return self.scheduler.timesteps[start:]

    def prepare_latents(self, noise: torch.Tensor, known: torch.Tensor | None, timesteps: torch.Tensor, strength: float) -> torch.Tensor:
        """The first latents: noise at the scheduler's initial scale, or (strength < 1) the known latents noised to the first timestep."""
        if known is None or strength == 1:
            return noise * self.scheduler.init_noise_sigma
        return self.scheduler.add_noise(known, noise, timesteps[:1])

    @torch.no_grad()
    def encode_frames(self, frames: np.ndarray, chunk_size: int = 16) -> torch.Tensor:
        """(F, H, W, 3) float in [0, 1] -> VAE latents (1, C, F, h, w), the posterior means, scaled like the denoiser's inputs."""
        pixels = torch.from_numpy(frames).permute(0, 3, 1, 2) * 2 - 1  # (F, H, W, 3) -> (F, 3, H, W) in [-1, 1]
        pixels = pixels.to(self.device, self.vae.dtype)
        latents = torch.cat([self.vae.encode(chunk).latent_dist.mode() for chunk in pixels.split(chunk_size)])
        latents = latents * self.vae.config.scaling_factor
        return latents.permute(1, 0, 2, 3)[None].to(self.denoiser.dtype)  # (F, C, h, w) -> (1, C, F, h, w)

    @torch.no_grad()
    def decode_latents(self, latents: torch.Tensor, chunk_size: int = 16) -> torch.Tensor:
        """(B, C, F, h, w) latents -> (B, F, 3, H, W) float in [0, 1], decoded a chunk of frames at a time."""
        batch, channels, frames, height, width = latents.shape
        latents = latents.permute(0, 2, 1, 3, 4).reshape(batch * frames, channels, height, width)  # -> (B*F, C, h, w)
        latents = latents / self.vae.config.scaling_factor
        images = torch.cat([self.vae.decode(chunk.to(self.vae.dtype)).sample for chunk in latents.split(chunk_size)])
        images = (images.float() / 2 + 0.5).clamp(0, 1)
        return images.reshape(batch, frames, *images.shape[1:])  # (B*F, 3, H, W) -> (B, F, 3, H, W)

    @property
    def num_timesteps(self) -> int:
        """Denoising steps the last call ran (fewer than num_inference_steps when strength < 1)."""
        return self._num_timesteps

    @torch.no_grad()
    def __call__(
        self,
        prompt: str | list[str],
        negative_prompt: str | list[str] | None = None,
        num_frames: int | None = None,
        height: int | None = None,
        width: int | None = None,
        num_inference_steps: int = 25,
        guidance_scale: float = 7.5,
        generator: torch.Generator | None = None,
        seed: int | None = None,
        camera=None,
        camera_strength: float = 1.0,
        camera_shift: float | None = None,
        conditioning: Conditioning | None = None,
        rewrite_prompt: bool = True,
        output_type: str = "np",
        callback_on_step_end: Callable[["VideoPipeline", int, Any, dict], dict | None] | None = None,
    ) -> VideoPipelineOutput:
        """Generate clips (num_frames=1: images), from text alone or conditioned on images and clips.

        num_frames / height / width: default 16 and the model's size, or the conditioning's.
        camera: a camera spec (string, mapping, keyframe list), a `cameras.CameraPath`, or None: no camera, so the
            denoiser moves as the prompt's words say. An explicit static camera ("static") is a locked-off one: the
            latent shift below holds frame 0 in place as it carries it along any other path.
        camera_strength: how strongly the training-free controls follow the camera (0..1): a foreign denoiser's
            initial noise, and the latent shift below.
        camera_shift: share of the denoising steps (0..1) after which the latents are pulled along the camera
            (`cameras.shift_latents`: each frame blended with frame 0 warped into it), for any denoiser; at 1 the
            decoded frames are shifted the same way. None: the model's `default_camera_shift` (from its
            model_index.json; 0 when absent).
        conditioning: pixels to keep and start from (videogen.conditioning: sdedit, inpaint, outpaint,
            image_to_video, keyframes, continuation). Kept latents are replaced at every step by the input's
            latents noised to that step's level -- blended latent diffusion (Avrahami et al. 2023), chosen over
            RePaint's resampling because it works with any diffusers scheduler through `add_noise` (RePaint's
            jumps back assume an ancestral DDPM sampler) and costs no extra denoiser passes, where RePaint's
            resampling multiplies them (10x in the paper). Kept pixels are then pasted back exactly, with the
            seam feathered into the regenerated side.
        rewrite_prompt: read words the model never trained on as the nearest training phrase (read_prompt); models
            without a vocabulary in their model_index.json read every prompt as it is.
        generator / seed: the source of the initial noise; seed makes a CPU generator.
        callback_on_step_end(pipe, step, timestep, {"latents": ...}) may return {"latents": ...} to replace them.
        """
        # 0. Defaults: the conditioning's shape, else 16 frames at the model's size
        default_frames, default_height, default_width = (16, self.default_size, self.default_size) if conditioning is None else conditioning.frames.shape[:3]
        num_frames = default_frames if num_frames is None else num_frames
        height = height or default_height
        width = width or default_width

        # 1. Check inputs
        prompts = self.check_inputs(prompt, negative_prompt, num_frames, height, width, num_inference_steps, guidance_scale, output_type, conditioning)
        camera_shift = self.config.default_camera_shift if camera_shift is None else camera_shift
        if not 0 <= camera_shift <= 1:
            raise UsageError(f"camera_shift: got {camera_shift}; must be between 0 and 1 (a share of the steps)")
        if generator is None:
            generator = torch.Generator().manual_seed(0 if seed is None else seed)
        do_classifier_free_guidance = guidance_scale > 1.0
        strength = 1.0 if conditioning is None else conditioning.strength

        # 2. Encode the prompt
        context = self.encode_prompt(prompts, negative_prompt, do_classifier_free_guidance, rewrite_prompt)

        # 3. Timesteps: strength < 1 starts part-way down the schedule (SDEdit)
        timesteps = self.get_timesteps(num_inference_steps, strength)
        self._num_timesteps = len(timesteps)

        # 4. Camera
        camera_path = camera if isinstance(camera, cameras.CameraPath) else cameras.parse_camera(camera)
        trajectory = camera_path.trajectory(num_frames)
        denoiser_kwargs = {}
        if isinstance(self.denoiser, CameraUNet3D):
            motion = camera_condition(trajectory, height // self.vae_scale_factor, width // self.vae_scale_factor)
            motion = motion[None].expand(context.shape[0], *motion.shape)  # (C, F, h, w) -> (B', C, F, h, w)
            denoiser_kwargs["camera"] = motion.to(self.device, self.denoiser.dtype)

        # 5. Latents: noise, or the conditioning's latents noised to the first timestep
        noise = self.prepare_noise(len(prompts), num_frames, height, width, generator, camera_path, trajectory, camera_strength)
        known = regenerate = None
        if conditioning is not None:
            known = self.encode_frames(conditioning.frames).expand_as(noise)  # (1, C, F, h, w) -> (B, C, F, h, w)
            regenerate = conditioning.latent_regenerate(self.vae_scale_factor).to(self.device)  # (1, 1, F, h, w)
        latents = self.prepare_latents(noise, known, timesteps, strength)

        # 6. Denoise, with classifier-free guidance batched into one forward pass
        shift_steps = 0 if camera is None else round(camera_shift * len(timesteps))
        for step, timestep in enumerate(self.progress_bar(timesteps)):
            if known is not None:  # blended latent diffusion: kept latents follow the input at this step's noise level
                latents = torch.where(regenerate, latents, self.scheduler.add_noise(known, noise, timestep.reshape(1)))
            model_input = torch.cat([latents] * 2) if do_classifier_free_guidance else latents
            model_input = self.scheduler.scale_model_input(model_input, timestep)
            prediction = self.denoiser(model_input, timestep, encoder_hidden_states=context, return_dict=False, **denoiser_kwargs)[0]
            if do_classifier_free_guidance:
                unconditional, conditional = prediction.chunk(2)
                prediction = unconditional + guidance_scale * (conditional - unconditional)
            latents = self.scheduler.step(prediction, timestep, latents, return_dict=False)[0]
            if step < shift_steps:  # training-free camera control: early latents follow the path
                latents = cameras.shift_latents(latents, trajectory, strength=camera_strength)
            if callback_on_step_end is not None:
                replaced = callback_on_step_end(self, step, timestep, {"latents": latents})
                latents = (replaced or {}).get("latents", latents)
        if known is not None:
            latents = torch.where(regenerate, latents, known)

        # 7. Decode, pasting kept pixels back over the decoded frames
        if output_type == "latent":
            return VideoPipelineOutput(frames=latents)
        frames = self.decode_latents(latents)  # (B, F, 3, H, W)
        if shift_steps and shift_steps == len(timesteps):
            # the latents followed the camera to the last step: move the pictures the same way, because a decoder
            # draws a latent warped by a fraction of a latent pixel as a cross-fade, not as motion; the feather
            # keeps frame 0's decoded border out of the picture and hides the seam with the uncovered pixels
            frames = cameras.shift_latents(frames.transpose(1, 2), trajectory, strength=camera_strength,
                                           feather=SHIFT_FEATHER * self.vae_scale_factor).transpose(1, 2)
        self.maybe_free_model_hooks()
        if conditioning is not None:
            kept = torch.from_numpy(conditioning.frames).permute(0, 3, 1, 2).to(frames)  # (F, H, W, 3) -> (F, 3, H, W)
            weights = torch.from_numpy(conditioning.blend_weights())[:, None].to(frames)  # (F, H, W) -> (F, 1, H, W)
            frames = kept * (1 - weights) + frames * weights  # kept pixels (weight 0) come back bit-exact
        if output_type == "pt":
            return VideoPipelineOutput(frames=frames)
        frames = frames.permute(0, 1, 3, 4, 2).cpu().numpy()  # -> (B, F, H, W, 3)
        if output_type == "pil":
            from PIL import Image

            frames = [[Image.fromarray(np.round(frame * 255).astype(np.uint8)) for frame in clip] for clip in frames]
        return VideoPipelineOutput(frames=frames)

    def extend(
        self,
        prompt: str,
        clip: np.ndarray,
        num_new_frames: int,
        window: int = 16,
        context: int = 4,
        strength: float = 1.0,
        generator: torch.Generator | None = None,
        seed: int | None = None,
        **settings,
    ) -> np.ndarray:
        """Continue `clip` (F, H, W, 3) by num_new_frames, one window at a time: each window keeps the last
        `context` frames made so far and generates `window - context` more. Returns (F + num_new_frames, H, W, 3)
        float32; the input frames come back unchanged. `settings` are __call__'s (steps, guidance, camera...)."""
        context = min(context, len(clip))
        if window <= context:
            raise UsageError(f"keyframes: an extend window of {window} frames leaves none to generate after {context} context frames")
        if generator is None:  # one generator for every window, so windows get fresh noise
            generator = torch.Generator().manual_seed(0 if seed is None else seed)
        frames = [as_clip(clip, "clip")]
        made = 0
        while made < num_new_frames:
            new = min(window - context, num_new_frames - made)
            condition = continuation(np.concatenate(frames)[-context:], new, strength)
            window_frames = self(prompt, conditioning=condition, generator=generator, output_type="np", **settings).frames[0]
            frames.append(window_frames[context:])
            made += new
        return np.concatenate(frames)
