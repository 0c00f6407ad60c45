"""Train the built-in camera-conditioned temporal UNet on cached world latents, MiniLM captions and cameras.

Objective: v-prediction (Salimans & Ho 2022) on a cosine schedule rescaled to zero terminal SNR (Lin et al.
2024), with min-SNR-5 loss weighting (Hang et al. 2023) truncated below at SNR 1 (Salimans & Ho 2022); see docs/MODEL_CARD.md for why. Joint image and
video training: every third step is a batch of single frames (num_frames=1), the others clips of 8 frames.
Captions are re-phrased by the world's grammar every time a clip is drawn and dropped 10% of the time for
classifier-free guidance (Ho & Salimans 2022); the camera condition is dropped 30% of the time so the
camera words in a prompt also steer the motion.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import DDPMScheduler, DPMSolverMultistepScheduler
from torch import nn

import cameras
from postprocess.preview import contact_sheet, save_png
from videogen.errors import UsageError
from videogen.models.denoiser import CameraUNet3D, camera_condition, pool_text
from videogen.models.text_encoder import encode_text, load_minilm
from videogen.train.data import ClipStore, counterfactual_pairs
from videogen.train.loop import TrainLog, save_checkpoint, start_run, update_ema
from videogen.train.vae import added_channel_rotation
from videogen.world import caption, scene_trajectory

NUM_TRAIN_TIMESTEPS = 1000
SCHEDULE = {"beta_schedule": "squaredcos_cap_v2", "prediction_type": "v_prediction", "rescale_betas_zero_snr": True}
CLIP_FRAMES = 8
PREVIEW_PROMPTS = (
    "sunset over a mountain lake, golden hour, camera pans right",
    "snowy peaks at night under a starry sky, still camera",
    "a watercolor of rolling hills with a forest at noon, slow zoom in",
    "pixel art of a city skyline by the sea at dusk, a boat",
)


def builtin_denoiser(latent_channels: int = 4, layers_per_block: int = 1, prompt_clauses: int = 0) -> CameraUNet3D:
    """The built-in UNet (5.4M parameters at one layer per block, sized for 2 CPU cores): three levels at 16x16
    latents, MiniLM-width cross-attention (on `prompt_clauses` clause embeddings after the token states), camera
    channels, the per-frame camera embedding and the pooled text embedding, and no input temporal transformer (until
    session 13 it had one: 1.3M parameters and half of the compute)."""
    return CameraUNet3D(
        sample_size=16,
        in_channels=latent_channels,
        out_channels=latent_channels,
        block_out_channels=(32, 64, 128),
        layers_per_block=layers_per_block,
        cross_attention_dim=384,
        attention_head_dim=32,
        camera_embedding=True,
        text_embedding=True,
        input_temporal_transformer=False,
        prompt_clauses=prompt_clauses,
    )


LAYER_PARTS = ("resnets", "temp_convs", "attentions", "temp_attentions")  # one layer of a 3D block, in forward order


def deeper_names(saved_layers: int, layers: int, blocks: int) -> dict[str, str]:
    """Where a UNet with `saved_layers` per block keeps each layer in one with `layers` per block: a down block's
    layers stay first and its new ones come after them; an up block's first layer stays first and the rest move to
    the end, so the new ones sit between and every kept layer still reads the skip connection it was trained on (the
    new down layers start as identities, so the skips they add equal the ones the old up layers read).
    {"up_blocks.b.resnets.j": "up_blocks.b.resnets.k", ...} for the up-block layers that move."""
    added = layers - saved_layers
    return {f"up_blocks.{block}.{part}.{index}": f"up_blocks.{block}.{part}.{index + added}"
            for block in range(blocks) for part in LAYER_PARTS for index in range(1, saved_layers + 1)}


def make_identity(block: nn.Module, index: int) -> None:
    """Layer `index` of a 3D UNet block becomes the identity on its input features: the residual branches of its resnet,
    temporal convolution and (spatial, temporal) transformers output zero, and an up block's resnet passes its input
    through its 1x1 shortcut and ignores the skip connection concatenated after it (Net2Net's identity layers, Chen et
    al. 2016): the deeper UNet computes what the saved one did until training moves these weights."""
    resnet = block.resnets[index]
    nn.init.zeros_(resnet.conv2.weight)
    nn.init.zeros_(resnet.conv2.bias)
    if resnet.conv_shortcut is not None:  # (out + skip) -> out channels: the first `out` are the input
        weight = torch.zeros_like(resnet.conv_shortcut.weight)
        weight[:, : weight.shape[0], 0, 0] = torch.eye(weight.shape[0])
        resnet.conv_shortcut.weight.copy_(weight)
        nn.init.zeros_(resnet.conv_shortcut.bias)
    last_conv = block.temp_convs[index].conv4[-1]
    nn.init.zeros_(last_conv.weight)
    nn.init.zeros_(last_conv.bias)
    for part in ("attentions", "temp_attentions"):
        if hasattr(block, part):
            nn.init.zeros_(getattr(block, part)[index].proj_out.weight)
            nn.init.zeros_(getattr(block, part)[index].proj_out.bias)


def warm_start(init: str, latent_channels: int, layers_per_block: int | None = None, prompt_clauses: int | None = None) -> CameraUNet3D:
    """The built-in architecture for latents of `latent_channels` with every weight of a saved CameraUNet3D whose
    name and shape still fit: all of a saved built-in UNet; of one trained on a VAE with fewer latent channels (up to
    half), all, with conv_in and conv_out grown as the VAE grows (grow_latent_convs), so on a VAE grown from that one
    (`videogen train vae --init ... --latent-channels`) the UNet starts as the saved one; of one on any other VAE's
    latents, all but conv_in and conv_out; all but the camera or text embedding
    (each starts at zero) of one saved before it existed; all but
    the input temporal transformer of one saved with it. With more `layers_per_block` than the saved UNet (None: as
    many), the new layers start as identities (see deeper_names and make_identity). prompt_clauses (None: the saved
    UNet's) changes no weight, only what cross-attention is given to read."""
    saved = CameraUNet3D.from_pretrained(init, torch_dtype=torch.float32)
    saved_layers = saved.config.layers_per_block
    layers = saved_layers if layers_per_block is None else layers_per_block
    if layers < saved_layers:
        raise UsageError(f"init: {init} has {saved_layers} layers per block; a run from it can add layers, not remove them "
                         f"(asked: {layers})")
    clauses = saved.config.get("prompt_clauses", 0) if prompt_clauses is None else prompt_clauses
    model = builtin_denoiser(latent_channels, layers, clauses)
    moved = deeper_names(saved_layers, layers, len(saved.up_blocks))
    renamed = {}
    for name, value in saved.state_dict().items():
        prefix = ".".join(name.split(".")[:4])
        renamed[moved[prefix] + name[len(prefix):] if prefix in moved else name] = value
    fresh = model.state_dict()
    with torch.no_grad():
        for block in model.down_blocks:
            for index in range(saved_layers, layers):
                make_identity(block, index)
        for block in model.up_blocks:
            for index in range(1, 1 + layers - saved_layers):
                make_identity(block, index)
    model.load_state_dict({name: value for name, value in renamed.items() if name in fresh and fresh[name].shape == value.shape},
                          strict=False)
    if saved.config.in_channels < latent_channels <= 2 * saved.config.in_channels:
        grow_latent_convs(model, saved)
    return model


@torch.no_grad()
def grow_latent_convs(model: CameraUNet3D, saved: CameraUNet3D) -> None:
    """Give `model` the conv_in and conv_out of `saved`, a UNet on fewer latent channels, for a VAE grown as
    grow_latent_channels grows it: conv_in reads the old channels as before (the new ones at zero weight), and
    conv_out predicts the new channels as the same rotation of its old predictions, so the model starts as `saved`."""
    old, new = saved.config.in_channels, model.config.in_channels
    rotation = added_channel_rotation(old, new)  # (new - old, old)
    model.conv_in.weight.zero_()
    model.conv_in.weight[:, :old] = saved.conv_in.weight[:, :old]
    model.conv_in.weight[:, new:] = saved.conv_in.weight[:, old:]  # conv_in reads [latent channels, camera channels]
    model.conv_in.bias.copy_(saved.conv_in.bias)
    model.conv_out.weight.copy_(torch.cat([saved.conv_out.weight, torch.einsum("no,ochw->nchw", rotation, saved.conv_out.weight)]))
    model.conv_out.bias.copy_(torch.cat([saved.conv_out.bias, rotation @ saved.conv_out.bias]))


def training_scheduler() -> DDPMScheduler:
    return DDPMScheduler(num_train_timesteps=NUM_TRAIN_TIMESTEPS, **SCHEDULE)


def inference_scheduler() -> DPMSolverMultistepScheduler:
    """DPM-Solver++ (Lu et al. 2022) on the training schedule; trailing spacing starts at pure noise."""
    scheduler = DPMSolverMultistepScheduler(
        num_train_timesteps=NUM_TRAIN_TIMESTEPS, timestep_spacing="trailing", final_sigmas_type="zero", **SCHEDULE
    )
    # Saved with the model so that DDIM or DDPM made by from_config (the diffusers way to swap samplers) does not
    # clip its predicted latents to [-1, 1] by default: unit-variance latents clipped so draw one grey picture.
    scheduler.register_to_config(clip_sample=False)
    return scheduler


class Batches:
    """Draws training batches from a ClipStore (or the clips `pool` lists): latents, captions and camera conditions.
    pairs: (P, 2) clip indices of the store's counterfactual pairs (data.counterfactual_pairs), drawn by draw_pairs."""

    def __init__(self, store: ClipStore, seed: int, caption_dropout: float = 0.1, camera_dropout: float = 0.3,
                 pool: list[int] | None = None, pairs: np.ndarray | None = None, complete_caption_share: float = 0.0):
        self.store, self.rng = store, np.random.default_rng(seed)
        self.pool = np.arange(len(store.scenes)) if pool is None else np.asarray(pool)
        self.pairs = pairs
        self.caption_dropout, self.camera_dropout = caption_dropout, camera_dropout
        self.complete_caption_share = complete_caption_share
        self.trajectories = {}

    def _trajectory(self, index: int):
        if index not in self.trajectories:
            scene = self.store.scenes[index]
            self.trajectories[index] = scene_trajectory(scene, self.store.latents.shape[1])
        return self.trajectories[index]

    def _caption(self, index: int) -> str:
        if self.rng.random() < self.caption_dropout:
            return ""
        return caption(self.store.scenes[index], self.rng, complete=self._complete())

    def _complete(self) -> bool:
        """Whether the next caption names every attribute; draws nothing at share 0, so earlier runs draw as before."""
        return self.complete_caption_share > 0 and self.rng.random() < self.complete_caption_share

    def _caption_pair(self, first: int, second: int) -> list[str]:
        """Captions of a counterfactual pair made with the same choices, so they differ only in the changed attribute's
        words; drawn again while those words go unsaid (an optional detail left out), dropped together."""
        if self.rng.random() < self.caption_dropout:
            return ["", ""]
        complete = self._complete()
        for _ in range(8):
            seed = int(self.rng.integers(2**32))
            texts = [caption(self.store.scenes[index], np.random.default_rng(seed), complete=complete)
                     for index in (first, second)]
            if texts[0] != texts[1]:
                break
        return texts

    def _window(self, index: int, frames: int) -> tuple[torch.Tensor, torch.Tensor]:
        """A random window of `frames` of clip `index` (stride 1 or more): latents (C, F, h, w), camera (4, F, h, w)."""
        total_frames = self.store.latents.shape[1]
        stride = 1 if frames == 1 else int(self.rng.integers(1, (total_frames - 1) // (frames - 1) + 1))
        start = int(self.rng.integers(0, total_frames - stride * (frames - 1)))
        chosen = np.arange(start, start + stride * (frames - 1) + 1, stride)
        window = torch.from_numpy(self.store.latents[index, chosen].astype(np.float32))  # (F, C, h, w)
        full = self._trajectory(index)
        trajectory = cameras.Trajectory(c2w=full.c2w[chosen], focal=full.focal[chosen])
        condition = camera_condition(trajectory, *window.shape[-2:])
        if self.rng.random() < self.camera_dropout:
            condition = torch.zeros_like(condition)
        return window.permute(1, 0, 2, 3), condition  # (F, C, h, w) -> (C, F, h, w)

    def draw(self, clips: int, frames: int) -> tuple[torch.Tensor, list[str], torch.Tensor]:
        """latents (B, C, F, h, w), captions (B,), camera (B, 4, F, h, w) for `clips` windows of `frames`."""
        indices = self.pool[self.rng.integers(len(self.pool), size=clips)]
        latents, motion = zip(*(self._window(index, frames) for index in indices))
        return torch.stack(latents), [self._caption(index) for index in indices], torch.stack(motion)

    def draw_pairs(self, count: int) -> tuple[torch.Tensor, list[str], torch.Tensor]:
        """`count` counterfactual pairs of single frames, each pair's two side by side:
        latents (2 count, C, 1, h, w), captions (2 count,), camera (2 count, 4, 1, h, w)."""
        indices = self.pairs[self.rng.integers(len(self.pairs), size=count)].reshape(-1)  # (count, 2) -> (2 count,)
        latents, motion = zip(*(self._window(index, 1) for index in indices))
        captions = [text for first, second in zip(indices[0::2], indices[1::2]) for text in self._caption_pair(first, second)]
        return torch.stack(latents), captions, torch.stack(motion)


def snr_weight(scheduler: DDPMScheduler, timesteps: torch.Tensor, gamma: float = 5.0) -> torch.Tensor:
    """Loss weight for v-prediction: clip(SNR, 1, gamma) / (SNR + 1), the min-SNR-gamma weight of Hang et al. 2023
    truncated below at 1 as in Salimans & Ho 2022, divided by SNR + 1 to apply to the v loss.

    Plain min-SNR weights x0 by SNR, which vanishes at the noisiest steps (under 2% of the weight at t >= 800),
    and those are the steps where layout, colour and camera motion are decided."""
    alphas = scheduler.alphas_cumprod.to(timesteps.device)[timesteps]
    snr = alphas / (1 - alphas).clamp(min=1e-8)
    return snr.clamp(1.0, gamma) / (snr + 1)


def training_timesteps(count: int, shift: float = 1.0, device: torch.device | str = "cpu") -> torch.Tensor:
    """(count,) training timesteps drawn uniformly, then for shift != 1 moved by the timestep shift of Esser et al.
    2024 (SD3), t / T -> shift (t / T) / (1 + (shift - 1) t / T): above 1 it trains the noisiest steps more often."""
    if shift == 1:
        return torch.randint(0, NUM_TRAIN_TIMESTEPS, (count,), device=device)
    fraction = torch.rand(count, device=device)
    shifted = shift * fraction / (1 + (shift - 1) * fraction)
    return (shifted * NUM_TRAIN_TIMESTEPS).long().clamp(max=NUM_TRAIN_TIMESTEPS - 1)


@torch.no_grad()
def camera_sensitivity(denoiser: CameraUNet3D, store: ClipStore, timesteps=(200, 500, 800, 950), clips: int = 12,
                       seed: int = 0) -> dict[int, dict[str, float]]:
    """How much the denoiser reads its camera input: per timestep, its v-prediction loss on `clips` moving-camera
    training windows (8 frames) with the true camera condition, with it zeroed and with it negated. A model that
    uses the camera has true < zeroed < negated; equal losses mean the camera input is inert."""
    text_encoder, tokenizer = load_minilm()
    moving = [index for index, scene in enumerate(store.scenes) if scene.camera != "static"]
    latents, captions, camera = Batches(store, seed, caption_dropout=0, camera_dropout=0, pool=moving).draw(clips, CLIP_FRAMES)
    context = encode_text(text_encoder, tokenizer, captions, clauses=denoiser.config.prompt_clauses)
    scheduler, generator = training_scheduler(), torch.Generator().manual_seed(seed)
    losses = {}
    for timestep in timesteps:
        noise = torch.randn(latents.shape, generator=generator)
        steps = torch.full((clips,), timestep)
        noisy, target = scheduler.add_noise(latents, noise, steps), scheduler.get_velocity(latents, noise, steps)
        losses[timestep] = {name: F.mse_loss(denoiser(noisy, steps, encoder_hidden_states=context, camera=condition).sample,
                                             target).item()
                            for name, condition in (("true", camera), ("zeroed", 0 * camera), ("negated", -camera))}
    return losses


def noisy_context(context: torch.Tensor, strength: float, generator: torch.Generator | None = None,
                  clean: torch.Tensor | None = None, tied: int = 1) -> torch.Tensor:
    """Conditioning augmentation (Ho et al. 2022, Cascaded Diffusion Models) for text: each caption's states plus
    Gaussian noise of a random strength in [0, `strength`) times their RMS; the captions `clean` (B,) marks are left
    as they are. Consecutive captions in runs of `tied` share their draw, so a counterfactual pair's two captions
    still differ only by their words. (B, T, D) -> (B, T, D)

    At strength 1 the noisiest caption keeps a cosine of about 0.7 with the clean one, about how near a held-out
    phrase's embedding lies to its value's training phrases, so the UNet learns to read a neighbourhood of each
    training caption rather than the exact states."""
    draws = len(context) // tied
    scale = strength * torch.rand(draws, 1, 1, generator=generator, device=context.device).repeat_interleave(tied, 0)  # (B, 1, 1)
    if clean is not None:
        scale = scale.masked_fill(clean[:, None, None], 0.0)
    rms = context.pow(2).mean(dim=(1, 2), keepdim=True).sqrt()  # (B, 1, 1)
    noise = torch.randn((draws, *context.shape[1:]), generator=generator, device=context.device).repeat_interleave(tied, 0)
    return context + scale * rms * noise


def spread_evenly(index: int, share: float) -> bool:
    """Whether item `index` is among a share of items spread evenly (1/3: items 2, 5, 8, ...), as image steps among steps."""
    return math.floor((index + 1) * share) > math.floor(index * share)


def preview(pipe, path: Path, steps: int = 15) -> None:
    """A contact sheet of the preview prompts (8 frames each), to look at while training runs."""
    rows = []
    for index, prompt in enumerate(PREVIEW_PROMPTS):
        camera = "pan_right:0.6" if "pans right" in prompt else ("zoom_in:0.5" if "zoom in" in prompt else None)
        rows.append(pipe(prompt, num_frames=8, num_inference_steps=steps, seed=index, camera=camera).frames[0])
    save_png(contact_sheet(np.concatenate(rows), columns=8), path)


def train_denoiser(data: str, vae_folder: str, out: str, steps: int, clips_per_batch: int = 4, images_per_batch: int = 16,
                   lr: float = 2e-4, warmup: int = 100, seed: int = 0, log_every: int = 25, checkpoint_every: int = 100,
                   preview_every: int = 500, init: str | None = None, image_share: float = 1 / 3,
                   pooled_text_share: float = 0.0, layers_per_block: int | None = None, prompt_clauses: int | None = None,
                   clause_only_share: float = 0.0, context_noise: float = 0.0, pairs: str | None = None,
                   pair_weight: float | None = None, pair_share: float | None = None,
                   complete_caption_share: float = 0.0, timestep_shift: float = 1.0) -> CameraUNet3D:
    """Train (or resume) the UNet in `out` on the latents cached in `data`; returns the EMA weights.

    init: a saved CameraUNet3D folder to start from when `out` has no checkpoint yet, such as the shipped
    model's denoiser/ (its weights start both the model and the EMA; the optimizer starts fresh; see warm_start).
    image_share: the share of steps that train on `images_per_batch` single frames (num_frames=1) rather than
    `clips_per_batch` clips; an image step shows four times as many captions for half the frames.
    pooled_text_share: the share of captions that reach the UNet through its pooled text embedding alone (its
    cross-attention reads the empty caption), so that path has to carry the prompt: MiniLM's pooled states carry
    held-out phrasings to their meaning far better than their words do (bench/phrase_neighbours.py), and trained
    without it the path stayed inert (the session-13 model reads as random frames through it alone). Session 14
    measured what it does: little at 0.3 (docs/MODEL_CARD.md, "Session 14").
    layers_per_block: the UNet's depth (None: the checkpoint's when `out` has one, else the init's, else 1); more than
    the init's adds identity layers (warm_start).
    prompt_clauses: how many clause embeddings cross-attention reads after the token states (None: the checkpoint's
    when `out` has one, else the init's, else 0); a run from an init without them learns to read them.
    clause_only_share: the share of captions whose word tokens are replaced by the empty caption's, so that
    cross-attention has to read those captions from their clause embeddings, which carry held-out phrasings to their
    meaning (MiniLM's sentence embedding gives 27 of 35 held-out scene phrases their value; bench/phrase_neighbours.py).
    Session 20 measured what it does at 0.5: little (docs/MODEL_CARD.md, "Session 20").
    context_noise: the strongest conditioning augmentation (noisy_context) on what cross-attention reads, words and
    clauses alike, after the blanking above; the pooled text and the dropped captions' empty text (the unconditional
    branch of classifier-free guidance, clean at inference) stay clean (session 21 noised that text too). 0: none.
    Session 21 shipped a model trained at 1: eval adherence 0.532 to 0.560 (docs/MODEL_CARD.md, "Session 21").
    pairs: a folder of counterfactual pairs of single frames with cached latents (`videogen train data --pairs
    --frames 1`, then `videogen train latents`); the image steps then train on those pairs, each pair's two frames
    noised with the same noise to the same timestep, their captions made with the same choices and augmented alike.
    Their targets then differ by what the changed attribute's words draw and nothing else, and `pair_weight` adds
    that difference as a loss term: pair_weight x the v loss of (prediction_a - prediction_b) against
    (target_a - target_b), for the pairs whose captions differ (None: 1). The log keeps the plain loss, to compare
    across runs.
    pair_share: the share of image steps that train on the pairs (spread evenly; None: 1); the others draw frames of
    `data`'s clips as without pairs. Session 23 trained on pairs at every image step and lost whole-picture attributes.
    pair_weight or pair_share without pairs is a UsageError.
    complete_caption_share: the share of captions that say every attribute (caption(..., complete=True), as the eval's
    prompts do); the others leave out each detail a quarter of the time (OPTIONAL_DETAIL), so that short prompts
    read, but then a detail left unsaid may still be there. Session 28 measured 0.5 from the shipped weights: level
    (docs/MODEL_CARD.md, "Session 28").
    timestep_shift: 1 draws training timesteps uniformly; above 1 moves them towards the noisiest (training_timesteps),
    where the first sampling steps draw the layout: at 3, 36% of the steps fall at t >= 840 (the first four of 25
    sampling steps; 16% uniformly) and 12.5% below t = 300 (30%). The log's plain loss then averages other timesteps
    and compares only between runs drawn alike. Session 29 measured 3 from the shipped weights: the middle sampling
    steps read better, the look worse, 0.016 lower in all (docs/MODEL_CARD.md, "Session 29").
    The UNet's latent channels are the VAE's.
    preview_every=0 skips the preview sheets."""
    from diffusers import AutoencoderKL

    from videogen.pipeline import VideoPipeline

    if timestep_shift <= 0:
        raise UsageError(f"timestep_shift: got {timestep_shift}; it must be above 0 (1: uniform timesteps)")
    latent_channels = AutoencoderKL.load_config(vae_folder)["latent_channels"]
    build = lambda: (builtin_denoiser(latent_channels, layers_per_block or 1, prompt_clauses or 0) if init is None
                     else warm_start(init, latent_channels, layers_per_block, prompt_clauses))

    def check(model: CameraUNet3D) -> None:
        if clause_only_share and not model.config.prompt_clauses:
            raise UsageError(f"clause_only_share: {clause_only_share} needs a UNet that reads prompt clauses; give "
                             f"prompt_clauses (--prompt-clauses 8), or an init or run saved with them")

    if pairs is None:  # bad settings and folders are refused before the run folder is made
        for name, value in (("pair_weight", pair_weight), ("pair_share", pair_share)):
            if value is not None:
                raise UsageError(f"{name}: got {value}; it only applies to the counterfactual pairs, so give --pairs FOLDER too")
    pair_weight, pair_share = (1.0 if value is None else value for value in (pair_weight, pair_share))
    store = ClipStore.load(data, with_latents=True)
    pair_store = None if pairs is None else ClipStore.load(pairs, with_latents=True, setting="pairs")
    pair_indices = None if pair_store is None else counterfactual_pairs(pair_store.scenes)
    run = start_run(out, CameraUNet3D, build, lr, weight_decay=0.01, seed=seed, check=check,
                    asked={"in_channels": latent_channels, "layers_per_block": layers_per_block, "prompt_clauses": prompt_clauses})
    folder, device, denoiser, ema, optimizer, step = run.folder, run.device, run.model, run.ema, run.optimizer, run.step
    schedule = lambda current: min(1.0, (current + 1) / warmup) * (0.5 + 0.5 * math.cos(math.pi * min(current / steps, 1.0)))
    text_encoder, tokenizer = load_minilm()
    text_encoder.to(device)
    clauses, clause_cache = denoiser.config.prompt_clauses, {}
    encode = lambda texts: encode_text(text_encoder, tokenizer, texts, clauses=clauses, cache=clause_cache)
    empty_context = encode([""])  # (1, T + clauses, D)
    words = empty_context.shape[1] - clauses
    scheduler = training_scheduler()
    batches = Batches(store, seed=seed * 1000 + step, complete_caption_share=complete_caption_share)
    pair_batches = None if pair_store is None else Batches(pair_store, seed=seed * 1000 + step + 1, pairs=pair_indices,
                                                           complete_caption_share=complete_caption_share)
    log = TrainLog(folder, "frames")
    while step < steps:
        for group in optimizer.param_groups:
            group["lr"] = lr * schedule(step)
        image_step = spread_evenly(step, image_share)
        image_index = math.floor(step * image_share)  # image steps before this one
        pair_step = image_step and pair_batches is not None and spread_evenly(image_index, pair_share)
        if pair_step:
            latents, captions, motion = pair_batches.draw_pairs(images_per_batch // 2)
        else:
            latents, captions, motion = batches.draw(images_per_batch, 1) if image_step else batches.draw(clips_per_batch, CLIP_FRAMES)
        tied = 2 if pair_step else 1  # consecutive samples that share every random draw: a pair's two frames
        draw = lambda: torch.rand(len(latents) // tied, device=device).repeat_interleave(tied)
        latents, motion = latents.to(device), motion.to(device)
        context = encode(captions)
        pooled_text = pool_text(context)  # (B, D): always the real caption's
        if pooled_text_share:
            pooled_only = draw() < pooled_text_share
            context = torch.where(pooled_only[:, None, None], empty_context, context)
        if clause_only_share:
            clause_only = draw() < clause_only_share
            context[:, :words] = torch.where(clause_only[:, None, None], empty_context[:, :words], context[:, :words])
        if context_noise:  # not the dropped captions: guidance's unconditional branch reads clean empty text
            dropped = torch.tensor([not text for text in captions], device=device)
            context = noisy_context(context, context_noise, clean=dropped, tied=tied)
        noise = torch.randn((len(latents) // tied, *latents.shape[1:]), device=device).repeat_interleave(tied, 0)
        timesteps = training_timesteps(len(latents) // tied, timestep_shift, device).repeat_interleave(tied)
        noisy = scheduler.add_noise(latents, noise, timesteps)
        target = scheduler.get_velocity(latents, noise, timesteps)
        prediction = denoiser(noisy, timesteps, encoder_hidden_states=context, camera=motion, pooled_text=pooled_text).sample
        errors = prediction - target
        weights = snr_weight(scheduler, timesteps)
        plain = (errors.pow(2).mean(dim=(1, 2, 3, 4)) * weights).mean()
        loss = plain
        if pair_step and pair_weight:
            said = torch.tensor([first != second for first, second in zip(captions[0::2], captions[1::2])], device=device)
            difference = (errors[0::2] - errors[1::2]).pow(2).mean(dim=(1, 2, 3, 4))  # (P,): the changed attribute's error
            loss = plain + pair_weight * (difference * weights[0::2] * said).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(denoiser.parameters(), 1.0)
        optimizer.step()
        update_ema(ema, denoiser, decay=min(0.999, (1 + step) / (10 + step)))
        step += 1
        log.add(plain.item(), latents.shape[0] * latents.shape[2])
        if step % log_every == 0:
            log.flush(step, lr=lr * schedule(step))
        if step % checkpoint_every == 0 or step == steps:
            save_checkpoint(folder, denoiser, optimizer, step, ema)
        if preview_every and (step % preview_every == 0 or step == steps):
            vae = AutoencoderKL.from_pretrained(vae_folder)
            pipe = VideoPipeline(text_encoder=text_encoder, tokenizer=tokenizer, vae=vae, denoiser=ema, scheduler=inference_scheduler())
            pipe.set_progress_bar_config(disable=True)
            preview(pipe, folder / f"preview_{step:06d}.png")
    return ema
