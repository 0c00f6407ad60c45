"""Sample clips of the world written to a folder: a GIF and a ground-truth JSON per clip, and a contact sheet."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from postprocess.files import atomic_path
from postprocess.mux import write_video
from postprocess.preview import contact_sheet, save_png
from videogen.world.render import render_clip, scene_truth
from videogen.world.scene import sample_scene


def write_samples(out_dir: Path, count: int = 8, num_frames: int = 16, size: int = 128, seed: int = 0,
                  split: str = "train", fps: int = 8) -> Path:
    """Render `count` random scenes: clip_NN.gif and clip_NN.json (caption, attributes, camera, subject track)
    each, and contact_sheet.png (first, middle and last frame per clip); returns the contact sheet's path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    thumbs, labels = [], []
    for index in range(count):
        scene = sample_scene(rng, split=split)
        clip = render_clip(scene, num_frames, size, size)
        write_video(clip, out_dir / f"clip_{index:02d}.gif", fps=fps, metadata={"caption": scene.caption}, overwrite=True)
        with atomic_path(out_dir / f"clip_{index:02d}.json") as temporary:
            temporary.write_text(json.dumps(scene_truth(scene, num_frames, size, size) | {"seed": scene.seed}, indent=2))
        thumbs += [clip[0], clip[num_frames // 2], clip[-1]]
        labels += [f"{index:02d} {scene.time} {scene.terrain}", f"{scene.look} {scene.subject}", scene.camera]
    sheet_path = out_dir / "contact_sheet.png"
    save_png(contact_sheet(np.stack(thumbs), columns=6, labels=labels), sheet_path)
    return sheet_path
