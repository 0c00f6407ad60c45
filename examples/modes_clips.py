"""Clip modes from Python: a still brought to life (image-to-video), restyled (video-to-video), then continued (extend).

    python examples/modes_clips.py out/ [--model builtin:landscapes] [--steps 25]
"""

import argparse
from pathlib import Path

import videogen
from videogen.api import render_images

parser = argparse.ArgumentParser()
parser.add_argument("folder", type=Path)
parser.add_argument("--model", default=videogen.DEFAULT_MODEL)
parser.add_argument("--steps", type=int, default=25)
args = parser.parse_args()
common = {"model": args.model, "steps": args.steps, "seed": 3, "overwrite": True}
still = render_images("sunset over a mountain lake", args.folder / "still.png", **common).paths[0]

# The still is frame 0; the model makes the motion after it (a slow pan), 8 keyframes interpolated to 16 frames.
clip = videogen.render("sunset over a mountain lake, camera pans right", args.folder / "from_image.mp4", init_image=still,
                       camera="pan_right:0.3", frames=16, keyframes=8, fps=12, **common)

# Same frames and rate, new look: SDEdit over the whole clip at strength 0.5 (frames and fps come from the input).
restyled = videogen.render("(snowy:1.4) mountain lake at night", args.folder / "restyled.mp4", init_video=clip.path,
                           strength=0.5, **common)

# 8 more frames, each window continuing from the last 4 frames made.
longer = videogen.render("snowy mountain lake at night", args.folder / "extended.mp4", mode="extend", init_video=restyled.path,
                         frames=len(restyled.frames) + 8, keyframes=8, **common)

for result in (clip, restyled, longer):
    print(f"{result.path}: {len(result.frames)} frames at {result.fps} fps, {result.metadata['settings']['mode']}")
