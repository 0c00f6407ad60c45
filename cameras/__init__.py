"""Camera-motion presets, trajectories and camera control.

parse_camera(spec) -> CameraPath; CameraPath.trajectory(num_frames) -> Trajectory (per-frame camera-to-world
poses in OpenCV axes and focal lengths); Trajectory -> homographies, flow, Plücker rays; warp_noise and
shift_latents for training-free control of any model; preview_frames / plot_path to see a path;
estimate_global_motion to measure camera motion in any clip, flow_gain to check it against a known depth.
"""

from .easing import Easing
from .errors import CameraError
from .motion import MOTION_FIELDS, estimate_global_motion, fit_similarity, flow_gain
from .noise import shift_latents, warp_noise
from .preview import plot_path, preview_frames, render_test_scene
from .presets import INTENSITY_RANGE, PRESETS, RIG_AXES, RIG_RANGE, Preset
from .spec import CameraPath, Keyframe, KeyframePath, Move, MovePath, parse_camera, parse_easing
from .trajectory import DEFAULT_DEPTH, Trajectory

__all__ = [
    "CameraError", "CameraPath", "DEFAULT_DEPTH", "Easing", "INTENSITY_RANGE", "Keyframe", "KeyframePath",
    "MOTION_FIELDS", "Move", "MovePath", "PRESETS", "Preset", "RIG_AXES", "RIG_RANGE", "Trajectory",
    "estimate_global_motion", "fit_similarity", "flow_gain", "parse_camera", "parse_easing", "plot_path", "preview_frames",
    "render_test_scene", "shift_latents", "warp_noise",
]
