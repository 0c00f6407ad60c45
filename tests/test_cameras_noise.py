"""cameras.warp_noise and shift_latents: distribution kept, frames follow the camera."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cameras import CameraError, Trajectory, parse_camera, shift_latents, warp_noise
from cameras.trajectory import pose_matrices

LATENT = 32  # latent width and height


def truck_trajectory(num_frames: int, pixels_per_frame: float, depth: float = 4.0) -> Trajectory:
    """A sideways move that shifts a plane at `depth` by a whole number of latent pixels per frame (focal 1)."""
    step = pixels_per_frame * depth / LATENT
    positions = np.outer(np.arange(num_frames), [step, 0, 0])
    return Trajectory(pose_matrices(np.tile(np.eye(3), (num_frames, 1, 1)), positions), np.ones(num_frames))


def gaussian_noise(frames: int = 8, seed: int = 0) -> torch.Tensor:
    return torch.randn(4, 4, frames, LATENT, LATENT, generator=torch.Generator().manual_seed(seed))


def correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    return torch.corrcoef(torch.stack([a.flatten(), b.flatten()]))[0, 1].item()


@pytest.mark.parametrize("spec", ["pan_right:2", "zoom_in:2", "zoom_out:2", "dolly_in:1.5", "roll_cw:2",
                                  "orbit_left:2+handheld:1"])
def test_warped_noise_stays_standard_normal_per_frame(spec):
    noise = gaussian_noise()
    warped = warp_noise(noise, parse_camera(spec).trajectory(8))
    per_frame = warped.transpose(0, 2).reshape(8, -1)  # (B, C, F, h, w) -> (F, B*h*C*w)
    samples = per_frame.shape[1]  # 16384: standard errors 0.008 for the mean, 0.011 for the variance
    assert per_frame.mean(1).abs().max() < 5 / samples**0.5
    assert (per_frame.var(1) - 1).abs().max() < 5 * (2 / samples) ** 0.5
    # No spatial correlation appears: neighbours stay independent.
    assert abs(correlation(warped[..., 1:], warped[..., :-1])) < 0.03
    assert abs(correlation(warped[..., 1:, :], warped[..., :-1, :])) < 0.03


def test_a_whole_pixel_move_shifts_the_noise_exactly_and_fills_the_uncovered_edge():
    noise = gaussian_noise()
    warped = warp_noise(noise, truck_trajectory(8, pixels_per_frame=2))
    # Trucking right slides the picture 2 latent pixels left per frame.
    torch.testing.assert_close(warped[:, :, 1:, :, :-2], warped[:, :, :-1, :, 2:])
    assert abs(correlation(warped[:, :, 1:, :, -2:], warped[:, :, :-1, :, -2:])) < 0.05


def test_pan_moves_noise_by_the_flow_in_latent_pixels():
    trajectory = parse_camera("pan_right:1.5").trajectory(6)  # 9 degrees a frame
    expected = trajectory.flow(LATENT, LATENT)[..., 12:20, 12:20, 0].mean()  # near the centre, about -5 pixels
    warped = warp_noise(gaussian_noise(6), trajectory)
    centre = slice(10, 22)

    def matched(shift: int) -> float:
        shifted = warped[:, :, :-1, centre, 10 - shift:22 - shift]
        return correlation(warped[:, :, 1:, centre, centre], shifted)

    scores = {shift: matched(shift) for shift in range(-8, 9)}
    best = max(scores, key=scores.get)
    assert best == round(float(expected)) and scores[best] > 0.8
    assert scores[0] < 0.1  # without following the camera, frames are unrelated


@pytest.mark.parametrize("strength", [0.0, 0.5, 0.9])
def test_strength_sets_the_correlation_along_the_flow(strength):
    noise = gaussian_noise()
    warped = warp_noise(noise, truck_trajectory(8, pixels_per_frame=1), strength=strength)
    assert correlation(warped[:, :, 1:, :, :-1], warped[:, :, :-1, :, 1:]) == pytest.approx(strength, abs=0.03)
    assert (warped.var() - 1).abs() < 0.03
    if strength == 0:
        torch.testing.assert_close(warped, noise)


def test_warp_noise_is_deterministic_keeps_dtype_and_resamples_the_trajectory():
    noise = gaussian_noise(5).to(torch.bfloat16)
    trajectory = parse_camera("dolly_in:1").trajectory(17)  # 17 video frames onto 5 latent frames
    first = warp_noise(noise, trajectory, generator=torch.Generator().manual_seed(3))
    again = warp_noise(noise, trajectory, generator=torch.Generator().manual_seed(3))
    assert first.dtype == torch.bfloat16 and first.shape == noise.shape
    torch.testing.assert_close(first, again)
    torch.testing.assert_close(first[:, :, 0], noise[:, :, 0])
    truck = truck_trajectory(5, pixels_per_frame=2)
    torch.testing.assert_close(warp_noise(noise, truck), warp_noise(noise, truck))
    # The default generator follows the input: noise from another seed gets other fresh fills at the edge.
    edges = [warp_noise(gaussian_noise(5, seed=seed), truck)[:, :, 1:, :, -2:] for seed in (0, 1)]
    assert abs(correlation(*edges)) < 0.1


def test_depth_maps_give_parallax_in_noise():
    depth = np.full((LATENT, LATENT), 8.0)
    depth[:, :16] = 2.0  # near on the left: moves 4x as far
    trajectory = truck_trajectory(4, pixels_per_frame=1, depth=8.0)
    warped = warp_noise(gaussian_noise(4), trajectory, depth=depth)
    near = correlation(warped[:, :, 1:, :, :8], warped[:, :, :-1, :, 4:12])  # 4 pixels a frame
    far = correlation(warped[:, :, 1:, :, 20:30], warped[:, :, :-1, :, 21:31])  # 1 pixel a frame
    assert near > 0.9 and far > 0.9


def test_shift_latents_warps_frame_zero_into_each_frame():
    latents = gaussian_noise(4)
    trajectory = truck_trajectory(4, pixels_per_frame=2)
    shifted = shift_latents(latents, trajectory, strength=1.0)
    for frame in range(1, 4):  # frame f shows frame 0 moved 2f pixels left; the uncovered edge keeps its own
        torch.testing.assert_close(shifted[:, :, frame, :, :-2 * frame], latents[:, :, 0, :, 2 * frame:])
        torch.testing.assert_close(shifted[:, :, frame, :, -2 * frame + 1:], latents[:, :, frame, :, -2 * frame + 1:])
    half = shift_latents(latents, trajectory, strength=0.5)
    torch.testing.assert_close(half[:, :, 1, :, :-2], (latents[:, :, 1, :, :-2] + latents[:, :, 0, :, 2:]) / 2)
    torch.testing.assert_close(shift_latents(latents, trajectory, strength=0.0), latents)


def test_feathered_shift_fades_out_towards_frame_zero_edges():
    latents = gaussian_noise(2)
    shifted = shift_latents(latents, truck_trajectory(2, pixels_per_frame=2), feather=4)
    middle = LATENT // 2  # rows far from the top and bottom edges
    own, moved = latents[:, :, 1, middle], latents[:, :, 0, middle, 2:]  # frame 1's pixel and frame 0's, 2 px right
    # columns LATENT-3, -4, -5, -6 come from frame 0's columns LATENT-1 ... LATENT-4: 0, 1, 2, 3 pixels from its edge
    for column, weight in [(LATENT - 3, 0.0), (LATENT - 4, 0.25), (LATENT - 5, 0.5), (LATENT - 6, 0.75), (LATENT // 2, 1.0)]:
        torch.testing.assert_close(shifted[:, :, 1, middle, column],
                                   torch.lerp(own[..., column], moved[..., column], weight))
    with pytest.raises(CameraError, match="feather -1 must be at least 0 pixels"):
        shift_latents(latents, truck_trajectory(2, pixels_per_frame=2), feather=-1)


@pytest.mark.parametrize("call, message", [
    (lambda: warp_noise(torch.zeros(2, 3, 4), Trajectory.static(4)), r"noise has shape \(2, 3, 4\)"),
    (lambda: warp_noise(torch.zeros(1, 1, 2, 4, 4), Trajectory.static(2), strength=1.5), "strength 1.5 is out of range 0..1"),
    (lambda: shift_latents(torch.zeros(1, 1, 2, 4, 4), Trajectory.static(2), strength=-1), "strength -1"),
])
def test_bad_arguments_raise_camera_error(call, message):
    with pytest.raises(CameraError, match=message):
        call()
