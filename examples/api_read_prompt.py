"""See how the model reads a prompt in its own words, and an image made each way, side by side.

    python examples/api_read_prompt.py out/peaks.png [--model builtin:landscapes] [--steps 25]
"""

import argparse

import numpy as np

import videogen
from postprocess.preview import contact_sheet, save_png

parser = argparse.ArgumentParser()
parser.add_argument("output")
parser.add_argument("--model", default=videogen.DEFAULT_MODEL)
parser.add_argument("--steps", type=int, default=25)
args = parser.parse_args()

prompt = "an aquarelle of alpine summits at sundown, shrouded in haze"  # words the built-in model never trained on
reading, rewrites = videogen.load_pipeline(args.model).read_prompt(prompt)
print(f"read as: {reading}")
for rewrite in rewrites:
    print(f"  {rewrite.words!r} -> {rewrite.phrase!r} (cosine {rewrite.similarity:.2f})")

images = [videogen.render_images(prompt, steps=args.steps, seed=3, model=args.model, rewrite_prompt=rewrite).images[0]
          for rewrite in (True, False)]
save_png(contact_sheet(np.stack(images), columns=2, labels=["in its words", "as written"]), args.output)
print(f"{args.output}: the two readings side by side")
