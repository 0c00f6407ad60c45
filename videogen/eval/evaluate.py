"""The evaluation run: a model on the fixed prompt set, scored beside rendered ground truth (ceiling), the same
ground truth passed through the model's own VAE (the most a model with that VAE can show) and random frames (floor);
writes report.json, report.md and contact_sheet.png."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from postprocess.files import atomic_path
from postprocess.preview import contact_sheet, save_png
from videogen.eval import metrics
from videogen.eval.judge import (
    JUDGE_MIN_ACCURACY,
    Judge,
    judge_accuracy,
    judge_frames,
    load_judge,
    rendered_dataset,
)
from videogen.eval.prompts import CAMERA_GROUP, GROUPS, EvalPrompt, balanced_subset, load_prompt_set
from videogen.world import ATTRIBUTES, render_clip

SOURCES = ("floor", "model", "vae_ceiling", "ceiling")  # vae_ceiling: absent for a pipeline without a VAE


def source_label(name: str) -> str:
    """How reports and the CLI name a source: "vae_ceiling" -> "vae ceiling"."""
    return name.replace("_", " ")


@dataclass(frozen=True)
class EvalSettings:
    """What an evaluation run does; defaults are the full run."""

    num_frames: int = 16
    size: int = 128
    steps: int = 25
    guidance_scale: float = 7.5
    limit: int | None = None  # prompts in all, balanced over groups; None: the whole set
    judge_check: int = 500  # fresh renders that measure the judge's own accuracy (120 left a 2% noise on 95%)
    seed: int = 0
    rewrite_prompt: bool = True  # the pipeline's default: read unknown words in the model's vocabulary (videogen.vocabulary)
    prompts: list[EvalPrompt] = field(default_factory=load_prompt_set)


def random_clip(num_frames: int, size: int, seed: int) -> np.ndarray:
    """The floor: independent uniform noise frames (F, H, W, 3)."""
    return np.random.default_rng(seed).random((num_frames, size, size, 3), dtype=np.float32)


def camera_result(frames: np.ndarray, camera: str) -> dict:
    """metrics.camera_agreement of a clip (F, H, W, 3) with the motion its camera spec asks for."""
    num_frames, height, width = frames.shape[:3]
    return metrics.camera_agreement(metrics.expected_motion(camera, num_frames, width, height),
                                    metrics.measured_motion(frames))


def camera_summary(camera_clips: list[tuple[dict, str]]) -> dict:
    """Camera adherence of (camera_result, camera spec) pairs: direction accuracy per preset and its mean, and the
    mean magnitude error over the presets whose magnitude is scored (metrics.MAGNITUDE_PRESETS)."""
    direction = {preset: _mean([float(result["direction_ok"]) for result, camera in camera_clips if camera == preset])
                 for preset in sorted({camera for _, camera in camera_clips})}
    magnitude = [result["magnitude_error"] for result, camera in camera_clips
                 if camera.startswith(metrics.MAGNITUDE_PRESETS)]
    return {"camera_direction_accuracy": direction, "camera_direction_mean": _mean(direction.values()),
            "camera_magnitude_error": _mean(magnitude)}


def clip_metrics(frames: np.ndarray, camera: str) -> dict:
    """Camera agreement and temporal metrics of one clip."""
    dynamic, flow_top = metrics.dynamic_degree(frames)
    return {
        "camera": camera_result(frames, camera),
        "temporal_flickering": metrics.temporal_flickering(frames),
        "motion_smoothness": metrics.motion_smoothness(frames),
        "dynamic": dynamic,
        "flow_top5_px": flow_top,
        "warping_error": metrics.flow_warping_error(frames),
    }


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def adherence_table(prompts: list[EvalPrompt], predicted: dict) -> dict:
    """{group: {attribute: share of the group's prompts whose attribute the judge read right}} (None: no prompts)."""
    return {group: {name: _mean([float(predicted[name][i] == p.scene.attributes[name])
                                 for i, p in enumerate(prompts) if p.group == group]) for name in ATTRIBUTES}
            for group in GROUPS}


def adherence_summary(prompts: list[EvalPrompt], predicted: dict) -> dict:
    """Adherence's mean, its mean per group and, over the groups, per attribute (groups without prompts left out)."""
    table = {group: row for group, row in adherence_table(prompts, predicted).items() if None not in row.values()}
    return {"mean": float(np.mean([value for row in table.values() for value in row.values()])),
            "groups": {group: float(np.mean(list(row.values()))) for group, row in table.items()},
            "attributes": {name: float(np.mean([row[name] for row in table.values()])) for name in ATTRIBUTES}}


def summarise(prompts: list[EvalPrompt], clips: list[np.ndarray], judge: Judge, reference: np.ndarray,
              trusted: set[str]) -> dict:
    """Aggregate one source's clips: adherence per attribute and group (and its mean over the attributes the judge
    is trusted on), camera adherence on the camera group, temporal metrics on all clips, Fréchet distance."""
    inputs = np.stack([judge_frames(clip) for clip in clips])
    predicted = judge.predict(inputs)
    per_clip = [clip_metrics(clip, p.scene.camera) for clip, p in zip(clips, prompts)]
    adherence = adherence_table(prompts, predicted)
    camera_clips = [(m["camera"], p.scene.camera) for m, p in zip(per_clip, prompts) if p.group == CAMERA_GROUP]
    return {
        "adherence": adherence,
        "adherence_mean": _mean(v for group in adherence.values() for v in group.values()),
        "adherence_trusted_mean": _mean(v for group in adherence.values() for name, v in group.items()
                                        if name in trusted),
        **camera_summary(camera_clips),
        **{key: _mean(m[key] for m in per_clip) for key in
           ("temporal_flickering", "motion_smoothness", "dynamic", "flow_top5_px", "warping_error")},
        "frechet_distance": metrics.frechet_distance(judge.embed(inputs), reference),
        "clips": [{"group": p.group, "prompt": p.prompt, "camera": p.scene.camera,
                   "predicted": {name: predicted[name][i] for name in ATTRIBUTES}, **m}
                  for i, (p, m) in enumerate(zip(prompts, per_clip))],
    }


def vae_round_trip(pipe, clips: list[np.ndarray]) -> list[np.ndarray] | None:
    """Clips (F, H, W, 3) in [0, 1] passed through the pipeline's VAE (encode, take the mode, decode); None without
    a VAE."""
    import torch

    vae = getattr(pipe, "vae", None)
    if vae is None:
        return None
    decoded_clips = []
    with torch.no_grad():
        for clip in clips:
            images = torch.from_numpy(clip).permute(0, 3, 1, 2).to(vae.device, vae.dtype) * 2 - 1  # (F, H, W, 3) -> (F, 3, H, W)
            decoded = vae.decode(vae.encode(images).latent_dist.mode()).sample
            decoded_clips.append(((decoded.float() + 1) / 2).clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy())
    return decoded_clips


def evaluate(pipe, settings: EvalSettings, out_dir: Path, model_name: str = "",
             progress: Callable[[int, int], None] | None = None) -> dict:
    """Score a pipeline on the prompt set beside ceiling and floor; write the report files; return the report."""
    prompts = balanced_subset(settings.prompts, settings.limit)
    size, frames = settings.size, settings.num_frames
    judge = load_judge()
    check_inputs, check_labels = rendered_dataset(settings.judge_check, seed=settings.seed + 99, sizes=(size,))
    accuracy = judge_accuracy(judge, check_inputs, check_labels)
    trusted = {name: value >= JUDGE_MIN_ACCURACY for name, value in accuracy.items()}
    ceiling = [render_clip(p.scene, frames, size, size) for p in prompts]
    reference = [render_clip(p.scene.replace(seed=p.scene.seed + 1), frames, size, size) for p in prompts]
    floor = [random_clip(frames, size, settings.seed + i) for i in range(len(prompts))]
    model = []
    pipe.set_progress_bar_config(disable=progress is not None)  # the caller shows progress per clip
    for index, p in enumerate(prompts):
        model.append(pipe(prompt=p.prompt, num_frames=frames, height=size, width=size, seed=settings.seed + index,
                          num_inference_steps=settings.steps, guidance_scale=settings.guidance_scale,
                          camera=p.scene.camera, rewrite_prompt=settings.rewrite_prompt, output_type="np").frames[0].astype(np.float32))
        if progress:
            progress(index + 1, len(prompts))
    reference_embedding = judge.embed(np.stack([judge_frames(clip) for clip in reference]))
    vae_ceiling = vae_round_trip(pipe, ceiling)
    clips_by_source = {"floor": floor, "model": model, "vae_ceiling": vae_ceiling, "ceiling": ceiling}
    trusted_names = {name for name, ok in trusted.items() if ok}
    read_as = {p.prompt: pipe.read_prompt(p.prompt)[0] for p in prompts} if settings.rewrite_prompt else {}
    report = {
        "model": model_name,
        "settings": {"num_frames": frames, "size": size, "steps": settings.steps, "guidance_scale": settings.guidance_scale,
                     "prompts": len(prompts), "seed": settings.seed, "rewrite_prompt": settings.rewrite_prompt},
        "rewritten_prompts": {prompt: text for prompt, text in read_as.items() if text != prompt},
        "judge": {"accuracy_on_fresh_renders": accuracy, "min_accuracy": JUDGE_MIN_ACCURACY,
                  "trusted": trusted,
                  "fresh_renders": settings.judge_check},
        "vae_psnr_db": None if vae_ceiling is None else _mean(map(metrics.psnr, ceiling, vae_ceiling)),
        "sources": {name: summarise(prompts, clips_by_source[name], judge, reference_embedding, trusted_names)
                    for name in SOURCES if clips_by_source[name] is not None},
    }
    write_report(report, out_dir, prompts, model, ceiling)
    return report


HEADLINE = (
    ("adherence_mean", "Prompt adherence (judge accuracy, mean)", True),
    ("adherence_trusted_mean", "Prompt adherence, attributes the judge is trusted on", True),
    ("camera_direction_mean", "Camera direction accuracy", True),
    ("camera_magnitude_error", "Camera magnitude error (pan/tilt/roll/zoom)", False),
    ("temporal_flickering", "Temporal flickering (VBench, 1 = none)", True),
    ("motion_smoothness", "Motion smoothness (VBench)", True),
    ("dynamic", "Dynamic degree (VBench, share of clips)", None),
    ("warping_error", "Flow warping error (Lai et al. 2018)", False),
    ("frechet_distance", "Fréchet distance on judge logits", False),
)


def _cell(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def reading_note(report: dict) -> str:
    """How the model read its prompts: as written, or how many it rewrote in its vocabulary, per group."""
    if not report["settings"].get("rewrite_prompt", True):
        return "Prompts read as written (rewrite_prompt off)."
    rewritten = Counter(clip["group"] for clip in report["sources"]["model"]["clips"] if clip["prompt"] in report.get("rewritten_prompts", {}))
    groups = ", ".join(f"{count} {group}" for group, count in rewritten.items()) or "none"
    return (f"Prompts the model rewrote in its vocabulary before reading them (rewrite_prompt, videogen.vocabulary; each "
            f"in report.json): {groups}.")


def markdown(report: dict) -> str:
    """The Markdown summary: headline metrics per source, adherence per attribute and group, the judge's accuracy."""
    sources = report["sources"]
    shown = [name for name in SOURCES if name in sources]
    labels = [source_label(name) for name in shown]
    header = " | ".join(labels)
    camera_clips = sum(1 for clip in sources["model"]["clips"] if clip["group"] == CAMERA_GROUP)
    lines = [f"# Evaluation of {report['model'] or 'a model'}", "",
             (f"{report['settings']['prompts']} prompts, {report['settings']['num_frames']} frames at "
              f"{report['settings']['size']}px. Floor: random frames; ceiling: rendered ground truth; vae ceiling: the "
              "same ground truth encoded and decoded by the model's VAE (what its latents can hold). Prompt adherence "
              f"on the {', '.join(GROUPS)} groups; camera adherence on the {camera_clips} clips of the camera group "
              "(natural look, clear weather, daylight: scenes whose motion the estimator reads on ground truth)."), "",
             reading_note(report), "",
             f"| metric | better | {header} |", "|---|---|" + "---|" * len(shown)]
    for key, title, higher in HEADLINE:
        better = {True: "higher", False: "lower", None: "-"}[higher]
        lines.append(f"| {title} | {better} | " + " | ".join(_cell(sources[s][key]) for s in shown) + " |")
    lines += ["", f"VAE reconstruction PSNR on rendered clips: {_cell(report['vae_psnr_db'])} dB", "",
              f"## Prompt adherence per attribute ({' / '.join(labels[1:])})", "",
              "| attribute | judge accuracy | trusted | " + " | ".join(GROUPS) + " |",
              "|---|---|---|" + "---|" * len(GROUPS)]
    judge = report["judge"]
    for name in ATTRIBUTES:
        cells = [" / ".join(_cell(sources[s]["adherence"][g][name]) for s in shown[1:]) for g in GROUPS]
        trusted = "yes" if judge["trusted"][name] else "**no**"
        lines.append(f"| {name} | {judge['accuracy_on_fresh_renders'][name]:.3f} | {trusted} | " + " | ".join(cells) + " |")
    lines += ["", f"## Camera direction accuracy per preset ({' / '.join(labels)})", "", f"| camera | {header} |",
              "|---|" + "---|" * len(shown)]
    for preset in sources["model"]["camera_direction_accuracy"]:
        lines.append(f"| {preset} | " + " | ".join(_cell(sources[s]["camera_direction_accuracy"][preset]) for s in shown) + " |")
    lines += ["", "![contact sheet](contact_sheet.png)", ""]
    return "\n".join(lines)


def write_report(report: dict, out_dir: Path, prompts: list[EvalPrompt], model: list, ceiling: list) -> None:
    """report.json, report.md and contact_sheet.png (middle frames: model above ceiling, per prompt)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in (("report.json", json.dumps(report, indent=2)), ("report.md", markdown(report))):
        with atomic_path(out_dir / name) as temporary:
            temporary.write_text(text)
    shown = min(len(prompts), 8)
    middle = lambda clip: clip[len(clip) // 2]
    thumbs = [middle(c) for c in model[:shown]] + [middle(c) for c in ceiling[:shown]]
    labels = [f"model: {p.group}" for p in prompts[:shown]] + ["ground truth" for _ in prompts[:shown]]
    save_png(contact_sheet(np.stack(thumbs), columns=shown, labels=labels, thumb_width=max(128, thumbs[0].shape[1])),
             out_dir / "contact_sheet.png")
