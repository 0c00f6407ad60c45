"""cameras previews and the global motion estimator: what each preset looks like on screen."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from cameras import CameraError, parse_camera
from cameras.motion import MOTION_FIELDS, estimate_global_motion, fit_similarity
from cameras.preview import plot_path, preview_frames, render_test_scene

WIDTH, HEIGHT = 256, 144
# preset -> the similarity component it drives (dx, dy, rotation_deg, or scale - 1)
DOMINANT = {"pan": "dx", "truck": "dx", "orbit": "dx", "tilt": "dy", "pedestal": "dy", "crane": "dy",
            "roll": "rotation_deg", "zoom": "scale", "dolly": "scale"}
BASIC = ["pan_left", "pan_right", "tilt_up", "tilt_down", "truck_left", "truck_right", "pedestal_up",
         "pedestal_down", "zoom_in", "zoom_out", "dolly_in", "dolly_out", "roll_cw", "roll_ccw", "orbit_left",
         "orbit_right", "crane_up", "crane_down"]


@pytest.mark.parametrize("name", BASIC)
def test_measured_motion_matches_flow_prediction(name):
    """DIS flow + RANSAC similarity on the rendered preview recovers the direction and, within 10%, the size
    of the motion that Trajectory.flow predicts for the same scene depths."""
    intensity = 1.0 if name.split("_")[0] in ("truck", "pedestal", "dolly", "zoom") else 0.5
    trajectory = parse_camera(f"{name}:{intensity}").trajectory(9)
    frames, depth = render_test_scene(trajectory, WIDTH, HEIGHT)
    measured = estimate_global_motion(frames).mean(0)
    predicted = np.mean([fit_similarity(flow) for flow in trajectory.flow(WIDTH, HEIGHT, depth)], axis=0)
    index = MOTION_FIELDS.index(DOMINANT[name.split("_")[0]])
    offset = 1.0 if index == 3 else 0.0  # scale is compared as scale - 1
    assert abs(predicted[index] - offset) > 0.002  # the preset does move this component
    assert measured[index] - offset == pytest.approx(predicted[index] - offset, rel=0.1)


def test_preview_frames_show_parallax_and_start_from_the_same_picture():
    still = preview_frames(parse_camera("static").trajectory(3), 96, 64)
    assert still.shape == (3, 64, 96, 3) and still.dtype == np.uint8
    np.testing.assert_array_equal(still[0], still[2])
    assert still.std() > 20  # a textured pattern, not a blank frame
    frames, depth = render_test_scene(parse_camera("truck_right:1").trajectory(5), 96, 64)
    np.testing.assert_array_equal(frames[0], still[0])
    assert sorted(np.unique(np.round(depth[0]))) == [3, 6, 12]  # three layers in view
    flow = parse_camera("truck_right:1").trajectory(5).flow(96, 64, depth)[0]
    near, far = flow[..., 0][depth[0] == 3].mean(), flow[..., 0][depth[0] == 12].mean()
    assert near == pytest.approx(4 * far)


def test_estimate_global_motion_reads_float_frames_and_rejects_bad_shapes():
    frames = preview_frames(parse_camera("pan_right:0.5").trajectory(4), 128, 96)
    np.testing.assert_allclose(estimate_global_motion(frames / 255.0), estimate_global_motion(frames), atol=0.05)
    with pytest.raises(CameraError, match=r"frames of shape \(1, 8, 8, 3\)"):
        estimate_global_motion(np.zeros((1, 8, 8, 3), np.uint8))


def test_plot_is_written_atomically(tmp_path):
    trajectory = parse_camera("orbit_left:1+zoom_in:0.5@ease_in_out").trajectory(8)
    png = plot_path(trajectory, tmp_path / "plots" / "path.png", title="orbit")
    with Image.open(png) as image:
        assert image.format == "PNG" and image.width > 600
    assert sorted(path.name for path in tmp_path.rglob("*")) == ["path.png", "plots"]  # no temp file left
