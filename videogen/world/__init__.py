"""The procedural landscape world: training data for the built-in model and ground truth for evaluation.

    rng = np.random.default_rng(0)
    scene = sample_scene(rng, split="train")          # attributes + camera spec + seed + caption
    clip = render_clip(scene, num_frames=16, width=128, height=128)   # (F, H, W, 3) float32 in [0, 1]
    scene.caption                                     # "A watercolor of rolling hills above a lake, at dusk, ..."
    truth = scene_truth(scene, 16, 128, 128)          # attributes, camera spec, per-frame c2w/focal, subject track
    depth = scene_depth(scene, 16, 128, 128)          # (F, H, W) z-depth: with the Trajectory, the true flow

Scenes are deterministic: the same Scene (same seed) renders the same frames. Attributes (ATTRIBUTES) are
independent except for IMPOSSIBLE pairs; HELD_OUT pairs never appear in split "train" and make up split
"heldout". Captions draw from training synonyms or, with vocabulary="heldout", from synonyms kept for
evaluation (see captions.PHRASES). The camera is a cameras/ spec string ("pan_right:0.6@ease_in_out"); its
Trajectory drives a 2.5D ray caster, so layers at different depths move with true parallax.
"""

from videogen.world.captions import camera_phrase, caption, phrase, training_vocabulary
from videogen.world.render import (
    render_clip,
    render_frames,
    scene_depth,
    scene_trajectory,
    scene_truth,
)
from videogen.world.scene import (
    ATTRIBUTES,
    CAMERA_PRESETS,
    HELD_OUT,
    IMPOSSIBLE,
    SPLITS,
    Scene,
    changed_attributes,
    check_attributes,
    heldout_pairs,
    is_possible,
    sample_attributes,
    sample_camera,
    sample_counterfactual,
    sample_scene,
)

__all__ = [
    "ATTRIBUTES", "CAMERA_PRESETS", "HELD_OUT", "IMPOSSIBLE", "SPLITS", "Scene", "camera_phrase", "caption",
    "changed_attributes", "check_attributes", "heldout_pairs", "is_possible", "phrase", "render_clip", "render_frames", "sample_attributes",
    "sample_camera", "sample_counterfactual", "sample_scene", "scene_depth", "scene_trajectory", "scene_truth",
    "training_vocabulary",
]
