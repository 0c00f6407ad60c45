"""Camera-motion presets, trajectories and camera control.

parse_camera(spec) -> CameraPath; CameraPath.trajectory(num_frames) -> Trajectory (per-frame camera-to-world
poses in OpenCV axes and focal lengths); Trajectory -> homographies, flow, Plücker rays; warp_noise and
shift_latents for training-free control of any model.
"""

from .easing import Easing
from .errors import CameraError
from .noise import shift_latents, warp_noise
from .presets import INTENSITY_RANGE, PRESETS, RIG_AXES, RIG_RANGE, Preset
from .spec import CameraPath, Keyframe, KeyframePath, Move, MovePath, parse_camera, parse_easing
from .trajectory import DEFAULT_DEPTH, Trajectory

__all__ = [
    "CameraError", "CameraPath", "DEFAULT_DEPTH", "Easing", "INTENSITY_RANGE", "Keyframe", "KeyframePath", "Move",
    "MovePath", "PRESETS", "Preset", "RIG_AXES", "RIG_RANGE", "Trajectory", "parse_camera", "parse_easing",
    "shift_latents", "warp_noise",
]
