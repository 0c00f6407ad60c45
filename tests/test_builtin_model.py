"""The shipped built-in model loads offline from the package and renders; the package lists every module."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from diffusers import DDIMScheduler, DDPMScheduler

from videogen import CameraUNet3D, load_pipeline
from videogen.models.registry import BUILTIN_ROOT
from videogen.models.text_encoder import MAX_PROMPT_TOKENS, load_minilm
from videogen.world import Scene, caption, captions, is_possible
from videogen.world.captions import CAMERA_PHRASES, PHRASES, VOCABULARIES

ROOT = Path(__file__).resolve().parents[1]


def test_builtin_landscapes_renders_a_two_step_clip_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    pipe = load_pipeline("builtin:landscapes")
    pipe.set_progress_bar_config(disable=True)
    assert isinstance(pipe.denoiser, CameraUNet3D) and pipe.text_encoder.config.hidden_size == 384
    frames = pipe("sunset over a mountain lake, camera pans right", num_frames=4, num_inference_steps=2, seed=0, camera="pan_right:0.5").frames
    assert frames.shape == (1, 4, 128, 128, 3) and np.isfinite(frames).all() and frames.std() > 0.01
    # its camera input barely matters (docs/MODEL_CARD.md), so its model_index.json turns latent shifting on
    assert pipe.config.default_camera_shift == 1.0


def test_samplers_swapped_in_from_its_config_do_not_clip_the_latents():
    """DDIM and DDPM clip predicted samples to [-1, 1] unless the config says otherwise; the latents are unit-variance."""
    config = load_pipeline("builtin:landscapes").scheduler.config
    assert DDIMScheduler.from_config(config).config.clip_sample is False
    assert DDPMScheduler.from_config(config).config.clip_sample is False


def test_shipped_weights_are_fp16_and_small():
    weights = list(BUILTIN_ROOT.glob("landscapes/*/*.safetensors"))
    assert {path.parent.name for path in weights} == {"denoiser", "vae"}
    assert sum(path.stat().st_size for path in BUILTIN_ROOT.rglob("*")) < 60 * 2**20
    from safetensors import safe_open

    for path in weights:
        with safe_open(path, "pt") as tensors:
            assert {str(tensors.get_slice(name).get_dtype()) for name in tensors.keys()} == {"F16"}


def test_pyproject_lists_every_package():
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {str(path.parent.relative_to(ROOT)).replace("/", ".") for name in ("videogen", "cameras", "postprocess") for path in (ROOT / name).rglob("__init__.py")}
    assert found | {"videogen.configs"} == listed


def test_the_longest_world_captions_fit_the_prompt_length(monkeypatch):
    """Every detail of a complete caption, in either vocabulary, reaches the denoiser: none is cut off. Checked on the
    longest caption the grammar can make: each attribute at one of its two values with the longest phrases (the
    possible scene with the most tokens in all), and those phrases."""
    _, tokenizer = load_minilm()
    length = lambda text: len(tokenizer(text)["input_ids"])
    monkeypatch.setattr(captions, "_pick", lambda rng, choices: max(choices, key=length))
    for side, vocabulary in enumerate(VOCABULARIES):
        longest = lambda table, value: max(map(length, table[value][side]))
        wordiest = lambda table, count: sorted(table, key=lambda value: -longest(table, value))[:count]
        choices = [[(attribute, value) for value in wordiest(table, 2)] for attribute, table in PHRASES.items()]
        scenes = [dict(pairs) for pairs in itertools.product(*choices) if is_possible(dict(pairs))]
        attributes = max(scenes, key=lambda scene: sum(longest(PHRASES[name], value) for name, value in scene.items()))
        scene = Scene(**attributes, camera=f"{wordiest(CAMERA_PHRASES, 1)[0]}:0.4")  # a slow move: a speed word too
        text = caption(scene, np.random.default_rng(0), vocabulary, complete=True)
        assert 50 < length(text) <= MAX_PROMPT_TOKENS, text
