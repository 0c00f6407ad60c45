"""Per-frame camera poses and focal lengths, and their projection to 2D motion."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

from .errors import CameraError

# Depth (scene units) of the subject the presets are tuned for: orbit and crane pivot about a point this far
# ahead, and flows or homographies default to a fronto-parallel plane at this depth.
DEFAULT_DEPTH = 4.0


def pose_matrices(rotations: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Stack (F, 3, 3) rotations and (F, 3) positions into (F, 4, 4) rigid transforms."""
    poses = np.tile(np.eye(4), (len(rotations), 1, 1))
    poses[:, :3, :3] = rotations
    poses[:, :3, 3] = positions
    return poses


def invert_rigid(poses: np.ndarray) -> np.ndarray:
    """Inverse of (..., 4, 4) rigid transforms: [R t]^-1 = [R^T, -R^T t]."""
    rotations_t = np.swapaxes(poses[..., :3, :3], -1, -2)
    inverse = np.zeros_like(poses)
    inverse[..., :3, :3] = rotations_t
    inverse[..., :3, 3] = -np.einsum("...ij,...j->...i", rotations_t, poses[..., :3, 3])
    inverse[..., 3, 3] = 1.0
    return inverse


def pixel_grid(width: int, height: int) -> np.ndarray:
    """Homogeneous pixel-centre coordinates (H, W, 3); pixel (row i, column j) sits at (j, i, 1), OpenCV style."""
    u, v = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    return np.stack([u, v, np.ones_like(u)], axis=-1)


def _depth_per_frame(depth, num_frames: int, width: int, height: int) -> np.ndarray:
    """Broadcast a scalar, (H, W) or (F, H, W) depth to (F, H, W), checking its shape and sign."""
    depth = np.asarray(depth, dtype=np.float64)
    if depth.shape not in ((), (height, width), (num_frames, height, width)):
        raise CameraError(
            f"depth of shape {depth.shape} does not fit: allowed a scalar, ({height}, {width}) "
            f"or ({num_frames}, {height}, {width})"
        )
    if not np.all(depth > 0):
        raise CameraError("depth must be positive everywhere")
    return np.broadcast_to(depth, (num_frames, height, width))


@dataclass(frozen=True, eq=False)
class Trajectory:
    """Camera-to-world poses (F, 4, 4), OpenCV axes (x right, y down, z forward), and focal lengths (F,)
    in units of image width (fx = focal * width; 1.0 is about a 53 degree horizontal field of view)."""

    c2w: np.ndarray
    focal: np.ndarray

    def __post_init__(self):
        c2w = np.array(self.c2w, dtype=np.float64)
        focal = np.array(self.focal, dtype=np.float64).reshape(-1)
        if c2w.ndim != 3 or c2w.shape[1:] != (4, 4) or len(c2w) == 0:
            raise CameraError(f"trajectory c2w has shape {c2w.shape}; allowed (F, 4, 4) with F >= 1")
        if focal.shape != (len(c2w),) or not np.all(focal > 0):
            raise CameraError(f"trajectory focal must be {len(c2w)} positive numbers, got shape {focal.shape}")
        c2w.setflags(write=False)
        focal.setflags(write=False)
        object.__setattr__(self, "c2w", c2w)
        object.__setattr__(self, "focal", focal)

    @classmethod
    def static(cls, num_frames: int, focal: float = 1.0) -> "Trajectory":
        """A camera that does not move: identity poses and a constant focal length."""
        if num_frames < 1:
            raise CameraError(f"num_frames {num_frames} must be at least 1")
        return cls(np.tile(np.eye(4), (num_frames, 1, 1)), np.full(num_frames, focal))

    @property
    def num_frames(self) -> int:
        return len(self.c2w)

    @property
    def rotations(self) -> np.ndarray:
        """(F, 3, 3) camera-to-world rotations."""
        return self.c2w[:, :3, :3]

    @property
    def positions(self) -> np.ndarray:
        """(F, 3) camera centres in world coordinates."""
        return self.c2w[:, :3, 3]

    def __len__(self) -> int:
        return self.num_frames

    def intrinsics(self, width: int, height: int) -> np.ndarray:
        """Pinhole matrices K (F, 3, 3) for an image of this size, principal point at the image centre."""
        intrinsics = np.zeros((self.num_frames, 3, 3))
        intrinsics[:, 0, 0] = intrinsics[:, 1, 1] = self.focal * width
        intrinsics[:, 0, 2] = (width - 1) / 2
        intrinsics[:, 1, 2] = (height - 1) / 2
        intrinsics[:, 2, 2] = 1.0
        return intrinsics

    def resample(self, num_frames: int) -> "Trajectory":
        """The same path at another frame count: slerp for rotations, linear positions, log-linear focal."""
        if num_frames < 1:
            raise CameraError(f"num_frames {num_frames} must be at least 1")
        if self.num_frames == 1:
            return Trajectory(np.repeat(self.c2w, num_frames, axis=0), np.repeat(self.focal, num_frames))
        old_times = np.linspace(0.0, 1.0, self.num_frames)
        new_times = np.linspace(0.0, 1.0, num_frames)
        rotations = Slerp(old_times, Rotation.from_matrix(self.rotations))(new_times).as_matrix()
        positions = np.stack([np.interp(new_times, old_times, axis) for axis in self.positions.T], axis=-1)
        focal = np.exp(np.interp(new_times, old_times, np.log(self.focal)))
        return Trajectory(pose_matrices(rotations, positions), focal)

    def compose(self, other: "Trajectory") -> "Trajectory":
        """Both moves at once: other's motion applied in this camera's moving frame, zooms multiplied."""
        if other.num_frames != self.num_frames:
            raise CameraError(f"cannot compose trajectories of {self.num_frames} and {other.num_frames} frames")
        return Trajectory(self.c2w @ other.c2w, self.focal * other.focal / other.focal[0])

    def relative_poses(self, source: int | np.ndarray, target: int | np.ndarray) -> np.ndarray:
        """Transforms (..., 4, 4) taking points from camera `source` coordinates to camera `target` coordinates."""
        return invert_rigid(self.c2w[target]) @ self.c2w[source]

    def homographies(self, width: int, height: int, depth: float = DEFAULT_DEPTH) -> np.ndarray:
        """Plane-induced homographies (F, 3, 3) mapping frame-0 pixels to frame-f pixels, for the plane
        z = depth in frame 0's camera (Hartley & Zisserman, result 13.1: H = K' (R + t n^T / d) K^-1)."""
        if not depth > 0:
            raise CameraError(f"depth {depth} must be positive")
        to_frame = self.relative_poses(0, np.arange(self.num_frames))  # frame 0 -> frame f, (F, 4, 4)
        normal = np.array([0.0, 0.0, 1.0])
        plane_maps = to_frame[:, :3, :3] + np.einsum("fi,j->fij", to_frame[:, :3, 3], normal) / depth
        intrinsics = self.intrinsics(width, height)
        homographies = intrinsics @ plane_maps @ np.linalg.inv(intrinsics[0])
        return homographies / homographies[:, 2:, 2:]

    def flow(self, width: int, height: int, depth=DEFAULT_DEPTH) -> np.ndarray:
        """Forward optical flow (F-1, H, W, 2) in pixels from frame f to f+1 for a static scene whose z-depth
        seen from frame f is `depth`: a scalar, an (H, W) map, or an (F, H, W) map per frame (parallax)."""
        depth = _depth_per_frame(depth, self.num_frames, width, height)
        intrinsics = self.intrinsics(width, height)
        grid = pixel_grid(width, height)  # (H, W, 3)
        flows = np.empty((self.num_frames - 1, height, width, 2))
        for frame in range(self.num_frames - 1):  # one frame pair at a time keeps memory at one image's worth
            points = grid @ np.linalg.inv(intrinsics[frame]).T * depth[frame][..., None]  # (H, W, 3) in camera f
            step = self.relative_poses(frame, frame + 1)
            projected = (points @ step[:3, :3].T + step[:3, 3]) @ intrinsics[frame + 1].T
            # Points that pass behind the next camera have no image; clamp so the flow stays finite.
            flows[frame] = projected[..., :2] / np.maximum(projected[..., 2:], 1e-6) - grid[..., :2]
        return flows

    def plucker(self, width: int, height: int) -> np.ndarray:
        """Plücker ray embedding (F, 6, H, W) per pixel: (o x d, d) with unit world directions d, as in CameraCtrl."""
        rays = np.einsum("fij,hwj->fhwi", np.linalg.inv(self.intrinsics(width, height)), pixel_grid(width, height))
        directions = np.einsum("fij,fhwj->fhwi", self.rotations, rays)
        directions /= np.linalg.norm(directions, axis=-1, keepdims=True)
        origins = np.broadcast_to(self.positions[:, None, None, :], directions.shape)
        embedding = np.concatenate([np.cross(origins, directions), directions], axis=-1)  # (F, H, W, 6)
        return embedding.transpose(0, 3, 1, 2)  # (F, H, W, 6) -> (F, 6, H, W)

    def euler_degrees(self) -> np.ndarray:
        """(F, 3) pan, tilt, roll in degrees (pan right, tilt up, roll clockwise positive; R = Ry Rx Rz)."""
        return Rotation.from_matrix(self.rotations).as_euler("YXZ", degrees=True)
