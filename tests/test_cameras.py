"""cameras: spec parsing, presets, easing, keyframes and Trajectory geometry."""

from __future__ import annotations

import numpy as np
import pytest

from cameras import PRESETS, CameraError, Easing, Trajectory, parse_camera, parse_easing
from cameras.presets import OPPOSITES

MOVING_PRESETS = [name for name in PRESETS if name != "static"]
OPPOSITE_PAIRS = sorted({tuple(sorted(pair)) for pair in OPPOSITES.items()})
KEYFRAMES = [{"time": 0}, {"time": 0.4, "pan": 25, "tilt": -10, "x": 0.5, "easing": "ease_in_out"},
             {"time": 1, "pan": -20, "roll": 15, "z": 1.5, "zoom": 1.4}]


def assert_identity(trajectory: Trajectory):
    np.testing.assert_allclose(trajectory.c2w, np.tile(np.eye(4), (trajectory.num_frames, 1, 1)), atol=1e-12)
    np.testing.assert_allclose(trajectory.focal, 1.0)


@pytest.mark.parametrize("spec", [*(f"{name}:{i}" for name in MOVING_PRESETS for i in (0.3, 2)), KEYFRAMES,
                                  "pan_right:1+orbit_left:0.5+handheld:1@ease_in"])
def test_rotations_stay_orthonormal(spec):
    rotations = parse_camera(spec).trajectory(31).rotations
    np.testing.assert_allclose(rotations @ rotations.transpose(0, 2, 1), np.tile(np.eye(3), (31, 1, 1)), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(rotations), 1.0, atol=1e-12)


@pytest.mark.parametrize("name", MOVING_PRESETS)
def test_zero_intensity_is_identity_and_frame_zero_is_identity(name):
    assert parse_camera(f"{name}:0").is_static
    assert_identity(parse_camera(f"{name}:0").trajectory(12))
    moving = parse_camera(f"{name}:1.5").trajectory(12)
    assert_identity(Trajectory(moving.c2w[:1], moving.focal[:1]))
    assert not np.allclose(moving.c2w[-1], np.eye(4)) or moving.focal[-1] != 1.0


@pytest.mark.parametrize("pair", OPPOSITE_PAIRS)
@pytest.mark.parametrize("easing", ["linear", "ease_in_out"])
def test_move_composed_with_its_opposite_returns_to_start(pair, easing):
    move, opposite = (parse_camera(f"{name}:1.3@{easing}").trajectory(20) for name in pair)
    assert_identity(move.compose(opposite))
    assert_identity(opposite.compose(move))


def test_preset_directions_in_the_image():
    """Each preset moves the picture the way its name says (OpenCV axes: +x right, +y down)."""
    width, height, centre = 64, 48, (24, 32)

    def centre_flow(spec, depth=4.0):
        return parse_camera(spec).trajectory(5).flow(width, height, depth)[0][centre]

    assert centre_flow("pan_right")[0] < -1 and centre_flow("truck_right")[0] < -1  # content slides left
    assert centre_flow("pan_left")[0] > 1 and centre_flow("truck_left")[0] > 1
    assert centre_flow("tilt_up")[1] > 1 and centre_flow("pedestal_up")[1] > 1  # content slides down
    assert centre_flow("tilt_down")[1] < -1 and centre_flow("pedestal_down")[1] < -1
    np.testing.assert_allclose(centre_flow("orbit_left"), 0, atol=0.05)  # the subject at depth 4 stays put
    # Circling left: what is behind the subject slides left, what is in front slides right.
    assert centre_flow("orbit_left", depth=12)[0] < -1 and centre_flow("orbit_left", depth=2)[0] > 1
    assert centre_flow("crane_up", depth=12)[1] < -1 and centre_flow("crane_up", depth=2)[1] > 1
    for spec in ("zoom_in", "dolly_in"):
        flow = parse_camera(spec).trajectory(5).flow(width, height)[0]
        assert flow[0, 0, 0] < 0 and flow[0, 0, 1] < 0 and flow[-1, -1, 0] > 0 and flow[-1, -1, 1] > 0
    right_of_centre = parse_camera("roll_cw").trajectory(5).flow(width, height)[0][24, 60]
    assert right_of_centre[1] < -1  # the camera turns clockwise, so the picture turns counter-clockwise


def test_documented_magnitudes():
    assert parse_camera("pan_right:1").trajectory(9).euler_degrees()[-1] == pytest.approx([30, 0, 0])
    assert parse_camera("tilt_up:0.5").trajectory(9).euler_degrees()[-1] == pytest.approx([0, 10, 0])
    assert parse_camera("roll_ccw:2").trajectory(9).euler_degrees()[-1] == pytest.approx([0, 0, -60])
    assert parse_camera("zoom_in:2").trajectory(9).focal[-1] == pytest.approx(2.25)
    assert parse_camera("dolly_out:0.5").trajectory(9).positions[-1] == pytest.approx([0, 0, -0.5])
    orbit = parse_camera("orbit_right:1").trajectory(9)
    assert np.linalg.norm(orbit.positions[-1] - [0, 0, 4]) == pytest.approx(4)  # on a circle about the subject
    assert orbit.euler_degrees()[-1][0] == pytest.approx(-30)


def test_handheld_is_seeded_smooth_and_small():
    first, again, other = (parse_camera(spec).trajectory(49)
                           for spec in ("handheld:1,seed=3", "handheld:1,seed=3", "handheld:1,seed=4"))
    np.testing.assert_array_equal(first.c2w, again.c2w)
    assert not np.allclose(first.c2w, other.c2w)
    angles = first.euler_degrees()
    assert 0.2 < np.abs(angles).max() < 5 and np.abs(first.positions).max() < 0.2
    # Smooth: at most a few oscillations per clip, so frame-to-frame accelerations are small next to the sway.
    assert np.abs(np.diff(angles, n=2, axis=0)).max() < 0.2 * np.abs(angles).max()


@pytest.mark.parametrize("name", ["linear", "ease_in", "ease_out", "ease_in_out", "hold", "cubic_bezier(0.2,0.1,0.3,1)"])
def test_easing_starts_at_0_ends_at_1_and_is_monotonic(name):
    easing = parse_easing(name)
    values = easing(np.linspace(0, 1, 201))
    assert values[0] == pytest.approx(0, abs=1e-9) and values[-1] == pytest.approx(1, abs=1e-9)
    assert np.all(np.diff(values) >= -1e-12)


def test_easing_shapes():
    t = np.array([0.25, 0.5, 0.75])
    np.testing.assert_allclose(Easing("linear")(t), t)
    assert Easing("ease_in")(0.25) < 0.25 and Easing("ease_out")(0.25) > 0.25
    assert Easing("ease_in_out")(0.5) == pytest.approx(0.5, abs=1e-3)
    np.testing.assert_array_equal(Easing("hold")(t), 0)
    overshoot = parse_easing("cubic_bezier(0.3,1.6,0.7,1)")(np.linspace(0, 1, 101))  # back-out style
    assert overshoot.max() > 1.05 and overshoot[-1] == pytest.approx(1)
    np.testing.assert_allclose(parse_easing("cubic_bezier(0.42,0,0.58,1)")(t), Easing("ease_in_out")(t))


@pytest.mark.parametrize("spec", ["pan_right:1+dolly_in:0.7@ease_in_out", "orbit_left:2", "handheld:1,seed=2",
                                  KEYFRAMES])
def test_frame_count_changes_resample_the_same_path(spec):
    path = parse_camera(spec)
    fine, coarse = path.trajectory(97), path.trajectory(49)
    exact = fine.resample(49)  # every other sample of the fine path
    np.testing.assert_allclose(exact.c2w, coarse.c2w, atol=1e-9)
    np.testing.assert_allclose(exact.focal, coarse.focal, atol=1e-9)
    between = fine.resample(30)
    np.testing.assert_allclose(between.c2w, path.trajectory(30).c2w, atol=2e-3)
    np.testing.assert_allclose(between.focal, path.trajectory(30).focal, atol=1e-3)


@pytest.mark.parametrize("spec", ["static", "pan_right:0.6", "zoom_in:0.3+tilt_up:0.2@ease_in_out",
                                  "handheld:0.5,seed=7@cubic_bezier(0.4,0,0.2,1)", "roll_ccw:2@hold", KEYFRAMES,
                                  {"horizontal": 2, "pan": -3, "zoom": 5, "easing": "ease_out"}])
def test_canonical_string_round_trips(spec):
    path = parse_camera(spec)
    again = parse_camera(str(path))
    assert str(again) == str(path)
    np.testing.assert_allclose(again.trajectory(17).c2w, path.trajectory(17).c2w, atol=1e-12)


def test_one_parser_for_strings_mappings_and_rigs():
    reference = str(parse_camera("pan_right:0.6@ease_in_out"))
    assert str(parse_camera({"preset": "pan_right", "intensity": 0.6, "easing": "ease_in_out"})) == reference
    assert str(parse_camera(" Pan-Right : 0.6 @ ease-in-out ")) == reference
    assert str(parse_camera('{preset: pan_right, intensity: 0.6, easing: ease_in_out}')) == reference
    assert str(parse_camera({"horizontal": 5, "vertical": -2.5, "pan": -10})) == (
        "truck_right:1+pedestal_down:0.5+pan_left:2")
    assert str(parse_camera("pan_right")) == "pan_right:1"
    for static in (None, "", "static", "pan_right:0", {"pan": 0}, {"preset": "static"}):
        assert parse_camera(static).is_static and str(parse_camera(static)) == "static"


def test_keyframes_interpolate_with_slerp_and_per_segment_easing(tmp_path):
    path = parse_camera([{"frame": 0}, {"frame": 10, "pan": 40, "x": 1}, {"frame": 20, "easing": "hold"},
                         {"frame": 30, "tilt": 10}])
    trajectory = path.trajectory(31)
    angles = trajectory.euler_degrees()
    assert angles[5] == pytest.approx([20, 0, 0]) and trajectory.positions[5] == pytest.approx([0.5, 0, 0])
    assert angles[20] == pytest.approx([40, 0, 0])  # frame 20 keeps pan 40 (fields are inherited)
    assert angles[29] == pytest.approx([40, 0, 0]) and angles[30] == pytest.approx([40, 10, 0])  # hold: a cut
    np.testing.assert_allclose(path.trajectory(41).c2w[:31], trajectory.c2w)  # held after the last keyframe
    file = tmp_path / "camera.yaml"
    file.write_text("keyframes:\n  - {frame: 0}\n  - {frame: 10, pan: 40, x: 1}\n  - {frame: 20, easing: hold}\n"
                    "  - {frame: 30, tilt: 10}\n")
    assert str(parse_camera(file)) == str(path)


BAD_SPECS = [
    ("pan_rigth:0.6", 'unknown preset "pan_rigth" at column 1; did you mean pan_right?'),
    ("zoom_in:0.3+tilt_upp:0.2", "at column 13; did you mean tilt_up?"),
    ("pan_right:2.5", "intensity 2.5 for pan_right is out of range 0..2 at column 11"),
    ("pan_right:-0.5", "use pan_left"),
    ("pan_right:0.5+", "expected a preset name, found the end at column 15"),
    ("pan_right 0.5", 'unexpected "0"; expected "+", "@" or the end at column 11'),
    ("pan_right:x", 'expected an intensity after "pan_right:", found "x" at column 11'),
    ("pan_right@ease_inout", "did you mean ease_in_out"),
    ("pan_right@cubic_bezier(1.5,0,0.2,1)", "x1=1.5, x2=0.2: both must lie in [0, 1]"),
    ("pan_right@cubic_bezier(0.1,0.2", 'expected ")" after the easing parameters'),
    ("pan_right:1,seed=3", "only handheld takes"),
    ("[{frame: 0", "not valid YAML/JSON"),
    ({"pan": 11}, "rig pan=11 is out of range -10..10"),
    ({"pann": 1}, 'unknown key "pann"; did you mean pan?'),
    ({"preset": "zom_in"}, "did you mean zoom_in?"),
    ({"preset": "zoom_in", "intensity": "lots"}, "intensity must be a finite number"),
    ([{"frame": 5}, {"frame": 3}], "keyframes out of order: keyframe 1 at frame 3 does not come after 5"),
    ([{"time": 0}, {"time": 1.5}], "time 1.5 is beyond the clip"),
    ([{"time": 0}, {"frame": 4}], "mixes frame and time"),
    ([{"frame": 0, "pam": 3}], 'unknown key "pam"; did you mean pan?'),
    ([{"pan": 3}], "needs exactly one of frame"),
    ([{"frame": 0, "zoom": 0}], "zoom 0 must be positive"),
    ([{"frame": 0, "pan": float("nan")}], "keyframe 0 pan must be a finite number, got nan"),
    ([], "non-empty list"),
    (42, "type int is not allowed"),
]


@pytest.mark.parametrize("spec, message", BAD_SPECS)
def test_bad_specs_raise_one_line(spec, message):
    with pytest.raises(CameraError) as error:
        parse_camera(spec)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_keyframes_beyond_the_clip_raise_when_sampled():
    with pytest.raises(CameraError, match=r"frame 60 is beyond the clip of 48 frames \(frames 0..47\)"):
        parse_camera([{"frame": 0}, {"frame": 60, "pan": 10}]).trajectory(48)


def test_intrinsics_and_plane_homographies_match_projection():
    trajectory = parse_camera("pan_right:1+dolly_in:1+tilt_up:0.5+zoom_in:1").trajectory(6)
    width, height, depth = 40, 30, 5.0
    intrinsics = trajectory.intrinsics(width, height)
    assert intrinsics[0] == pytest.approx(np.array([[40, 0, 19.5], [0, 40, 14.5], [0, 0, 1]]))
    pixels = np.array([[0, 0, 1], [39, 29, 1], [12, 20, 1]], dtype=float)
    points = depth * (np.linalg.inv(intrinsics[0]) @ pixels.T)  # on the plane z = depth in frame 0
    for frame in range(6):
        in_camera = np.linalg.inv(trajectory.c2w[frame]) @ np.vstack([points, np.ones(3)])
        projected = intrinsics[frame] @ in_camera[:3]
        mapped = trajectory.homographies(width, height, depth)[frame] @ pixels.T
        np.testing.assert_allclose(mapped[:2] / mapped[2], projected[:2] / projected[2], atol=1e-9)


def test_flow_follows_depth_for_parallax():
    trajectory = parse_camera("truck_right:1").trajectory(5)
    depth = np.full((8, 10), 8.0)
    depth[:, :5] = 2.0  # a near object on the left
    flow = trajectory.flow(10, 8, depth)
    np.testing.assert_allclose(flow[..., :5, 0], -10 * 0.25 / 2.0)  # fx * step / depth
    np.testing.assert_allclose(flow[..., 5:, 0], -10 * 0.25 / 8.0)
    np.testing.assert_allclose(flow[..., 1], 0, atol=1e-12)
    with pytest.raises(CameraError, match=r"depth of shape \(3, 3\) does not fit"):
        trajectory.flow(10, 8, np.ones((3, 3)))


def test_plucker_rays():
    trajectory = parse_camera("truck_right:1+pan_left:1").trajectory(4)
    rays = trajectory.plucker(12, 9)
    assert rays.shape == (4, 6, 9, 12)
    moments, directions = rays[:, :3], rays[:, 3:]
    np.testing.assert_allclose(np.linalg.norm(directions, axis=1), 1.0)
    np.testing.assert_allclose(moments[0], 0, atol=1e-12)  # the first camera sits at the origin
    np.testing.assert_allclose((moments * directions).sum(1), 0, atol=1e-12)  # Plücker constraint
    centre_ray = rays[-1, :, 4, 6]  # near the image centre the ray is the camera's forward axis
    np.testing.assert_allclose(centre_ray[3:], trajectory.rotations[-1][:, 2], atol=0.06)


def test_compose_and_resample_guard_frame_counts():
    with pytest.raises(CameraError, match="cannot compose trajectories of 4 and 5 frames"):
        Trajectory.static(4).compose(Trajectory.static(5))
    assert Trajectory.static(1).resample(7).num_frames == 7
    with pytest.raises(CameraError, match="num_frames 0"):
        parse_camera("pan_left").trajectory(0)
