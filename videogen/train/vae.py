"""Train the built-in 8x VAE (diffusers AutoencoderKL) on world frames: 128x128 RGB -> 4x16x16 latents.

Loss: L1 + MSE reconstruction plus a small KL term (Kingma & Welling 2014; the weighting of Rombach et al.
2022 without the perceptual term, which needs a downloaded network). Trained first on random
crops (cheap), then on whole frames: GroupNorm's statistics differ between a crop and a whole frame, which
cost 4 dB (23.2 dB on 48px crops vs 19.2 dB on whole frames before the whole-frame phase).

A trained VAE's decoder can then be fine-tuned alone (`decoder_only`): the encoder is frozen, so cached
latents and a UNet trained on them stay valid, and an L1 loss on image gradients (`edge_weight`) asks for
the sharp edges that L1 + MSE alone average away. Part of each batch (`shift_share`) can be latents warped the
way the pipeline's latent shifting warps them, so the decoder learns to draw a warped latent as the warped picture
(decoding shifted latents of rendered clips had lost 60% of the camera's motion). An adversarial term
(`adversarial_weight`, a PatchGAN trained beside the decoder from scratch) asks for the detail L1 + MSE blur away:
small subjects, stripes, film grain.

Small subjects are about 2% of a frame, so L1 + MSE barely count them: `pairs` adds counterfactual pairs to each batch
with the pixels their change touches weighted up. A trained VAE can also grow more latent channels
(`grow_latent_channels`) and train on with its old channels held where they were (`anchor_weight`), so the new
channels are free to carry what the old ones drop while a UNet trained on the old latents stays a warm start.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL

import cameras

from postprocess.files import atomic_path
from videogen.errors import UsageError
from videogen.eval.metrics import psnr as image_psnr
from videogen.train.data import LATENTS, ClipStore, counterfactual_pairs, rendered_shard_ids, save_array
from videogen.train.loop import TrainLog, save_checkpoint, start_run, update_ema

KL_WEIGHT = 1e-6
WHOLE_FRAME_BATCH = 4  # frames per step of the whole-frame phase (each costs seven 48 px crops)


BUILTIN_LATENT_CHANNELS = 4
BUILTIN_WIDTHS = (32, 64, 256, 256)  # channels per level, 128 px down to 16 px (the shipped VAE's since session 16)
NORM_GROUPS = 32  # GroupNorm groups: every level's width is a multiple of it


def builtin_vae(latent_channels: int = BUILTIN_LATENT_CHANNELS, widths: tuple[int, ...] = BUILTIN_WIDTHS) -> AutoencoderKL:
    """The built-in VAE's architecture: four levels (three downsamplings) and no attention in the middle block,
    so it is fully convolutional and trains on small crops. More latent channels keep more detail (Esser et al.
    2024 use 16) at the price of latents that are harder for a small UNet to model. Width costs render time where
    the pictures are large: on 2 cores, decoding 16 frames takes 1.7 s at (32, 64, 128, 128), 2.7 s at the built-in
    widths and 4.8 s at (64, 128, 256, 256)."""
    return AutoencoderKL(
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=widths,
        layers_per_block=1,
        latent_channels=latent_channels,
        norm_num_groups=NORM_GROUPS,
        sample_size=128,
        mid_block_add_attention=False,
    )


def added_channel_rotation(old: int, channels: int) -> torch.Tensor:
    """(channels - old, old) orthonormal rows of a fixed random rotation: each channel grown onto `old` latent channels
    starts as a rotation of them (grow_latent_channels), so it carries what they carry in another direction."""
    if not old < channels <= 2 * old:
        raise UsageError(f"latent channels: got {channels}; a VAE with {old} grows to between {old + 1} and {2 * old} at once")
    return torch.linalg.qr(torch.randn(old, old, generator=torch.Generator().manual_seed(0)))[0][: channels - old]


def grow_latent_channels(vae: AutoencoderKL, channels: int) -> AutoencoderKL:
    """A copy of a trained VAE with up to twice its latent channels, whose posterior mean decodes exactly as the
    original's: the old channels are encoded as before, the new ones as a fixed random rotation of them
    (added_channel_rotation; their log-variances a mixture of the old ones'), and the decoder reads old and new so that
    the rotation cancels. Training then frees the new channels to carry what the old ones drop. A rotation, not a copy
    (Net2WiderNet, Chen et al. 2016): copies get the same gradients and stayed copies (correlation 1.000 after 250
    steps), and new channels started at random or zero stayed unread (zeroing them moved the picture under 0.02 dB;
    session 26)."""
    old = vae.config.latent_channels
    rotation = added_channel_rotation(old, channels)  # (added, old)
    grown = AutoencoderKL.from_config({**vae.config, "latent_channels": channels})
    grown.load_state_dict({name: weight for name, weight in vae.state_dict().items()
                           if weight.shape == grown.state_dict()[name].shape}, strict=False)
    with torch.no_grad():
        # the encoder's head: the 1x1 quant conv folded into conv_out, whose rows are [means, log-variances]
        quant = vae.quant_conv.weight[:, :, 0, 0]
        head = torch.einsum("oi,ichw->ochw", quant, vae.encoder.conv_out.weight)
        head_bias = quant @ vae.encoder.conv_out.bias + vae.quant_conv.bias
        mixture = rotation**2  # rows sum to 1
        rows = lambda weights, matrix: torch.einsum("no,ochw->nchw", matrix, weights)
        grown.encoder.conv_out.weight.copy_(torch.cat([head[:old], rows(head[:old], rotation), head[old:], rows(head[old:], mixture)]))
        grown.encoder.conv_out.bias.copy_(torch.cat([head_bias[:old], rotation @ head_bias[:old], head_bias[old:], mixture @ head_bias[old:]]))
        grown.quant_conv.weight.copy_(torch.eye(2 * channels)[:, :, None, None])
        grown.quant_conv.bias.zero_()
        # the decoder reads z (I - R^T R / 2) + R^T (R z) / 2 = z; its new post-quant outputs start at zero, read by
        # conv_in's new (random) columns
        reader = torch.cat([torch.eye(old) - rotation.T @ rotation / 2, rotation.T / 2], dim=1)  # (old, channels)
        grown.post_quant_conv.weight.zero_()
        grown.post_quant_conv.weight[:old, :, 0, 0] = vae.post_quant_conv.weight[:, :, 0, 0] @ reader
        grown.post_quant_conv.bias.zero_()
        grown.post_quant_conv.bias[:old] = vae.post_quant_conv.bias
        grown.decoder.conv_in.weight[:, :old] = vae.decoder.conv_in.weight
    return grown


@torch.no_grad()
def even_out_grown_channels(vae: AutoencoderKL, data: str, old_channels: int, count: int = 64) -> list[float]:
    """Rescale each grown latent channel (those past `old_channels`) to the old channels' spread on `count` random
    frames of `data`, so one scaling factor makes every channel unit-variance for the UNet; exact: the quant conv's
    rows are multiplied by what the post-quant conv's columns are divided by, so decoding is unchanged. Returns the
    factors applied."""
    clips = ClipStore.load(data).clips
    images = random_crops(clips, count, clips.shape[2], np.random.default_rng(0)).to(vae.device, vae.dtype)
    means = vae.encode(images).latent_dist.mean  # (count, C, h, w)
    target = means[:, :old_channels].std()
    factors = []
    for channel in range(old_channels, vae.config.latent_channels):
        factor = (target / means[:, channel].std().clamp(min=1e-6)).item()
        vae.quant_conv.weight[channel] *= factor
        vae.quant_conv.bias[channel] *= factor
        vae.quant_conv.bias[vae.config.latent_channels + channel] += 2 * math.log(factor)  # log-variance scales as factor^2
        vae.post_quant_conv.weight[:, channel] /= factor
        factors.append(factor)
    return factors


def random_crops(frames: np.ndarray, batch: int, crop: int, rng: np.random.Generator) -> torch.Tensor:
    """(batch, 3, crop, crop) in [-1, 1] from random frames of (N, F, H, W, 3) uint8 clips."""
    clips, num_frames, height, width, _ = frames.shape
    out = np.empty((batch, crop, crop, 3), np.uint8)
    for index in range(batch):
        top, left = rng.integers(0, height - crop + 1), rng.integers(0, width - crop + 1)
        out[index] = frames[rng.integers(clips), rng.integers(num_frames), top : top + crop, left : left + crop]
    return torch.from_numpy(out).permute(0, 3, 1, 2).float() / 127.5 - 1  # (B, H, W, 3) -> (B, 3, H, W)


PAIR_CHANGE = 0.1  # how far a pixel moves between a pair's frames ([-1, 1] units, mean over RGB) to count as changed


def pair_crops(clips: np.ndarray, pairs: np.ndarray, count: int, crop: int, rng: np.random.Generator
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """`count` counterfactual pairs, each pair's two frames cropped alike around a pixel drawn where they differ (so
    a changed subject is in the crop), with where they differ. clips: (N, F, H, W, 3) uint8; pairs: (P, 2) clip
    indices. Returns images (2 count, 3, crop, crop) in [-1, 1], each pair's two adjacent, and the change
    (2 count, 1, crop, crop) in [0, 1]."""
    images, changes = [], []
    for first, second in pairs[rng.integers(len(pairs), size=count)]:
        frame = rng.integers(clips.shape[1])
        both = torch.from_numpy(np.stack([clips[first, frame], clips[second, frame]])).permute(0, 3, 1, 2).float() / 127.5 - 1
        change = ((both[0] - both[1]).abs().mean(0) / PAIR_CHANGE).clamp(max=1)  # (H, W)
        height, width = change.shape
        odds = (change if change.any() else torch.ones_like(change)).flatten().double().numpy()  # no visible change: anywhere
        row, column = divmod(int(rng.choice(height * width, p=odds / odds.sum())), width)
        top = int(np.clip(row - crop // 2, 0, height - crop))
        left = int(np.clip(column - crop // 2, 0, width - crop))
        images.append(both[:, :, top : top + crop, left : left + crop])
        changes += [change[None, top : top + crop, left : left + crop]] * 2
    return torch.cat(images), torch.stack(changes)


def reconstruction_loss(reconstructed: torch.Tensor, images: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """L1 + MSE; with per-pixel weights (B, 1, H, W), their weighted mean (the same as the plain loss where all are 1)."""
    error = (reconstructed - images).abs() + (reconstructed - images) ** 2
    if weights is None:
        return error.mean()
    return (error * weights).mean() / weights.mean()


SHIFT_MOVES = tuple(name for name in cameras.PRESETS if name not in ("static", "handheld"))
SHIFT_MAX_INTENSITY = 1.5  # a whole preset move and a half between the two frames of a pair


@torch.no_grad()
def shifted_latent_batch(vae: AutoencoderKL, clips: np.ndarray, count: int, rng: np.random.Generator
                         ) -> tuple[torch.Tensor, torch.Tensor]:
    """Latents as latent shifting leaves them and the pictures they should decode to (the equivariance target of
    Kouzelis et al. 2025, "EQ-VAE"): a frame of a random clip is encoded and warped by a random camera move with
    `cameras.shift_latents`, and the same warp of its pixels is the target; where the warp leaves the frame, both
    keep another frame of the clip, as the pipeline keeps a frame's own latents there.

    clips: (N, F, H, W, 3) uint8. Returns latent means (count, C, h, w) and targets (count, 3, H, W) in [-1, 1]."""
    pairs = np.stack([clip[rng.choice(len(clip), size=2, replace=False)]
                      for clip in (clips[index] for index in rng.integers(len(clips), size=count))])  # (count, 2, H, W, 3)
    # (count, 2, H, W, 3) -> (count, 3, 2, H, W): each pair a 2-frame video, frame 0 warped into frame 1
    images = torch.from_numpy(pairs).to(vae.device).permute(0, 4, 1, 2, 3).float() / 127.5 - 1
    encoded = vae.encode(images.transpose(1, 2).flatten(0, 1)).latent_dist.mean  # (count*2, C, h, w), one pass
    encoded = encoded.unflatten(0, (count, 2)).transpose(1, 2)  # -> (count, C, 2, h, w)
    latents, targets = [], []
    for index in range(count):
        move = cameras.parse_camera(f"{rng.choice(SHIFT_MOVES)}:{rng.uniform(0.05, SHIFT_MAX_INTENSITY):.3f}").trajectory(2)
        latents.append(cameras.shift_latents(encoded[index : index + 1], move)[0, :, 1])
        targets.append(cameras.shift_latents(images[index : index + 1], move)[0, :, 1])
    return torch.stack(latents), torch.stack(targets)


def psnr(vae: AutoencoderKL, frames: np.ndarray) -> float:
    """Reconstruction PSNR (dB) of whole uint8 frames (N, H, W, 3) through the posterior mean."""
    images = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 127.5 - 1
    with torch.no_grad():
        reconstructed = vae.decode(vae.encode(images).latent_dist.mean).sample
    return image_psnr(unit_range(images), unit_range(reconstructed))


def shifted_psnr(vae: AutoencoderKL, clips: np.ndarray, count: int = 16, seed: int = 0) -> float:
    """PSNR (dB) of decoded shifted latents against the shifted pictures, on a fixed draw of `count` pairs."""
    latents, targets = shifted_latent_batch(vae, clips, count, np.random.default_rng(seed))
    with torch.no_grad():
        decoded = vae.decode(latents).sample
    return image_psnr(unit_range(targets), unit_range(decoded))


def unit_range(images: torch.Tensor) -> np.ndarray:
    """Images in [-1, 1] -> a numpy array in [0, 1] (image_psnr clips what overshoots)."""
    return ((images.float().cpu() + 1) / 2).numpy()


def image_gradient_l1(reconstructed: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """Mean L1 distance between the horizontal and vertical finite differences of two image batches."""
    difference = reconstructed - images
    return (difference.diff(dim=-1).abs().mean() + difference.diff(dim=-2).abs().mean()) / 2


class PatchDiscriminator(torch.nn.Module):
    """PatchGAN (Isola et al. 2017): a real/fake logit for each overlapping 46 px patch of a picture, so it judges
    texture and small objects rather than layout; spectral norm (Miyato et al. 2018) keeps it from overpowering a
    decoder that is fine-tuned, not trained from scratch."""

    def __init__(self, widths: tuple[int, ...] = (32, 64, 128)):
        super().__init__()
        layers, channels = [], 3
        for width in widths:  # each halves the side: 128 -> 64 -> 32 -> 16
            layers += [spectral_conv(channels, width, stride=2), torch.nn.LeakyReLU(0.2)]
            channels = width
        layers.append(spectral_conv(channels, 1, stride=1))
        self.layers = torch.nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.layers(images)  # (B, 3, H, W) in [-1, 1] -> (B, 1, H/8 - 1, W/8 - 1) logits


def spectral_conv(channels_in: int, channels_out: int, stride: int) -> torch.nn.Module:
    """A 4x4 convolution under spectral normalisation."""
    return torch.nn.utils.parametrizations.spectral_norm(torch.nn.Conv2d(channels_in, channels_out, 4, stride, padding=1))


def hinge_losses(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The discriminator's hinge loss (Lim & Ye 2017), as in Esser et al. 2021's VQGAN."""
    return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()


DISCRIMINATOR = "discriminator.pt"


class Adversary:
    """The PatchGAN, its optimizer and its checkpoint beside the run's (resumed with it)."""

    def __init__(self, folder: Path, device: str):
        self.path = folder / DISCRIMINATOR
        self.network = PatchDiscriminator().to(device)
        self.optimizer = torch.optim.Adam(self.network.parameters(), lr=1e-4, betas=(0.5, 0.9))
        if self.path.exists():
            state = torch.load(self.path, map_location=device)
            self.network.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])

    def generator_loss(self, reconstructed: torch.Tensor, reconstruction_loss: torch.Tensor,
                       last_layer: torch.Tensor) -> torch.Tensor:
        """How real the discriminator finds the reconstructions (lower: more), through its frozen weights, scaled as
        Esser et al. 2021 (eq. 7) scale it: to the reconstruction loss's gradient norm at the decoder's last layer,
        so the weight means the same whatever the two losses' sizes."""
        self.network.requires_grad_(False)
        loss = -self.network(reconstructed).mean()
        self.network.requires_grad_(True)
        reconstruction_gradient = torch.autograd.grad(reconstruction_loss, last_layer, retain_graph=True)[0]
        adversarial_gradient = torch.autograd.grad(loss, last_layer, retain_graph=True)[0]
        scale = (reconstruction_gradient.norm() / (adversarial_gradient.norm() + 1e-4)).clamp(max=1e4).detach()
        return scale * loss

    def step(self, images: torch.Tensor, reconstructed: torch.Tensor) -> float:
        """One discriminator update on real images against the (detached) reconstructions; returns its loss."""
        loss = hinge_losses(self.network(images), self.network(reconstructed.detach()))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def save(self) -> None:
        with atomic_path(self.path) as temporary:
            torch.save({"model": self.network.state_dict(), "optimizer": self.optimizer.state_dict()}, temporary)


def train_vae(data: str, out: str, steps: int, batch: int = 8, crop: int | None = 48, lr: float = 4e-4, seed: int = 0,
              log_every: int = 50, checkpoint_every: int = 250, init: str | None = None, decoder_only: bool = False,
              edge_weight: float = 0.0, latent_channels: int | None = None, widths: tuple[int, ...] | None = None,
              shift_share: float = 0.0, adversarial_weight: float = 0.0, anchor_weight: float = 0.0,
              pairs: str | None = None, pair_weight: float = 0.0) -> AutoencoderKL:
    """Train (or resume) the VAE in `out`; returns the EMA weights. Same code on CPU and CUDA.

    init: a saved VAE folder to start from (default: the built-in architecture, random); decoder_only: train the
    decoder alone on the frozen encoder's latent means; edge_weight: weight of image_gradient_l1; latent_channels and
    widths (channels per level): of a new VAE (None: the built-in ones; a resumed or `init` one keeps its own, and a
    resumed one must match what is given; latent_channels above the init's grow it, grow_latent_channels);
    anchor_weight: weight of an MSE between the init's latent channels and what its encoder makes of the same images,
    which keeps them where a UNet trained on them expects them; pairs: a folder of counterfactual pairs (`videogen
    train data --pairs`), of which half of each batch is made (pair_crops), with the pixels each pair's change
    touches weighted 1 + pair_weight in the reconstruction loss (the logged loss stays unweighted); shift_share: with
    decoder_only, the share of each batch that is shifted latents (shifted_latent_batch) rather than plain frames;
    adversarial_weight: weight of the PatchGAN's generator loss, relative to the reconstruction loss (0: none; Rombach
    et al. 2022 use 0.5); crop None: whole frames."""
    if shift_share and not (decoder_only and 0 < shift_share <= 1):
        raise ValueError(f"shift_share {shift_share:g}: needs decoder_only and a share in (0, 1]")
    if adversarial_weight < 0:
        raise UsageError(f"adversarial weight: got {adversarial_weight:g}; it must be 0 or more")
    if anchor_weight < 0 or (anchor_weight and (init is None or decoder_only)):
        raise UsageError(f"anchor weight: got {anchor_weight:g}; it must be 0 or more, and needs an init VAE whose "
                         f"encoder is trained (not a decoder fine-tune)")
    if pair_weight < 0 or (pair_weight and pairs is None):
        raise UsageError(f"pair weight: got {pair_weight:g}; it must be 0 or more, and weighs the pairs of --pairs FOLDER")
    if pairs is not None and (shift_share or batch < 2):
        raise UsageError(f"pairs: half of each batch is pairs, so they need a batch of 2 or more (got {batch}) and no "
                         f"shifted latents (--shift-share 0)")
    store = ClipStore.load(data)  # before the run folder is made, so missing data leaves nothing behind
    pair_store = None if pairs is None else ClipStore.load(pairs, setting="pairs")
    pair_indices = None if pair_store is None else counterfactual_pairs(pair_store.scenes)
    pair_count = 0 if pairs is None else max(1, batch // 4)  # pairs a step: two frames each
    initial = None if init is None else AutoencoderKL.from_pretrained(init)
    if initial is not None and (latent_channels or 0) > initial.config.latent_channels:
        build = lambda: grow_latent_channels(initial, latent_channels)
    elif initial is not None:
        if latent_channels and latent_channels < initial.config.latent_channels:
            raise UsageError(f"latent channels: got {latent_channels}; {init} has {initial.config.latent_channels}, "
                             f"and a VAE can grow channels but not lose them")
        build = lambda: initial
    else:
        build = lambda: builtin_vae(latent_channels or BUILTIN_LATENT_CHANNELS, widths or BUILTIN_WIDTHS)
    run = start_run(out, AutoencoderKL, build, lr, weight_decay=0.0, seed=seed,
                    asked={"latent_channels": latent_channels, "block_out_channels": widths})
    folder, device, vae, ema, optimizer, step = run.folder, run.device, run.model, run.ema, run.optimizer, run.step
    if decoder_only:
        vae.encoder.requires_grad_(False)
        vae.quant_conv.requires_grad_(False)
    log = TrainLog(folder, "images")
    holdout = max(1, min(8, len(store.clips) // 4))
    held_out_clips = np.asarray(store.clips[-holdout:])  # the last clips, never trained on
    held_out = held_out_clips[:, 0]
    train_clips = store.clips[:-holdout]
    crop = crop or train_clips.shape[2]
    if shift_share and crop != train_clips.shape[2]:
        raise ValueError(f"shift_share needs whole frames: crop {crop}, frames {train_clips.shape[2]} px")
    shifted = math.ceil(batch * shift_share)  # at least one shifted pair whenever shift_share > 0
    adversary = Adversary(folder, device) if adversarial_weight else None
    anchor = AutoencoderKL.from_pretrained(init).to(device).eval().requires_grad_(False) if anchor_weight else None
    anchored = slice(0, anchor.config.latent_channels) if anchor else None
    rng = np.random.default_rng([seed, step])
    while step < steps:
        images, weights = random_crops(train_clips, batch - shifted - 2 * pair_count, crop, rng), None
        if pair_count:
            pair_images, changed = pair_crops(pair_store.clips, pair_indices, pair_count, crop, rng)
            images = torch.cat([images, pair_images])
            if pair_weight:  # else the pairs are plain frames
                weights = torch.cat([torch.ones(len(images) - len(changed), 1, crop, crop), 1 + pair_weight * changed]).to(device)
        images = images.to(device)
        if decoder_only:
            with torch.no_grad():
                latents, kl = vae.encode(images).latent_dist.mean, 0.0  # what cache_latents stores
            if shifted:
                shifted_latents, shifted_images = shifted_latent_batch(vae, train_clips, shifted, rng)
                latents, images = torch.cat([latents, shifted_latents]), torch.cat([images, shifted_images])
        else:
            posterior = vae.encode(images).latent_dist
            latents, kl = posterior.sample(), KL_WEIGHT * posterior.kl().mean()
            if anchor:
                with torch.no_grad():
                    anchor_means = anchor.encode(images).latent_dist.mean
                anchor_loss = F.mse_loss(posterior.mean[:, anchored], anchor_means)
        reconstructed = vae.decode(latents).sample
        image_loss = reconstruction_loss(reconstructed, images, weights)
        reconstruction = image_loss + kl
        if edge_weight:
            reconstruction = reconstruction + edge_weight * image_gradient_l1(reconstructed, images)
        loss = reconstruction
        if anchor:
            loss = loss + anchor_weight * anchor_loss
        if adversary:
            loss = loss + adversarial_weight * adversary.generator_loss(reconstructed, reconstruction, vae.decoder.conv_out.weight)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        update_ema(ema, vae, decay=0.995)
        discriminator_loss = adversary.step(images, reconstructed) if adversary else None
        step += 1
        # the log keeps the unweighted image loss, to compare with runs without pairs; the adversarial term's size
        # says nothing by itself
        unweighted = image_loss if weights is None else reconstruction_loss(reconstructed.detach(), images)
        log.add((reconstruction - image_loss + unweighted).item(), batch)
        if step % log_every == 0:
            scores = {"psnr": psnr(ema.cpu(), held_out)} if step % checkpoint_every == 0 else {}
            if scores and shift_share:
                scores["shifted_psnr"] = shifted_psnr(ema, held_out_clips)
            if adversary:
                scores["discriminator_loss"] = round(discriminator_loss, 4)
            if anchor:
                scores["anchor_loss"] = round(anchor_loss.item(), 5)
            log.flush(step, **scores)
            ema.to(device)
        if step % checkpoint_every == 0 or step == steps:
            save_checkpoint(folder, vae, optimizer, step, ema)
            if adversary:
                adversary.save()
    ema.save_pretrained(folder / "vae")
    return ema


@torch.no_grad()
def cache_latents(data: str, vae: AutoencoderKL, batch: int = 64, max_shards: int | None = None,
                  keep_scaling: bool = False, log=print) -> float:
    """Encode every clip's frames to scaled latent means, saved beside the shards; returns the scaling factor.

    The scaling factor makes the latents unit-variance (Rombach et al. 2022, sec. 4.3.2) and is stored in
    the VAE's config so the pipeline divides by it before decoding. keep_scaling uses the VAE's own factor
    instead, for new data under a trained model (its UNet expects that scale). max_shards limits the work
    (encoding is the slow part on a CPU: about 24 frames/s on 2 cores; a bfloat16 copy is 1.6x faster on CPUs with
    avx512_bf16 and 40x slower on those without). log gets a line per encoded shard. A folder with no rendered
    shards is a UsageError.
    """
    folder = Path(data)
    vae = vae.eval()
    encoded = {}
    for shard in rendered_shard_ids(folder)[:max_shards]:
        clips = np.load(folder / f"clips_{shard:05d}.npy", mmap_mode="r")
        count, frames = clips.shape[:2]
        flat = np.asarray(clips).reshape(count * frames, *clips.shape[2:])  # (N, F, H, W, 3) -> (N*F, H, W, 3)
        means = []
        for start in range(0, len(flat), batch):
            images = torch.tensor(flat[start : start + batch]).permute(0, 3, 1, 2).float() / 127.5 - 1  # a copy: the shard is read-only
            means.append(vae.encode(images.to(vae.device, vae.dtype)).latent_dist.mean.float().cpu())
        latents = torch.cat(means)
        encoded[shard] = latents.reshape(count, frames, *latents.shape[1:])  # -> (N, F, C, h, w)
        log(f"shard {shard}: {count} clips encoded")  # saved together at the end, once the scaling factor is known
    if keep_scaling:
        scaling = float(vae.config.scaling_factor)
    else:
        scaling = float(1 / torch.cat([latents.flatten() for latents in encoded.values()]).std())
    for shard, latents in encoded.items():
        save_array(folder / LATENTS.format(shard), (latents * scaling).numpy().astype(np.float16))
    vae.register_to_config(scaling_factor=scaling)
    return scaling
