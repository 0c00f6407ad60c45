"""Camera control from Python: parse a spec, preview it, measure it, and warp a model's initial noise along it.

python examples/camera_preview.py OUTPUT_DIR [SPEC]
"""

import sys
from pathlib import Path

import numpy as np
import torch

import cameras
from postprocess.mux import write_video

output = Path(sys.argv[1])
spec = sys.argv[2] if len(sys.argv) > 2 else "pan_right:0.5+dolly_in:0.5@ease_in_out"

path = cameras.parse_camera(spec)  # the same parser the CLI and storyboards use
trajectory = path.trajectory(24)  # per-frame camera-to-world poses (24, 4, 4) and focal lengths (24,)
frames = cameras.preview_frames(trajectory, 256, 144)  # (24, 144, 256, 3) uint8 test pattern
write_video(frames, output / "preview.gif", fps=12, metadata={"camera": str(path)}, overwrite=True)
cameras.plot_path(trajectory, output / "path.png", title=str(path))

# What the camera does on screen, measured with optical flow and predicted from the trajectory.
# The preview's backdrop is 12 units away; it fills most of the picture, so the global fit follows it.
measured = cameras.estimate_global_motion(frames).mean(0)
predicted = np.mean([cameras.fit_similarity(flow) for flow in trajectory.flow(256, 144, depth=12.0)], axis=0)
for name, got, want in zip(cameras.MOTION_FIELDS, measured, predicted):
    print(f"{name:>12} per frame: measured {got:8.4f}, predicted {want:8.4f}")

# Training-free control for any model: initial noise (B, C, F, h, w) that follows the camera.
noise = torch.randn(1, 4, 24, 18, 32, generator=torch.Generator().manual_seed(0))
warped = cameras.warp_noise(noise, trajectory, strength=0.9)
print(f"{path}: warped noise mean {warped.mean():.3f}, std {warped.std():.3f}; wrote {output}/preview.gif, path.png")
