"""Previews of a camera path: a layered test scene filmed along it, and a plot of the path."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

from postprocess.files import atomic_path

from .errors import CameraError
from .trajectory import Trajectory, pixel_grid

_PIXELS_PER_UNIT = 32  # texture resolution on every layer
_ROOM_HALF_SIZE = 12  # the room's walls stand this far from the first camera position


def _texture(size: tuple[int, int], tint: tuple[float, float, float], seed: int, square: int) -> np.ndarray:
    """A tinted checkerboard with seeded multi-scale noise on top: readable to the eye, and detailed at every
    scale so optical flow can lock on."""
    rng = np.random.default_rng(seed)
    height, width = size
    rows, columns = np.indices((height, width))
    checker = ((rows // square + columns // square) % 2).astype(np.float32)[..., None]
    detail = np.zeros((height, width, 3), np.float32)
    for scale in (32, 8, 2):
        coarse = rng.random((height // scale + 2, width // scale + 2, 3)).astype(np.float32)
        detail += cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)[:height, :width] / 3
    image = (0.45 + 0.35 * checker + 0.3 * (detail - 0.5)) * np.asarray(tint, np.float32)
    return (np.clip(image, 0, 1) * 255).astype(np.uint8)


class _Layer(NamedTuple):
    """A textured rectangle in frame 0's camera coordinates: texture pixel (u, v) sits at
    origin + (u * u_axis + v * v_axis) / _PIXELS_PER_UNIT; alpha 0 is see-through."""

    origin: tuple[float, float, float]
    u_axis: tuple[float, float, float]
    v_axis: tuple[float, float, float]
    texture: np.ndarray
    alpha: np.ndarray


def _opaque(texture: np.ndarray) -> np.ndarray:
    return np.full(texture.shape[:2], 255, np.uint8)


@functools.lru_cache(maxsize=1)
def _scene() -> list[_Layer]:
    """Far to near: a checkered room whose walls are 12 units from the start (the front wall fills the first
    picture, so a global motion fit follows it; side walls, floor and ceiling catch large turns), then small
    panels 6 units ahead and posts at 3 that show parallax."""
    unit, half = _PIXELS_PER_UNIT, _ROOM_HALF_SIZE
    wall = 2 * half * unit
    room = [  # front, left, right, ceiling, floor; each wall read from inside the room
        ((-half, -half, half), (1, 0, 0), (0, 1, 0), (0.6, 0.8, 1.0)),
        ((-half, -half, -half), (0, 0, 1), (0, 1, 0), (0.6, 1.0, 0.7)),
        ((half, -half, half), (0, 0, -1), (0, 1, 0), (1.0, 0.8, 0.6)),
        ((-half, -half, -half), (1, 0, 0), (0, 0, 1), (0.8, 0.8, 0.8)),
        ((-half, half, half), (1, 0, 0), (0, 0, -1), (0.7, 0.6, 0.5)),
    ]
    layers = []
    for seed, (origin, u_axis, v_axis, tint) in enumerate(room):
        texture = _texture((wall, wall), tint, seed, 2 * unit)
        layers.append(_Layer(origin, u_axis, v_axis, texture, _opaque(texture)))
    panels = _texture((unit, 11 * unit), (1.0, 0.75, 0.45), 10, unit // 2)
    panels_alpha = np.zeros(panels.shape[:2], np.uint8)
    for left in range(0, 11, 3):  # four panels 0.8 units wide, 3 units apart, just below the horizon
        panels_alpha[:, left * unit:left * unit + int(0.8 * unit)] = 255
    posts = _texture((3 * unit, 4 * unit), (1.0, 0.4, 0.5), 11, unit // 4)
    posts_alpha = np.zeros(posts.shape[:2], np.uint8)
    for left in (0.0, 1.9):  # two posts 0.2 units wide standing in the foreground
        posts_alpha[:, int(left * unit):int((left + 0.2) * unit)] = 255
    return layers + [_Layer((-5.4, 0.3, 6.0), (1, 0, 0), (0, 1, 0), panels, panels_alpha),
                     _Layer((-1.0, 0.4, 3.0), (1, 0, 0), (0, 1, 0), posts, posts_alpha)]


def render_test_scene(trajectory: Trajectory, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Frames (F, H, W, 3) uint8 and z-depth (F, H, W) of the test scene seen along the trajectory: a checkered
    room 12 units out, small panels at 6 and posts at 3, each layer warped by its plane homography."""
    if width < 8 or height < 8:
        raise CameraError(f"preview size {width}x{height} is too small; allowed 8x8 or larger")
    intrinsics = trajectory.intrinsics(width, height)
    world_to_camera = np.linalg.inv(trajectory.c2w)
    frames = np.zeros((trajectory.num_frames, height, width, 3), np.float32)
    depths = np.full((trajectory.num_frames, height, width), np.inf)
    pixels = pixel_grid(width, height)
    for layer in _scene():
        # texture pixel (u, v, 1) -> world point on the layer, (3, 3)
        texture_to_world = np.column_stack([np.divide(layer.u_axis, _PIXELS_PER_UNIT),
                                            np.divide(layer.v_axis, _PIXELS_PER_UNIT), layer.origin])
        for frame in range(trajectory.num_frames):
            rotation, translation = world_to_camera[frame, :3, :3], world_to_camera[frame, :3, 3]
            homography = intrinsics[frame] @ (rotation @ texture_to_world + np.outer(translation, [0, 0, 1]))
            colour = cv2.warpPerspective(layer.texture, homography, (width, height), flags=cv2.INTER_LINEAR)
            cover = cv2.warpPerspective(layer.alpha, homography, (width, height), flags=cv2.INTER_LINEAR) / 255.0
            # Third homogeneous coordinate of the back-projection is 1/z: only points ahead of the camera count.
            inverse_depth = pixels @ np.linalg.inv(homography)[2]
            cover[inverse_depth <= 0] = 0
            frames[frame] = frames[frame] * (1 - cover[..., None]) + colour * cover[..., None]
            with np.errstate(divide="ignore"):
                depths[frame] = np.where(cover > 0.5, 1.0 / inverse_depth, depths[frame])
    return frames.round().astype(np.uint8), depths


def preview_frames(trajectory: Trajectory, width: int = 256, height: int = 144) -> np.ndarray:
    """Frames (F, H, W, 3) uint8 of a layered test pattern filmed along the trajectory (parallax shows)."""
    return render_test_scene(trajectory, width, height)[0]


def plot_path(trajectory: Trajectory, path_png, title: str = "") -> Path:
    """A PNG of the path: top view (x against z, with view directions) and per-axis curves over frames."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise CameraError("plot_path needs matplotlib: pip install matplotlib") from None
    path_png = Path(path_png)
    frames = np.arange(trajectory.num_frames)
    positions, forward = trajectory.positions, trajectory.rotations[:, :, 2]
    figure, (top, move, turn) = plt.subplots(1, 3, figsize=(13, 4), constrained_layout=True)
    every = max(trajectory.num_frames // 12, 1)
    centre, extent = positions[:, [0, 2]].mean(0), max(np.ptp(positions[:, [0, 2]], axis=0).max(), 1.0)
    top.plot(positions[:, 0], positions[:, 2], "k-", lw=1)
    top.quiver(positions[::every, 0], positions[::every, 2], forward[::every, 0], forward[::every, 2],
               frames[::every], cmap="viridis", angles="xy", scale_units="xy", scale=4 / extent, width=0.008)
    top.plot(0, 0, "ko")
    top.set(xlabel="x (right)", ylabel="z (forward)", title="top view, arrows = view direction", aspect="equal")
    top.set(xlim=(centre[0] - extent, centre[0] + extent), ylim=(centre[1] - extent, centre[1] + extent))
    for axis, label in zip(positions.T, ("x right", "y down", "z forward")):
        move.plot(frames, axis, label=label)
    move.plot(frames, trajectory.focal / trajectory.focal[0], "k--", label="zoom (focal / first)")
    move.set(xlabel="frame", ylabel="scene units", title="position and zoom")
    move.legend(fontsize=8)
    for axis, label in zip(trajectory.euler_degrees().T, ("pan (right)", "tilt (up)", "roll (clockwise)")):
        turn.plot(frames, axis, label=label)
    turn.set(xlabel="frame", ylabel="degrees", title="rotation")
    turn.legend(fontsize=8)
    if title:
        figure.suptitle(title)
    with atomic_path(path_png) as temporary:
        figure.savefig(temporary, dpi=90, format="png")
    plt.close(figure)
    return path_png
