"""Export trained weights as the shipped built-in model: a diffusers folder in fp16, text encoder resolved at load."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import torch
from diffusers import AutoencoderKL

from videogen.errors import UsageError
from videogen.eval.evaluate import EvalSettings, evaluate
from videogen.models.registry import BUILTIN_ROOT, load_pipeline
from videogen.models.denoiser import CameraUNet3D
from videogen.train.denoiser import inference_scheduler
from videogen.train.loop import CHECKPOINT, read_checkpoint
from videogen.world import training_vocabulary


def export_builtin(denoiser_run: str, vae_folder: str, target: str | Path | None = None,
                   camera_shift: float = 0.0) -> Path:
    """Write model_index.json, denoiser/ (the EMA weights), vae/ and scheduler/ to `target` (None: the package's
    builtin:landscapes folder), in fp16 safetensors.

    model_index.json names no text encoder: `load_pipeline` takes MiniLM from its installed package.
    camera_shift: the model's default for the pipeline's camera_shift (1 when its camera input is inert).
    """
    state = read_checkpoint(Path(denoiser_run))
    if state is None:
        raise UsageError(f"run: {Path(denoiser_run) / CHECKPOINT} does not exist; give the folder of a "
                         "`videogen train denoiser` run")
    target = BUILTIN_ROOT / "landscapes" if target is None else Path(target)
    staging = target.with_name(f".{target.name}.export")
    shutil.rmtree(staging, ignore_errors=True)
    vae = AutoencoderKL.from_pretrained(vae_folder)
    denoiser = CameraUNet3D.from_config(state["config"])  # the run's own architecture, which may predate today's
    if denoiser.config.in_channels != vae.config.latent_channels:
        raise UsageError(f"vae: {vae_folder} makes {vae.config.latent_channels}-channel latents and the run in {denoiser_run} "
                         f"denoises {denoiser.config.in_channels}; give the VAE the run was trained on")
    denoiser.load_state_dict(state["ema"])
    denoiser.to(torch.float16).save_pretrained(staging / "denoiser")
    vae.to(torch.float16).save_pretrained(staging / "vae")
    inference_scheduler().save_pretrained(staging / "scheduler")
    index = {
        "_class_name": "VideoPipeline",
        "denoiser": ["videogen", "CameraUNet3D"],
        "scheduler": ["diffusers", "DPMSolverMultistepScheduler"],
        "vae": ["diffusers", "AutoencoderKL"],
        "_training_steps": state["step"],
        "default_camera_shift": camera_shift,
        "vocabulary": training_vocabulary(),
    }
    (staging / "model_index.json").write_text(json.dumps(index, indent=2) + "\n")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


def evaluate_run(denoiser_run: str, vae_folder: str, settings: EvalSettings, camera_shift: float = 1.0,
                 progress: Callable[[int, int], None] | None = None) -> dict:
    """The eval harness at the end of a run: export its EMA weights to RUN/model (a candidate for `videogen eval` or
    `bench/dev_adherence.py`) and score them into RUN/eval (report.md, report.json, contact_sheet.png)."""
    model = export_builtin(denoiser_run, vae_folder, Path(denoiser_run) / "model", camera_shift=camera_shift)
    pipe = load_pipeline(str(model))
    return evaluate(pipe, settings, Path(denoiser_run) / "eval", model_name=str(model), progress=progress)


def export_decoder(vae_folder: str, target: str | Path = BUILTIN_ROOT / "landscapes") -> Path:
    """Replace the VAE of the exported model in `target` with a decoder fine-tune of it (`videogen train decoder`),
    in fp16. Only the decoder may differ: the denoiser was trained on the encoder's latents."""
    target = Path(target)
    shipped = AutoencoderKL.from_pretrained(target / "vae")
    tuned = AutoencoderKL.from_pretrained(vae_folder, torch_dtype=torch.float16)
    tuned_weights = tuned.state_dict()
    for name, weight in shipped.state_dict().items():
        if name.startswith(("encoder.", "quant_conv.")) and not torch.equal(weight.half(), tuned_weights[name]):
            raise UsageError(f"vae: {vae_folder} has another encoder than {target / 'vae'} ({name} differs); a new encoder "
                             "needs a denoiser trained on its latents: videogen train export --run RUN --vae VAE")
    staging = target / ".vae.export"
    shutil.rmtree(staging, ignore_errors=True)
    tuned.save_pretrained(staging)
    shutil.rmtree(target / "vae")
    staging.rename(target / "vae")
    return target / "vae"
