"""How much the caption steers a denoiser, per noise level: its v-prediction loss on training images with their true
caption, the same caption in held-out phrasing, the empty caption and another image's caption, for models side by side
(the first is the peer).

    python bench/caption_gap.py MODEL [MODEL ...] [--data runs/data] [--images 48] [--clauses-only]

MODEL is a model folder or builtin:NAME; DATA holds latents from that model's VAE (`videogen train latents`). Each image
is the first frame of a training clip, its captions complete (every attribute said) in the training and in the
held-out vocabulary of the world's grammar. The images, noise and captions are the same for every model. A model that
reads its caption has true < empty < other; the gap between true and empty at the noisiest steps is what
classifier-free guidance works with, and a held-out caption above the empty one misleads the model. `--clauses-only`
blanks every caption's word tokens (they become the empty caption's), so a model with prompt clauses reads its captions
through their clause embeddings alone, as `videogen train denoiser --clause-only-share` trains it to. About 30 s a model
on 2 CPU threads.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
import torch.nn.functional as F

from videogen.models.denoiser import CameraUNet3D
from videogen.models.registry import resolve_model
from videogen.models.text_encoder import MAX_PROMPT_TOKENS, encode_text, load_minilm
from videogen.train.data import ClipStore
from videogen.train.denoiser import training_scheduler
from videogen.world import caption

TIMESTEPS = (100, 300, 500, 700, 850, 950, 990)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="+")
    parser.add_argument("--data", default="runs/data")
    parser.add_argument("--images", type=int, default=48)
    parser.add_argument("--clauses-only", action="store_true", help="blank the word tokens, keep the clause embeddings")
    args = parser.parse_args()
    text_encoder, tokenizer = load_minilm()
    store = ClipStore.load(args.data, with_latents=True)
    rng = np.random.default_rng(5)
    indices = rng.integers(len(store.scenes), size=args.images)
    latents = torch.from_numpy(store.latents[indices, :1].astype(np.float32)).permute(0, 2, 1, 3, 4)  # (B, C, 1, h, w)
    scenes = [store.scenes[index] for index in indices]
    true = [caption(scene, rng, complete=True) for scene in scenes]
    captions_of = {"true": true, "held-out": [caption(scene, rng, "heldout", complete=True) for scene in scenes],
                   "empty": [""] * len(true), "other": true[1:] + true[:1]}
    scheduler = training_scheduler()
    names = " / ".join(captions_of)
    print(f"| t | {' | '.join(f'{model}: {names}' for model in args.models)} |")
    print("|---" * (1 + len(args.models)) + "|")
    denoisers = [CameraUNet3D.from_pretrained(resolve_model(model) / "denoiser", torch_dtype=torch.float32).eval()
                 for model in args.models]
    contexts = [{name: encode_text(text_encoder, tokenizer, texts, clauses=denoiser.config.prompt_clauses)
                 for name, texts in captions_of.items()} for denoiser in denoisers]  # as each denoiser reads its prompt
    if args.clauses_only:
        for denoiser, model_contexts in zip(denoisers, contexts):
            if not denoiser.config.prompt_clauses:
                parser.error(f"--clauses-only: {denoiser.config._name_or_path} reads no prompt clauses")
            for context in model_contexts.values():
                context[:, :MAX_PROMPT_TOKENS] = model_contexts["empty"][:1, :MAX_PROMPT_TOKENS]
    for timestep in TIMESTEPS:
        noise = torch.randn(latents.shape, generator=torch.Generator().manual_seed(timestep))
        steps = torch.full((len(latents),), timestep)
        noisy, target = scheduler.add_noise(latents, noise, steps), scheduler.get_velocity(latents, noise, steps)
        cells = []
        with torch.no_grad():
            for denoiser, model_contexts in zip(denoisers, contexts):
                losses = [F.mse_loss(denoiser(noisy, steps, encoder_hidden_states=context).sample, target).item()
                          for context in model_contexts.values()]
                cells.append(" / ".join(f"{loss:.3f}" for loss in losses))
        print(f"| {timestep} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
