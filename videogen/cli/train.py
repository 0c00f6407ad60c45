"""`videogen train ...`, `world` and `eval`: the built-in model's training stages, its world and its evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from videogen.cli import app
from videogen.cli.common import step_progress, usage_errors

train_app = typer.Typer(help="Train the built-in model (each stage resumes from its folder).", no_args_is_help=True)
app.add_typer(train_app, name="train")


@train_app.command("data")
def train_data(
    out: Path = typer.Option(Path("runs/data"), help="Folder for the rendered shards."),
    clips: int = typer.Option(1200, help="World clips to render."),
    frames: int = typer.Option(16, help="Frames per clip."),
    size: int = typer.Option(128, help="Pixels per side."),
    seed: int = typer.Option(0),
    pairs: bool = typer.Option(False, help="Render counterfactual pairs: clips 2i and 2i + 1 show the same scene with one "
                                           "attribute changed (for videogen train denoiser --pairs; --frames 1 makes images)."),
):
    """Render world clips into shards (skips shards already there)."""
    from videogen.train.data import render_shards

    with usage_errors():
        render_shards(out, clips, frames, size, seed, pairs=pairs)


PAIRS_HELP = ("Counterfactual pairs (videogen train data --pairs) to make half of each batch, cropped around what each "
              "pair changes")
PAIR_WEIGHT_HELP = ("Weight added to the pixels a pair's change touches in the reconstruction loss (1 + this), so small "
                    "subjects count (0: pairs as plain frames).")


@train_app.command("vae")
def train_vae_command(
    data: Path = typer.Option(Path("runs/data")),
    out: Path = typer.Option(Path("runs/vae")),
    steps: int = typer.Option(1500, help="Steps on random 48 px crops (cheap)."),
    batch: int = typer.Option(8, help="Crops per step."),
    lr: float = typer.Option(4e-4, min=0.0, help="AdamW's learning rate (1e-4 suits a run from --init)."),
    whole_frame_steps: int = typer.Option(500, min=0, help="Then steps on 4 whole frames: GroupNorm's statistics differ "
                                                           "between crops and whole frames (4 dB in session 1)."),
    latent_channels: Optional[int] = typer.Option(None, min=1, show_default="a resumed run's, else 4",
                                                  help="Latent channels of a new VAE, or of an --init grown to up to twice its own "
                                                       "(the UNet trained on it follows)."),
    widths: Optional[str] = typer.Option(None, show_default="a resumed run's, else 32,64,256,256",
                                         help="Channels of the four levels, 128 px down to 16 px, each a multiple of "
                                              "32; width at 128 px costs the most decode time."),
    init: Optional[Path] = typer.Option(None, help="Start a new run from this saved VAE folder (weights only, e.g. "
                                                   "runs/vae/vae); it keeps its own widths, and grows to "
                                                   "--latent-channels if that is more than its own."),
    anchor_weight: float = typer.Option(0.0, help="Keep the --init's latent channels where its encoder puts them "
                                                  "(an MSE of this weight), so a UNet trained on its latents stays a "
                                                  "warm start; the latents are then cached at its scaling factor."),
    pairs: Optional[Path] = typer.Option(None, help=PAIRS_HELP + "."),
    pair_weight: float = typer.Option(0.0, help=PAIR_WEIGHT_HELP),
):
    """Train the 8x VAE (crops, then whole frames; resumable), then cache every clip's latents beside the shards."""
    from diffusers import AutoencoderKL

    from videogen.train.vae import WHOLE_FRAME_BATCH, cache_latents, even_out_grown_channels, train_vae

    with usage_errors():
        levels = None if widths is None else parse_widths(widths)
        if init is not None:
            require_vae_folder(init)
        start = dict(latent_channels=latent_channels, widths=levels, init=None if init is None else str(init),
                     lr=lr, anchor_weight=anchor_weight, pairs=None if pairs is None else str(pairs), pair_weight=pair_weight)
        vae = train_vae(str(data), str(out), steps, batch=batch, **start)
        if whole_frame_steps:
            vae = train_vae(str(data), str(out), steps + whole_frame_steps, batch=WHOLE_FRAME_BATCH, crop=None, **start)
        grown_from = vae.config.latent_channels if init is None else AutoencoderKL.load_config(init)["latent_channels"]
        if vae.config.latent_channels > grown_from:
            factors = even_out_grown_channels(vae, str(data), grown_from)
            typer.echo(f"grown channels rescaled by {', '.join(f'{factor:.3g}' for factor in factors)} to the old ones' spread")
    scaling = cache_latents(str(data), vae, keep_scaling=anchor_weight > 0)
    vae.save_pretrained(out / "vae")
    typer.echo(f"{out / 'vae'}: latents cached in {data}, scaling factor {scaling:.4f}")


def parse_widths(text: str) -> tuple[int, ...]:
    """'32,64,256,256' -> (32, 64, 256, 256): four levels, each a positive multiple of the VAE's GroupNorm groups."""
    from videogen.errors import UsageError
    from videogen.train.vae import NORM_GROUPS

    try:
        levels = tuple(int(part) for part in text.split(","))
    except ValueError:
        levels = ()
    if len(levels) != 4 or any(level <= 0 or level % NORM_GROUPS for level in levels):
        raise UsageError(f"--widths {text!r}: give four channel counts, each a multiple of {NORM_GROUPS}, such as 32,64,256,256")
    return levels


@train_app.command("latents")
def train_latents_command(
    data: Path = typer.Option(Path("runs/data")),
    vae: Path = typer.Option(Path("videogen/models/builtin/landscapes/vae"), help="The VAE whose latents to cache."),
):
    """Encode rendered clips with a trained VAE, at its own scaling factor: data for fine-tuning a model on it."""
    from diffusers import AutoencoderKL

    from videogen.train.vae import cache_latents

    with usage_errors():
        require_vae_folder(vae)
        scaling = cache_latents(str(data), AutoencoderKL.from_pretrained(vae).float(), keep_scaling=True)
    typer.echo(f"latents cached in {data}, scaling factor {scaling:.4f}")


def require_vae_folder(folder: Path) -> None:
    """A saved VAE folder, or one UsageError line naming the path."""
    from videogen.errors import UsageError

    if not (folder / "config.json").is_file():
        raise UsageError(f"vae: {folder} has no config.json, so it is not a saved VAE folder")


@train_app.command("decoder")
def train_decoder_command(
    data: Path = typer.Option(Path("runs/data")),
    vae: Path = typer.Option(Path("runs/vae/vae"), help="The trained VAE whose decoder is fine-tuned."),
    out: Path = typer.Option(Path("runs/decoder")),
    steps: int = typer.Option(3000),
    batch: int = typer.Option(4),
    edge_weight: float = typer.Option(0.5, help="Weight of the L1 loss on image gradients (sharpness)."),
    shift_share: float = typer.Option(0.5, min=0.0, max=1.0,
                                      help="Share of each batch that is latents warped by a random camera move, "
                                           "as latent shifting warps them (0: plain frames only)."),
    adversarial_weight: float = typer.Option(0.0, help="Weight of a PatchGAN's loss, trained beside the decoder, "
                                                       "relative to the reconstruction loss: sharp detail instead of "
                                                       "the average (0: none; 0.5 as Rombach et al. 2022)."),
    pairs: Optional[Path] = typer.Option(None, help=PAIRS_HELP + " (needs --shift-share 0)."),
    pair_weight: float = typer.Option(0.0, help=PAIR_WEIGHT_HELP),
):
    """Fine-tune the VAE's decoder alone on whole frames (the encoder, so the cached latents, stay as they are)."""
    from videogen.train.vae import train_vae

    with usage_errors():
        require_vae_folder(vae)
        train_vae(str(data), str(out), steps, batch=batch, crop=None, lr=1e-4, init=str(vae), decoder_only=True,
                  edge_weight=edge_weight, shift_share=shift_share, adversarial_weight=adversarial_weight,
                  pairs=None if pairs is None else str(pairs), pair_weight=pair_weight)
    typer.echo(f"{out / 'vae'}: export with --vae {out / 'vae'}")


@train_app.command("denoiser")
def train_denoiser_command(
    data: Path = typer.Option(Path("runs/data")),
    vae: Path = typer.Option(Path("runs/vae/vae")),
    out: Path = typer.Option(Path("runs/denoiser")),
    steps: int = typer.Option(4000),
    init: Optional[Path] = typer.Option(None, help="Start a new run from these weights, e.g. videogen/models/builtin/landscapes/denoiser."),
    lr: float = typer.Option(2e-4, min=0.0, help="Peak learning rate (100 warm-up steps, then cosine decay to 0 at --steps)."),
    image_share: float = typer.Option(1 / 3, min=0.0, max=1.0, show_default="1/3: every third step",
                                      help="Share of steps that train on single frames (16 images) instead of clips (4 of 8 frames)."),
    pooled_text_share: float = typer.Option(0.0, min=0.0, max=1.0,
                                            help="Share of captions the UNet reads through its pooled text embedding alone "
                                                 "(cross-attention sees the empty caption), so that path has to carry it."),
    layers_per_block: Optional[int] = typer.Option(None, min=1, show_default="a resumed run's, else the --init's, else 1",
                                                   help="The UNet's depth; more than the --init's adds layers that start as identities."),
    prompt_clauses: Optional[int] = typer.Option(None, min=0, show_default="a resumed run's, else the --init's, else 0",
                                                 help="How many clause embeddings (the prompt split at commas, each clause "
                                                      "pooled by MiniLM) cross-attention reads after the token states."),
    clause_only_share: float = typer.Option(0.0, min=0.0, max=1.0,
                                            help="Share of captions whose word tokens are blanked, so the UNet reads them "
                                                 "from their clause embeddings alone (needs a UNet that reads them: "
                                                 "--prompt-clauses, or an --init saved with them, as the built-in is)."),
    context_noise: float = typer.Option(0.0, min=0.0,
                                        help="Strongest Gaussian noise, in RMS units, added to the text states "
                                             "cross-attention reads (conditioning augmentation; 1 keeps a cosine of "
                                             "about 0.7), so nearby phrasings read alike; the dropped "
                                             "captions' empty text stays clean. 0: none."),
    pairs: Optional[Path] = typer.Option(None, help="A folder of counterfactual pairs of single frames with cached latents "
                                                   "(videogen train data --pairs --frames 1, then videogen train latents): "
                                                   "the image steps train on them, each pair under the same noise."),
    pair_weight: Optional[float] = typer.Option(None, min=0.0, show_default="1 with --pairs",
                                                help="Weight of the pair loss: the error of the difference between a "
                                                     "pair's two predictions, which only the changed attribute's words "
                                                     "explain (needs --pairs; 0: the plain loss alone)."),
    pair_share: Optional[float] = typer.Option(None, min=0.0, max=1.0, show_default="1 with --pairs",
                                               help="Share of the image steps that train on the pairs (spread evenly); "
                                                    "the others train on --data's frames (needs --pairs)."),
    complete_caption_share: float = typer.Option(0.0, min=0.0, max=1.0,
                                                 help="Share of captions that name every attribute, as the eval's prompts "
                                                      "do; the others leave out each detail a quarter of the time."),
    timestep_shift: float = typer.Option(1.0, show_default="1: uniform timesteps",
                                         help="Shift the training timesteps towards the noisiest by t -> s t / (1 + (s - 1) "
                                              "t) (Esser et al. 2024): 3 trains the steps where sampling draws the "
                                              "layout twice as often."),
    eval_prompts: Optional[int] = typer.Option(None, min=0, show_default="all",
                                               help="At the end, export the EMA weights to OUT/model and score them with "
                                                    "the eval harness (videogen eval) on this many prompts into OUT/eval; "
                                                    "0 skips it."),
    camera_shift: float = typer.Option(1.0, min=0, max=1, help="OUT/model's default --camera-shift (the built-in model's: "
                                                               "its camera input is weak)."),
):
    """Train the camera-conditioned temporal UNet on the cached latents (previews every 500 steps), then evaluate it."""
    from videogen.eval.evaluate import EvalSettings
    from videogen.train.denoiser import train_denoiser
    from videogen.train.export import evaluate_run

    with usage_errors():
        require_vae_folder(vae)
        train_denoiser(str(data), str(vae), str(out), steps, lr=lr, init=str(init) if init else None, image_share=image_share,
                       pooled_text_share=pooled_text_share, layers_per_block=layers_per_block,
                       prompt_clauses=prompt_clauses, clause_only_share=clause_only_share,
                       context_noise=context_noise, pairs=str(pairs) if pairs else None,
                       pair_weight=pair_weight, pair_share=pair_share, complete_caption_share=complete_caption_share,
                       timestep_shift=timestep_shift)
        if eval_prompts == 0:
            return
        with step_progress("evaluating") as progress:
            report = evaluate_run(str(out), str(vae), EvalSettings(limit=eval_prompts), camera_shift, progress=progress)
    echo_report(report, out / "eval")


@train_app.command("camera-probe")
def train_camera_probe(
    model: Path = typer.Option(Path("videogen/models/builtin/landscapes"), help="A model folder with a CameraUNet3D denoiser/."),
    data: Path = typer.Option(Path("runs/data"), help="Training data with latents of that model's VAE."),
    clips: int = typer.Option(12, min=1),
):
    """Does the denoiser read its camera? Its loss with the true, a zeroed and a negated camera condition."""
    import torch

    from videogen.errors import UsageError
    from videogen.models.denoiser import CameraUNet3D
    from videogen.train.data import ClipStore
    from videogen.train.denoiser import camera_sensitivity

    with usage_errors():
        if not (model / "denoiser" / "config.json").is_file():
            raise UsageError(f"model: {model} has no denoiser/config.json, so it is not a videogen model folder")
        store = ClipStore.load(data, with_latents=True)
        denoiser = CameraUNet3D.from_pretrained(model / "denoiser", torch_dtype=torch.float32).eval()
    for timestep, losses in camera_sensitivity(denoiser, store, clips=clips).items():
        typer.echo(f"t={timestep}: " + ", ".join(f"{name} {loss:.4f}" for name, loss in losses.items()))


@train_app.command("export")
def train_export(
    run: Path = typer.Option(Path("runs/denoiser"), help="Denoiser run folder (its checkpoint's EMA weights are exported)."),
    vae: Path = typer.Option(Path("runs/vae/vae")),
    camera_shift: float = typer.Option(1.0, min=0, max=1, help="The model's default --camera-shift (as `train denoiser`: the "
                                                               "built-in model's camera input is weak; 0 lets the model move things itself)."),
    out: Optional[Path] = typer.Option(None, help="Model folder to write instead of the package's builtin:landscapes, "
                                                  "e.g. a candidate to compare: videogen eval --model FOLDER."),
):
    """Write the trained weights into the package as builtin:landscapes (fp16 safetensors), or into --out."""
    from videogen.train.export import export_builtin

    with usage_errors():
        require_vae_folder(vae)
        target = export_builtin(str(run), str(vae), out, camera_shift=camera_shift)
    typer.echo(f"exported to {target}")


@train_app.command("export-decoder")
def train_export_decoder(
    vae: Path = typer.Option(Path("runs/decoder/vae"), help="A decoder fine-tune of the built-in model's VAE."),
):
    """Put a decoder fine-tune into builtin:landscapes; the denoiser stays (it needs the same encoder)."""
    from videogen.train.export import export_decoder

    with usage_errors():
        require_vae_folder(vae)
        typer.echo(f"exported to {export_decoder(str(vae))}")


@app.command()
def world(
    output: Path = typer.Option(..., "-o", "--output", help="Folder for the sample clips and contact sheet."),
    n: int = typer.Option(8, "--n", help="Number of clips."),
    frames: int = typer.Option(16, help="Frames per clip."),
    size: int = typer.Option(128, help="Pixels per side."),
    seed: int = typer.Option(0, help="Seed of the scene sampler."),
    split: str = typer.Option("train", help="train (training combinations) or heldout (held-out combinations)."),
):
    """Render sample clips of the procedural world: GIFs, ground-truth JSON and a contact sheet.

    Example: videogen world -o samples --n 8 --size 128
    """
    with usage_errors():
        from videogen.world.samples import write_samples

        sheet = write_samples(output, n, frames, size, seed, split)
    typer.echo(f"{output}: {n} world clips of {frames} frames at {size}x{size}; contact sheet {sheet}")


@app.command("eval")
def eval_command(
    output: Path = typer.Option(..., "-o", "--output", help="Report folder: report.json, report.md, contact_sheet.png."),
    model: str = typer.Option("builtin:landscapes", help="builtin:NAME or a local diffusers folder."),
    frames: int = typer.Option(16, help="Frames per clip."),
    size: int = typer.Option(128, help="Pixels per side (a multiple of 8)."),
    steps: int = typer.Option(25, help="Denoising steps."),
    guidance: float = typer.Option(7.5, help="Classifier-free guidance scale."),
    limit: Optional[int] = typer.Option(None, help="Evaluate this many prompts, balanced over the groups (default: all)."),
    judge_check: int = typer.Option(500, help="Fresh renders that measure the judge's own accuracy."),
    seed: int = typer.Option(0),
    literal_prompt: bool = typer.Option(False, "--literal-prompt", help="Read the prompts as written, not in the model's vocabulary (see `videogen render --help`)."),
    device: str = typer.Option("cpu", help="torch device, e.g. cpu or cuda."),
):
    """Score a model on the fixed prompt set beside rendered ground truth (ceiling), that truth through the model's VAE
    (vae ceiling) and random frames (floor).

    Example: videogen eval --model builtin:landscapes -o eval_report
    """
    with usage_errors():
        from videogen import load_pipeline
        from videogen.eval.evaluate import EvalSettings, evaluate

        pipe = load_pipeline(model, device=device)
        settings = EvalSettings(num_frames=frames, size=size, steps=steps, guidance_scale=guidance, limit=limit,
                                judge_check=judge_check, seed=seed, rewrite_prompt=not literal_prompt)
        with step_progress("generating") as progress:
            report = evaluate(pipe, settings, output, model_name=model, progress=progress)
    echo_report(report, output)


def echo_report(report: dict, output: Path) -> None:
    """An eval report's one line: where it is written and each source's prompt adherence."""
    from videogen.eval.evaluate import source_label

    scores = ", ".join(f"{source_label(name)} {source['adherence_mean']:.2f}" for name, source in report["sources"].items())
    typer.echo(f"{output / 'report.md'}: adherence {scores}")
