"""Training data from the procedural world: rendered clips cached as uint8 shards beside their scenes.

A shard is `clips_NNNNN.npy` (N, F, H, W, 3) uint8 plus `scenes_NNNNN.json` (the Scene fields of each clip).
Shards are written atomically and skipped when present, so an interrupted render resumes. After the VAE is
trained, `latents_NNNNN.npy` (N, F, C, h, w) float16 caches each clip's scaled latent means.

A folder of counterfactual pairs (`render_shards(..., pairs=True)`) holds clips 2i and 2i + 1 of the same scene with one
attribute changed (world.sample_counterfactual): what that attribute's words change in the picture, and nothing else.
"""

from __future__ import annotations

import dataclasses
import json
import os
from itertools import zip_longest
from pathlib import Path

import numpy as np

from postprocess.files import atomic_path
from videogen.errors import UsageError
from videogen.world import Scene, changed_attributes, render_clip, sample_counterfactual, sample_scene

CLIPS = "clips_{:05d}.npy"
SCENES = "scenes_{:05d}.json"
LATENTS = "latents_{:05d}.npy"


def save_array(path: Path, array: np.ndarray) -> None:
    """np.save through a temporary file, so a killed job never leaves a truncated shard."""
    with atomic_path(path) as temporary:
        np.save(temporary, array)


def render_shards(folder: str | os.PathLike, num_clips: int, num_frames: int = 16, size: int = 128, seed: int = 0,
                  shard_size: int = 50, split: str = "train", pairs: bool = False, log=print) -> None:
    """Render `num_clips` world clips into shards of `shard_size`; each shard's content depends only on (seed, shard).
    pairs: the clips come in counterfactual pairs (num_clips / 2 of them; see the module's docstring)."""
    if pairs and shard_size % 2:
        raise UsageError(f"shard_size: got {shard_size}; counterfactual pairs need an even number of clips a shard")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    plural = lambda count, noun: f"{count} {noun}{'s' * (count != 1)}"
    for shard in range((num_clips + shard_size - 1) // shard_size):
        if (folder / SCENES.format(shard)).exists():
            continue
        rng = np.random.default_rng([seed, shard])
        if pairs:
            firsts = [sample_scene(rng, split) for _ in range(shard_size // 2)]
            scenes = [scene for first in firsts for scene in (first, sample_counterfactual(first, rng, split))]
        else:
            scenes = [sample_scene(rng, split) for _ in range(shard_size)]
        clips = np.stack([np.round(render_clip(scene, num_frames, size, size) * 255).astype(np.uint8) for scene in scenes])
        save_array(folder / CLIPS.format(shard), clips)
        with atomic_path(folder / SCENES.format(shard)) as temporary:  # written last: it marks the shard complete
            temporary.write_text(json.dumps([dataclasses.asdict(scene) for scene in scenes]))
        in_pairs = f" ({plural(len(scenes) // 2, 'counterfactual pair')})" if pairs else ""
        log(f"shard {shard}: {plural(len(scenes), 'clip')}{in_pairs} of {plural(num_frames, 'frame')}")


def shard_ids(folder: str | os.PathLike, kind: str = SCENES) -> list[int]:
    """The complete shards in a folder (a shard is complete once its scenes file exists)."""
    prefix = kind.split("{")[0]
    return sorted(int(path.name[len(prefix) : len(prefix) + 5]) for path in Path(folder).glob(prefix + "*") if not path.name.startswith("."))


def rendered_shard_ids(folder: str | os.PathLike, setting: str = "data") -> list[int]:
    """The complete shards in a folder, or one UsageError line naming `setting` and the command that renders them."""
    shards = shard_ids(folder)
    if not shards:
        raise UsageError(f"{setting}: no rendered shards in {folder}; run `videogen train data --out {folder}` first")
    return shards


@dataclasses.dataclass
class ClipStore:
    """The shards of a folder: clips (N, F, H, W, 3) uint8 (memory-mapped), scenes, and latents if cached."""

    clips: np.ndarray
    scenes: list[Scene]
    latents: np.ndarray | None = None

    @classmethod
    def load(cls, folder: str | os.PathLike, with_latents: bool = False, setting: str = "data") -> "ClipStore":
        """The folder's shards (with latents: the encoded ones only), or one UsageError line naming `setting`."""
        folder = Path(folder)
        shards = rendered_shard_ids(folder, setting)
        if with_latents:
            shards = shard_ids(folder, LATENTS)
        if not shards:
            raise UsageError(f"{setting}: no cached latents in {folder}; run `videogen train latents --data {folder}` first")
        clips = np.concatenate([np.load(folder / CLIPS.format(shard), mmap_mode="r") for shard in shards])
        scenes = [Scene(**fields) for shard in shards for fields in json.loads((folder / SCENES.format(shard)).read_text())]
        latents = None
        if with_latents:
            latents = np.concatenate([np.load(folder / LATENTS.format(shard)) for shard in shards])
        return cls(clips, scenes, latents)


def counterfactual_pairs(scenes: list[Scene]) -> np.ndarray:
    """(P, 2) indices of the counterfactual pairs in a pairs folder's scenes: clips 2i and 2i + 1, which share their seed
    and camera and differ in exactly one attribute. UsageError if the scenes are not such pairs."""
    for index, (first, second) in enumerate(zip_longest(scenes[0::2], scenes[1::2])):  # an odd last clip has no second
        if second is None or len(changed_attributes(first, second)) != 1 or (first.seed, first.camera) != (second.seed, second.camera):
            raise UsageError(f"pairs: clips {2 * index} and {2 * index + 1} are not a counterfactual pair (one attribute "
                             f"changed, the same seed and camera); render pairs with videogen train data --pairs")
    return np.arange(len(scenes)).reshape(-1, 2)
