"""Shared fixtures: tiny random components built from configs (diffusers' get_dummy_components style)."""

from __future__ import annotations

import pytest
import torch
from diffusers import AutoencoderKL, DDIMScheduler
from transformers import AutoTokenizer, BertConfig, BertModel

from videogen import CameraUNet3D, VideoPipeline
from videogen.models.text_encoder import MAX_PROMPT_TOKENS, minilm_folder

TINY_SIZE = 32  # pixels; latents are 4x4


def get_dummy_components(seed: int = 0) -> dict:
    """Real classes at tiny size, random weights: the MiniLM tokenizer, a 1-layer BERT, UNet3D, 8x VAE."""
    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(minilm_folder(), local_files_only=True, model_max_length=MAX_PROMPT_TOKENS)
    text_encoder = BertModel(
        BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=37)
    )
    denoiser = CameraUNet3D(
        sample_size=TINY_SIZE // 8,
        down_block_types=("CrossAttnDownBlock3D", "DownBlock3D"),
        up_block_types=("UpBlock3D", "CrossAttnUpBlock3D"),
        block_out_channels=(32, 64),
        cross_attention_dim=32,
        attention_head_dim=8,
        camera_embedding=True,
        text_embedding=True,
    )
    vae = AutoencoderKL(
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(8, 16, 16, 16),
        norm_num_groups=8,
        latent_channels=4,
        sample_size=TINY_SIZE,
    )
    scheduler = DDIMScheduler(beta_schedule="scaled_linear", clip_sample=False)
    return {"text_encoder": text_encoder.eval(), "tokenizer": tokenizer, "vae": vae.eval(), "denoiser": denoiser.eval(), "scheduler": scheduler}


@pytest.fixture(scope="session")
def tiny_pipeline() -> VideoPipeline:
    return VideoPipeline(**get_dummy_components())


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tiny_pipeline):
    """The tiny pipeline saved as a diffusers folder, for the CLI and --model paths."""
    folder = tmp_path_factory.mktemp("tiny_model")
    tiny_pipeline.save_pretrained(folder)
    return folder
