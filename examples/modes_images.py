"""Image modes from Python: text-to-image, then inpaint and outpaint the result.

    python examples/modes_images.py out/ [--model builtin:landscapes] [--steps 25]
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
common = {"model": args.model, "steps": args.steps, "seed": 7, "overwrite": True}

lake = render_images("(misty:1.3) mountain lake at dawn, pine forest", args.folder / "lake.png", **common)
height, width = lake.images.shape[1:3]

# White (here: an ellipse in the lower middle) is regenerated; every other pixel is kept exactly.
boat = render_images("a wooden boat on a mountain lake at dawn", args.folder / "inpainted.png", init_image=lake.paths[0],
                     mask=f"ellipse:{width // 2},{height * 2 // 3},{width // 5},{height // 10}", negative_prompt="fog", **common)

# Grow the canvas to 16:9; the original pixels sit unchanged in the middle.
wide = render_images("mountain lake at dawn, wide view", args.folder / "outpainted.png", init_image=lake.paths[0], outpaint="16:9", **common)

for result in (lake, boat, wide):
    print(f"{result.paths[0]}: {result.images.shape[2]}x{result.images.shape[1]}, {result.metadata['settings']['mode']}")
