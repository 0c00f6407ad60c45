"""How much the caption steers a denoiser, per noise level: its v-prediction loss on training images with the true
caption, the empty caption and another image's caption, for models side by side (the first is the peer).

    python bench/caption_gap.py MODEL [MODEL ...] [--data runs/data] [--images 48]

MODEL is a model folder or builtin:NAME; DATA holds latents from that model's VAE (`videogen train latents`). The
images, noise and captions are the same for every model. A model that reads its caption has true < empty < other; the
gap between true and empty at the noisiest steps is what classifier-free guidance works with. About 20 s a model on
2 CPU threads.
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from videogen.models.denoiser import CameraUNet3D
from videogen.models.registry import resolve_model
from videogen.models.text_encoder import encode_text, load_minilm
from videogen.train.data import ClipStore
from videogen.train.denoiser import Batches, training_scheduler

TIMESTEPS = (100, 300, 500, 700, 850, 950, 990)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="+")
    parser.add_argument("--data", default="runs/data")
    parser.add_argument("--images", type=int, default=48)
    args = parser.parse_args()
    text_encoder, tokenizer = load_minilm()
    latents, captions, camera = Batches(ClipStore.load(args.data, with_latents=True), seed=5, caption_dropout=0,
                                        camera_dropout=0).draw(args.images, 1)
    scheduler = training_scheduler()
    print(f"| t | {' | '.join(f'{model}: true / empty / other' for model in args.models)} |")
    print("|---" * (1 + len(args.models)) + "|")
    denoisers = [CameraUNet3D.from_pretrained(resolve_model(model) / "denoiser", torch_dtype=torch.float32).eval()
                 for model in args.models]
    captions_of = {"true": captions, "empty": [""] * len(captions), "other": captions[1:] + captions[:1]}
    contexts = [{name: encode_text(text_encoder, tokenizer, texts, clauses=denoiser.config.prompt_clauses)
                 for name, texts in captions_of.items()} for denoiser in denoisers]  # as each denoiser reads its prompt
    for timestep in TIMESTEPS:
        noise = torch.randn(latents.shape, generator=torch.Generator().manual_seed(timestep))
        steps = torch.full((len(latents),), timestep)
        noisy, target = scheduler.add_noise(latents, noise, steps), scheduler.get_velocity(latents, noise, steps)
        cells = []
        with torch.no_grad():
            for denoiser, model_contexts in zip(denoisers, contexts):
                losses = [F.mse_loss(denoiser(noisy, steps, encoder_hidden_states=context, camera=camera).sample, target).item()
                          for context in model_contexts.values()]
                cells.append(" / ".join(f"{loss:.3f}" for loss in losses))
        print(f"| {timestep} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
