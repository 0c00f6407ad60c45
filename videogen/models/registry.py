"""Model registry: `builtin:NAME` for the models shipped in the package, or a local diffusers folder.

Nothing is downloaded: every path is local. Our own folders name the denoiser `denoiser`; foreign
text-to-video folders (ModelScope, Zeroscope) name it `unet` and load as the same pipeline.
"""

from __future__ import annotations

import functools
import importlib
import json
from pathlib import Path

import torch

from videogen.errors import UsageError

BUILTIN_ROOT = Path(__file__).resolve().parent / "builtin"
BUILTIN_MODELS = ("landscapes",)
DEFAULT_MODEL = "builtin:landscapes"
COMPONENT_ALIASES = {"unet": "denoiser"}  # foreign folder name -> our component name
PIPELINE_COMPONENTS = ("text_encoder", "tokenizer", "vae", "denoiser", "scheduler")


def resolve_model(spec: str) -> Path:
    """The folder a model spec names; UsageError if it is neither a built-in with weights nor a model folder."""
    if spec.startswith("builtin:"):
        name = spec.split(":", 1)[1]
        if name not in BUILTIN_MODELS:
            raise UsageError(f"model: unknown built-in {spec!r}; available: {', '.join('builtin:' + n for n in BUILTIN_MODELS)}")
        folder = BUILTIN_ROOT / name
        if not (folder / "model_index.json").is_file():
            raise UsageError(f"model: {spec} has no weights in this install ({folder} is missing); pass --model with a local diffusers folder")
        return folder
    folder = Path(spec).expanduser()
    if not folder.is_dir():
        raise UsageError(f"model: {spec!r} is neither builtin:NAME ({', '.join(BUILTIN_MODELS)}) nor an existing folder")
    if not (folder / "model_index.json").is_file():
        raise UsageError(f"model: {folder} has no model_index.json, so it is not a diffusers model folder")
    return folder


def _load_component(folder: Path, subfolder: str, library: str, class_name: str, torch_dtype):
    """One component from its subfolder, by the library and class that model_index.json names; a weights file that is
    unreadable, of other shapes or short of weights the config needs is one UsageError naming the folder."""
    from diffusers import ModelMixin
    from diffusers.utils import logging as diffusers_logging

    component_class = getattr(importlib.import_module(library), class_name)
    checks_weights = issubclass(component_class, ModelMixin)
    kwargs = {"torch_dtype": torch_dtype} if issubclass(component_class, torch.nn.Module) else {}
    verbosity = diffusers_logging.get_verbosity()
    diffusers_logging.set_verbosity_error()  # its lists of unused and missing weights become the one line below
    try:
        loaded = component_class.from_pretrained(folder / subfolder, local_files_only=True, output_loading_info=checks_weights,
                                                 **kwargs)
    except (OSError, ValueError, RuntimeError) as error:
        first_line = (str(error).strip() or type(error).__name__).splitlines()[0]
        raise UsageError(f"model: could not load {folder / subfolder}: {first_line}") from None
    finally:
        diffusers_logging.set_verbosity(verbosity)
    if not checks_weights:
        return loaded
    component, info = loaded
    if info["missing_keys"]:
        raise UsageError(f"model: could not load {folder / subfolder}: its weights lack {len(info['missing_keys'])} that "
                         f"its config.json needs (such as {info['missing_keys'][0]}); they are another model's weights")
    return component


def load_pipeline(spec: str = DEFAULT_MODEL, device: str = "cpu", dtype: str = "float32"):
    """A VideoPipeline for `spec` on `device`, cached so a storyboard loads each model once per process; a folder
    exported again (a new model_index.json) is loaded again."""
    folder = resolve_model(spec)
    return _load_folder(folder, (folder / "model_index.json").stat().st_mtime_ns, device, dtype)


@functools.lru_cache(maxsize=2)
def _load_folder(folder: Path, version: int, device: str, dtype: str):
    """load_pipeline's cached work; `version` (the index's mtime) is only part of the cache key."""
    from videogen.models.text_encoder import load_minilm
    from videogen.pipeline import VideoPipeline
    from videogen.vocabulary import Vocabulary

    torch_dtype = getattr(torch, dtype)
    index = json.loads((folder / "model_index.json").read_text())
    components = {}
    for subfolder, entry in index.items():
        if subfolder.startswith("_") or not isinstance(entry, list) or entry[0] is None:
            continue
        name = COMPONENT_ALIASES.get(subfolder, subfolder)
        if name in PIPELINE_COMPONENTS:
            components[name] = _load_component(folder, subfolder, entry[0], entry[1], torch_dtype)
    if "text_encoder" not in components:  # built-in models resolve MiniLM from its installed package
        components["text_encoder"], components["tokenizer"] = load_minilm(torch_dtype)
    missing = [name for name in PIPELINE_COMPONENTS if name not in components]
    if missing:
        raise UsageError(f"model: {folder} lacks {', '.join(missing)} in model_index.json")
    Vocabulary.from_config(index.get("vocabulary"), str(folder / "model_index.json"))  # a bad one named by its file
    return VideoPipeline(**components, default_camera_shift=index.get("default_camera_shift", 0.0),
                         vocabulary=index.get("vocabulary")).to(device)
