"""Render a clip from Python, as an animation tool would: a Request, a progress callback, frames and a file.

    python examples/api_render.py out/lake.mp4 [--model builtin:landscapes]
"""

import argparse

import videogen

parser = argparse.ArgumentParser()
parser.add_argument("output")
parser.add_argument("--model", default=videogen.DEFAULT_MODEL)
parser.add_argument("--steps", type=int, default=25)
args = parser.parse_args()

request = videogen.Request.create(
    prompt="sunset over a mountain lake, golden hour, camera pans right",
    camera="pan_right:0.5@ease_in_out",
    frames=32,
    keyframes=16,
    fps=24,
    steps=args.steps,
    seed=42,
    model=args.model,
)
result = videogen.render(request, args.output, overwrite=True, progress=lambda done, total: print(f"step {done}/{total}", end="\r"))

# result.frames is (F, H, W, 3) float32 in [0, 1]: hand it to the next tool, or read the file.
print(f"\n{result.path}: {result.frames.shape[0]} frames at {result.fps} fps in {result.seconds:.1f} s")
