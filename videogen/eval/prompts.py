"""The fixed evaluation prompt set: seen phrasings, held-out phrasings and held-out attribute combinations (for
prompt adherence), and a camera group of legible scenes (for camera adherence)."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import zip_longest
from importlib import resources
from pathlib import Path

import numpy as np
import yaml

from videogen.errors import UsageError
from videogen.world import Scene, caption, sample_attributes

GROUPS = ("seen", "heldout_phrasing", "heldout_combination")  # the prompt-adherence groups
CAMERA_GROUP = "camera"
# Camera adherence is scored where motion can be read from the ground truth itself: in rain, snow, fog at night
# and the painted looks (a static paper or hatching texture, a pixel grid) the estimator misreads rendered
# clips too, so the camera group is natural-looking, clear, daylit scenes.
LEGIBLE = {"look": "natural", "weather": "clear"}
DAYLIGHT = ("noon", "dawn", "sunrise", "golden_hour", "sunset", "dusk")
EVAL_CAMERAS = ("pan_left:0.6", "pan_right:0.6", "tilt_up:0.6", "tilt_down:0.6", "zoom_in:0.6", "zoom_out:0.6",
                "roll_cw:0.6", "static")
PROMPTS_FILE = "eval_prompts.yaml"


@dataclass(frozen=True)
class EvalPrompt:
    """One prompt of the set with the scene it describes (the ground truth for the judge and the ceiling)."""

    group: str
    prompt: str
    scene: Scene


def make_prompt_set(per_group: int = 8, per_camera: int = 3, seed: int = 7) -> list[EvalPrompt]:
    """Build the set: per group, scenes with complete captions, cameras cycling through EVAL_CAMERAS; then
    `per_camera` legible scenes for each of EVAL_CAMERAS."""
    rng = np.random.default_rng(seed)
    prompts = []
    for group in GROUPS:
        for index in range(per_group):
            attributes = sample_attributes(rng, "heldout" if group == "heldout_combination" else "train")
            camera = EVAL_CAMERAS[(index + GROUPS.index(group)) % len(EVAL_CAMERAS)]
            scene = Scene(**attributes, camera=camera, seed=int(rng.integers(2**31)))
            vocabulary = "heldout" if group == "heldout_phrasing" else "train"
            text = caption(scene, rng, vocabulary, complete=True)
            prompts.append(EvalPrompt(group, text, scene.replace(caption=text)))
    for index in range(per_camera * len(EVAL_CAMERAS)):
        attributes = sample_attributes(rng, "train", **LEGIBLE, time=DAYLIGHT[rng.integers(len(DAYLIGHT))])
        scene = Scene(**attributes, camera=EVAL_CAMERAS[index % len(EVAL_CAMERAS)], seed=int(rng.integers(2**31)))
        text = caption(scene, rng, "train", complete=True)
        prompts.append(EvalPrompt(CAMERA_GROUP, text, scene.replace(caption=text)))
    return prompts


def save_prompt_set(prompts: list[EvalPrompt], path: Path) -> None:
    """Write the set as YAML: one mapping per prompt (group, prompt, camera, seed, attributes)."""
    rows = [{"group": p.group, "prompt": p.prompt, "camera": p.scene.camera, "seed": p.scene.seed,
             "attributes": p.scene.attributes} for p in prompts]
    path.write_text(yaml.safe_dump(rows, sort_keys=False, width=120))


def load_prompt_set(path: Path | None = None) -> list[EvalPrompt]:
    """Read a prompt set (default: the packaged configs/eval_prompts.yaml), validating every attribute."""
    text = Path(path).read_text() if path else resources.files("videogen.configs").joinpath(PROMPTS_FILE).read_text()
    prompts = []
    for index, row in enumerate(yaml.safe_load(text)):
        if row.get("group") not in (*GROUPS, CAMERA_GROUP):
            raise UsageError(f"eval prompt {index}: group {row.get('group')!r} is unknown; "
                             f"allowed: {', '.join((*GROUPS, CAMERA_GROUP))}")
        scene = Scene(**row["attributes"], camera=row["camera"], seed=int(row["seed"]), caption=row["prompt"])
        prompts.append(EvalPrompt(row["group"], row["prompt"], scene))
    return prompts


def balanced_subset(prompts: list[EvalPrompt], limit: int | None) -> list[EvalPrompt]:
    """The first prompts of each group in turn, `limit` in all (None: every prompt)."""
    if limit is None or limit >= len(prompts):
        return prompts
    by_group = [[p for p in prompts if p.group == group] for group in (*GROUPS, CAMERA_GROUP)]
    interleaved = [p for row in zip_longest(*by_group) for p in row if p is not None]
    return interleaved[:limit]


if __name__ == "__main__":
    save_prompt_set(make_prompt_set(), Path(__file__).parents[2] / "configs" / PROMPTS_FILE)
