"""How far the text encoder alone carries a held-out phrasing: each held-out phrase of the world's grammar is given
the value of its nearest training phrase, by MiniLM's sentence embedding beside a bag-of-words peer.

    python bench/phrase_neighbours.py

The world's held-out phrasings ("at sundown", "an aquarelle of") borrow no distinctive word from the training
phrases of their value, so the peer (word overlap, Jaccard) shows what spelling alone gives. MiniLM's embedding is
its own sentence pooling (the mean of the real tokens' states, normalised; Reimers & Gurevych 2019); the padded
mean is the denoiser's pooled text input (the mean over all 64 positions, padding included). Nearest phrases are
searched within one attribute, among the training phrases of all its values. Prints the share of held-out phrases
each gets right, per attribute and in all, and the misses. It bounds nothing, but where the encoder maps a phrase
to its value and the model still misses it, the gap is in how the model reads its text.
"""

from __future__ import annotations

import re

import torch
import torch.nn.functional as F

from videogen.models.text_encoder import MAX_PROMPT_TOKENS, load_minilm, sentence_embeddings
from videogen.world.captions import CAMERA_PHRASES, PHRASES


def held_out_cases() -> dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]]]]:
    """attribute -> (training (value, phrase) pairs, held-out (value, phrase) pairs); "say nothing" phrases left out."""
    groups = {**PHRASES, "camera": {preset: phrases for preset, phrases in CAMERA_PHRASES.items()}}
    return {attribute: ([(value, phrase) for value, (train, _) in values.items() for phrase in train if phrase],
                        [(value, phrase) for value, (_, heldout) in values.items() for phrase in heldout if phrase])
            for attribute, values in groups.items()}


def words(phrase: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", phrase.lower()))


def jaccard_similarity(queries: list[str], keys: list[str]) -> torch.Tensor:
    """(len(queries), len(keys)) word-set overlap: |a & b| / |a | b|."""
    return torch.tensor([[len(words(q) & words(k)) / len(words(q) | words(k)) for k in keys] for q in queries])


class MiniLMSimilarity:
    def __init__(self, minilm, padded: bool):
        self.text_encoder, self.tokenizer = minilm
        self.padded = padded

    @torch.no_grad()
    def embed(self, phrases: list[str]) -> torch.Tensor:
        if not self.padded:  # the pipeline's own (videogen.vocabulary reads prompts with it)
            return sentence_embeddings(self.text_encoder, self.tokenizer, phrases)
        tokens = self.tokenizer(phrases, padding="max_length", max_length=MAX_PROMPT_TOKENS, truncation=True, return_tensors="pt")
        states = self.text_encoder(**tokens).last_hidden_state  # (B, T, 384)
        return F.normalize(states.mean(1), dim=-1)  # every position, padding included

    def __call__(self, queries: list[str], keys: list[str]) -> torch.Tensor:
        return self.embed(queries) @ self.embed(keys).T


def main():
    torch.manual_seed(0)
    minilm = load_minilm()  # loaded once for both poolings
    similarities = {"word overlap (peer)": jaccard_similarity, "MiniLM sentence embedding": MiniLMSimilarity(minilm, padded=False),
                    "MiniLM padded mean (the denoiser's pooled input)": MiniLMSimilarity(minilm, padded=True)}
    cases = held_out_cases()
    print("| nearest training phrase by | " + " | ".join(cases) + " | all |")
    print("|---|" + "---|" * (len(cases) + 1))
    misses = {name: [] for name in similarities}
    for name, similarity in similarities.items():
        right, total, cells = 0, 0, []
        for attribute, (train, heldout) in cases.items():
            scores = similarity([phrase for _, phrase in heldout], [phrase for _, phrase in train])
            # ties (a peer with no shared word at all) go to no value
            nearest = [train[int(row.argmax())][0] if row.max() > row.min() else None for row in scores]
            hits = [guess == value for guess, (value, _) in zip(nearest, heldout)]
            misses[name] += [f"{phrase!r}->{guess}" for guess, (_, phrase), hit in zip(nearest, heldout, hits) if not hit]
            right, total = right + sum(hits), total + len(hits)
            cells.append(f"{sum(hits)}/{len(hits)}")
        print(f"| {name} | " + " | ".join(cells) + f" | **{right}/{total}** ({right / total:.2f}) |")
    for name, missed in misses.items():
        print(f"\n{name} misses: " + ", ".join(missed))


if __name__ == "__main__":
    main()
