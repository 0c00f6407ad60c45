"""VideoPipeline with tiny random components: shapes, determinism, guidance, camera, save/load, the diffusers peer."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch
from diffusers import TextToVideoSDPipeline

from conftest import TINY_SIZE, get_dummy_components
from videogen import CameraUNet3D, UsageError, VideoPipeline, load_pipeline
from videogen.models.denoiser import camera_condition, motion_summary
from videogen.models import text_encoder as text_encoder_module
from videogen.models.text_encoder import EMPTY_CLAUSE, MAX_PROMPT_TOKENS, clause_states, encode_text, prompt_clauses
from videogen.pipeline import SHIFT_FEATHER

import cameras


def run(pipe, **overrides):
    settings = dict(prompt="a lake at sunset", num_frames=4, num_inference_steps=2, seed=1)
    settings.update(overrides)
    return pipe(**settings).frames


def test_frames_have_requested_shape_and_range(tiny_pipeline):
    frames = run(tiny_pipeline)
    assert frames.shape == (1, 4, TINY_SIZE, TINY_SIZE, 3)
    assert frames.dtype == np.float32 and frames.min() >= 0 and frames.max() <= 1


def test_one_frame_is_an_image(tiny_pipeline):
    assert run(tiny_pipeline, num_frames=1).shape == (1, 1, TINY_SIZE, TINY_SIZE, 3)


def test_same_seed_gives_bit_identical_frames_and_other_seeds_differ(tiny_pipeline):
    assert np.array_equal(run(tiny_pipeline), run(tiny_pipeline))
    assert not np.array_equal(run(tiny_pipeline), run(tiny_pipeline, seed=2))


def test_generator_and_seed_are_the_same_noise(tiny_pipeline):
    assert np.array_equal(run(tiny_pipeline, seed=5), run(tiny_pipeline, seed=None, generator=torch.Generator().manual_seed(5)))


def test_batched_prompts_and_output_types(tiny_pipeline):
    assert run(tiny_pipeline, prompt=["a lake", "a desert"]).shape[0] == 2
    assert run(tiny_pipeline, output_type="pt").shape == (1, 4, 3, TINY_SIZE, TINY_SIZE)
    assert run(tiny_pipeline, output_type="latent").shape == (1, 4, 4, TINY_SIZE // 8, TINY_SIZE // 8)
    images = run(tiny_pipeline, output_type="pil")
    assert len(images) == 1 and images[0][0].size == (TINY_SIZE, TINY_SIZE)


def test_guidance_batches_conditional_and_unconditional_in_one_forward(tiny_pipeline):
    batches = []
    hook = tiny_pipeline.denoiser.register_forward_hook(lambda module, args, output: batches.append(args[0].shape[0]))
    try:
        run(tiny_pipeline, guidance_scale=7.5)
        run(tiny_pipeline, guidance_scale=1.0)
    finally:
        hook.remove()
    assert batches == [2, 2, 1, 1]  # two steps each: CFG doubles the batch instead of calling twice


def test_negative_prompt_changes_the_result(tiny_pipeline):
    assert not np.array_equal(run(tiny_pipeline), run(tiny_pipeline, negative_prompt="fog"))


def test_callback_sees_every_step_and_can_replace_latents(tiny_pipeline):
    steps = []

    def zero_latents(pipe, step, timestep, tensors):
        steps.append(step)
        return {"latents": torch.zeros_like(tensors["latents"])}

    frames = run(tiny_pipeline, num_inference_steps=3, callback_on_step_end=zero_latents)
    assert steps == [0, 1, 2]
    decoded_zero = tiny_pipeline.decode_latents(torch.zeros(1, 4, 4, TINY_SIZE // 8, TINY_SIZE // 8))
    np.testing.assert_allclose(frames, decoded_zero.permute(0, 1, 3, 4, 2).numpy(), atol=1e-6)


def test_static_camera_condition_is_zero_and_a_pan_is_not():
    trajectory = cameras.parse_camera(None).trajectory(4)
    assert camera_condition(trajectory, 4, 4).abs().max() == 0
    pan = camera_condition(cameras.parse_camera("pan_right:0.5").trajectory(4), 4, 4)
    assert pan.shape == (4, 4, 4, 4)
    assert pan[0, 1:].mean() > 0  # content moves left on screen, so each pixel's source lies to its right


def test_native_camera_conditioning_reaches_the_denoiser():
    components = get_dummy_components()
    with torch.no_grad():  # the camera weights start at zero (static-camera model); give them a value
        components["denoiser"].conv_in.weight[:, 4:] = 0.5
    pipe = VideoPipeline(**components)
    pipe.set_progress_bar_config(disable=True)
    assert not np.array_equal(run(pipe), run(pipe, camera="pan_right:0.5"))


def test_motion_summary_reads_shift_zoom_and_roll():
    def summary(spec):  # the last frame's motion to frame 0: shift x, shift y, zoom, roll (latent pixels)
        return motion_summary(camera_condition(cameras.parse_camera(spec).trajectory(4), 16, 16)[None])[0, -1, 4:]

    assert motion_summary(camera_condition(cameras.parse_camera(None).trajectory(4), 16, 16)[None]).abs().max() == 0
    for spec, axis in (("pan_right:0.5", 0), ("tilt_down:0.5", 1), ("zoom_in:0.5", 2), ("roll_cw:0.5", 3)):
        values = summary(spec).abs()
        assert values[axis] > 0.5 and values[axis] > 4 * values[[i for i in range(4) if i != axis]].max(), (spec, values)
    assert summary("pan_right:0.5")[0] > 0 and summary("zoom_in:0.5")[2] < 0  # sources lie right of / nearer the centre


def test_camera_embedding_starts_silent_then_reaches_every_block():
    components = get_dummy_components()
    pipe = VideoPipeline(**components)
    pipe.set_progress_bar_config(disable=True)
    assert np.array_equal(run(pipe), run(pipe, camera="pan_right:0.5"))  # camera weights start at zero: static model
    seen = []
    hooks = [block.register_forward_hook(lambda module, args, output: seen.append(1))
             for block in pipe.denoiser.modules() if type(block).__name__ == "ResnetBlock2D"]
    with torch.no_grad():
        pipe.denoiser.camera_embedder[-1].weight.normal_()
    try:
        assert not np.array_equal(run(pipe), run(pipe, camera="pan_right:0.5"))
    finally:
        for hook in hooks:
            hook.remove()
    assert len(seen) >= 2 * len(hooks)


def test_text_embedding_starts_silent_then_steers_every_frame():
    denoiser = get_dummy_components()["denoiser"]
    without = CameraUNet3D.from_config({**denoiser.config, "text_embedding": False})
    without.load_state_dict(denoiser.state_dict(), strict=False)  # all but the text embedder
    sample, prompt_states = torch.randn(2, 4, 3, 4, 4), torch.randn(2, 7, 32)
    with torch.no_grad():
        before = denoiser(sample, 10, prompt_states).sample
        assert torch.equal(before, without(sample, 10, prompt_states).sample)  # its output layer starts at zero
        denoiser.text_embedder[-1].weight.normal_()
        steered = denoiser(sample, 10, prompt_states).sample
        change = (steered - before).abs().amax(dim=(1, 3, 4))  # (B, F)
        # the pooled text defaults to the mean token state; given, it steers on its own
        assert torch.equal(steered, denoiser(sample, 10, prompt_states, pooled_text=prompt_states.mean(dim=1)).sample)
        assert not torch.allclose(steered, denoiser(sample, 10, prompt_states, pooled_text=torch.zeros(2, 32)).sample)
    assert (change > 1e-3).all()


def test_prompt_clauses_split_at_commas_semicolons_and_full_stops_only():
    assert prompt_clauses("Sunset over a lake, golden hour; camera pans right. A 0.5 m boat,, ") == [
        (0, "Sunset over a lake"), (20, "golden hour"), (33, "camera pans right"), (52, "A 0.5 m boat")]
    assert prompt_clauses("") == [] and prompt_clauses(" , ") == []


def test_clause_embeddings_are_each_clause_pooled_alone_after_the_token_states():
    components = get_dummy_components()
    text_encoder, tokenizer = components["text_encoder"], components["tokenizer"]
    texts = ["a lake at dawn, birds, camera pans right", "", "a lake at dawn"]
    context = encode_text(text_encoder, tokenizer, texts, clauses=2)
    assert context.shape == (3, MAX_PROMPT_TOKENS + 2, 32)
    torch.testing.assert_close(context[:, :MAX_PROMPT_TOKENS], encode_text(text_encoder, tokenizer, texts))
    alone = lambda clause: clause_states(text_encoder, tokenizer, [clause], 1)[0, 0]
    tokens = tokenizer(["birds"], return_tensors="pt")
    with torch.no_grad():
        torch.testing.assert_close(alone("birds"), text_encoder(**tokens).last_hidden_state[0].mean(dim=0))  # MiniLM's pooling
    torch.testing.assert_close(context[0, -2:], torch.stack([alone("a lake at dawn"), alone("birds")]))  # the third is dropped
    torch.testing.assert_close(context[1, -2:], alone("").expand(2, -1))  # the empty prompt: empty slots
    torch.testing.assert_close(context[2, -2:], torch.stack([alone("a lake at dawn"), alone("")]))


def test_clause_cache_spares_the_encoder_and_stays_bounded(monkeypatch):
    """Cached clauses are not encoded again and give the same embeddings; past the limit the cache starts afresh."""
    components = get_dummy_components()
    text_encoder, tokenizer = components["text_encoder"], components["tokenizer"]
    texts = ["a lake at dawn, birds, camera pans right", "", "a lake at dawn"]
    context = encode_text(text_encoder, tokenizer, texts, clauses=2)
    encoded = []
    pool = text_encoder_module.mean_states
    monkeypatch.setattr(text_encoder_module, "mean_states", lambda *args: encoded.append(args[2]) or pool(*args))
    cache = {}
    for _ in range(2):  # cached embeddings are the same embeddings
        torch.testing.assert_close(encode_text(text_encoder, tokenizer, texts, clauses=2, cache=cache), context)
    assert len(encoded) == 1 and ("birds", ()) in cache  # the second call encoded nothing
    monkeypatch.setattr(text_encoder_module, "CLAUSE_CACHE_LIMIT", 4)
    encode_text(text_encoder, tokenizer, ["hills, snow"], clauses=2, cache=cache)
    assert set(cache) == {("hills", ()), ("snow", ()), EMPTY_CLAUSE}


def test_weighted_words_weigh_in_their_own_clause_only(tiny_pipeline):
    reading_clauses = CameraUNet3D.from_config(tiny_pipeline.denoiser.config, prompt_clauses=3)
    clauses = VideoPipeline(**{**tiny_pipeline.components, "denoiser": reading_clauses})
    weighted, plain = (clauses.encode_prompt([text], None, False)[0] for text in ("a lake, (misty:1.3) fog", "a lake, misty fog"))
    assert weighted.shape == (MAX_PROMPT_TOKENS + 3, 32)
    torch.testing.assert_close(weighted[[-3, -1]], plain[[-3, -1]])  # "a lake" and the empty slot
    assert not torch.allclose(weighted[-2], plain[-2])
    assert tiny_pipeline.encode_prompt(["a lake"], None, False).shape == (1, MAX_PROMPT_TOKENS, 32)  # no clauses: tokens only
    frames = run(clauses, num_frames=2)  # the denoiser's cross-attention reads the longer context
    assert frames.shape == (1, 2, TINY_SIZE, TINY_SIZE, 3)


def test_foreign_unet_gets_camera_through_warped_noise():
    components = get_dummy_components()
    plain = components["denoiser"]
    from diffusers import UNet3DConditionModel

    stock = inspect.signature(UNet3DConditionModel.__init__).parameters  # the config less CameraUNet3D's own settings
    config = {key: value for key, value in plain.config.items() if key in stock}

    components["denoiser"] = UNet3DConditionModel(**config).eval()
    pipe = VideoPipeline(**components)
    pipe.set_progress_bar_config(disable=True)
    assert not np.array_equal(run(pipe), run(pipe, camera="pan_right:0.5"))
    assert np.array_equal(run(pipe), run(pipe, camera="pan_right:0.5", camera_strength=0.0))


def test_camera_shift_pulls_the_latents_along_the_path_for_any_denoiser(tiny_pipeline):
    trajectory = cameras.parse_camera("pan_right:0.5").trajectory(4)
    shifted = tiny_pipeline("a lake", num_frames=4, num_inference_steps=2, seed=0, camera="pan_right:0.5", camera_shift=1.0,
                            output_type="latent").frames
    # after the last step each frame is frame 0 moved along the path, so shifting again changes nothing
    torch.testing.assert_close(cameras.shift_latents(shifted, trajectory), shifted)
    unshifted = tiny_pipeline("a lake", num_frames=4, num_inference_steps=2, seed=0, camera="pan_right:0.5", output_type="latent").frames
    assert not torch.allclose(cameras.shift_latents(unshifted, trajectory), unshifted)
    # the decoded pictures are moved along the path too, at full resolution: decoded frame 0, warped and feathered
    frames = tiny_pipeline("a lake", num_frames=4, num_inference_steps=2, seed=0, camera="pan_right:0.5", camera_shift=1.0,
                           output_type="pt").frames
    decoded = tiny_pipeline.decode_latents(shifted).transpose(1, 2)  # (B, F, 3, H, W) -> (B, 3, F, H, W)
    feather = SHIFT_FEATHER * tiny_pipeline.vae_scale_factor
    torch.testing.assert_close(frames, cameras.shift_latents(decoded, trajectory, feather=feather).transpose(1, 2))
    assert not torch.allclose(frames, decoded.transpose(1, 2))
    half = tiny_pipeline("a lake", num_frames=4, num_inference_steps=2, seed=0, camera="pan_right:0.5", camera_shift=0.5,
                         output_type="latent").frames
    torch.testing.assert_close(tiny_pipeline("a lake", num_frames=4, num_inference_steps=2, seed=0, camera="pan_right:0.5",
                                             camera_shift=0.5, output_type="pt").frames, tiny_pipeline.decode_latents(half))
    with pytest.raises(UsageError, match="camera_shift: got 1.5; must be between 0 and 1"):
        tiny_pipeline("a lake", num_frames=4, num_inference_steps=2, camera="pan_right:0.5", camera_shift=1.5)


def test_an_explicit_static_camera_is_locked_off_and_no_camera_leaves_the_motion_to_the_prompt(tiny_pipeline):
    run = lambda camera: tiny_pipeline("a lake", num_frames=4, num_inference_steps=2, seed=0, camera=camera, camera_shift=1.0,
                                       output_type="pt").frames[0]  # (F, 3, H, W)
    locked = run("static")
    for frame in locked[1:]:  # frame 0 held in place: every frame is the same picture
        torch.testing.assert_close(frame, locked[0])
    free = run(None)
    assert not torch.allclose(free[1], free[0])
    torch.testing.assert_close(free, tiny_pipeline("a lake", num_frames=4, num_inference_steps=2, seed=0, camera_shift=0.0,
                                                   output_type="pt").frames[0])


def test_camera_shift_left_unset_takes_the_model_default(tiny_pipeline, tmp_path):
    run = lambda pipe, **shift: pipe("a lake", num_frames=4, num_inference_steps=2, seed=0, camera="pan_right:0.5",
                                     output_type="latent", **shift).frames
    assert tiny_pipeline.config.default_camera_shift == 0.0
    torch.testing.assert_close(run(tiny_pipeline), run(tiny_pipeline, camera_shift=0.0))
    shifting = VideoPipeline(**tiny_pipeline.components, default_camera_shift=1.0)
    shifting.set_progress_bar_config(disable=True)
    torch.testing.assert_close(run(shifting), run(tiny_pipeline, camera_shift=1.0))
    assert not torch.allclose(run(shifting), run(shifting, camera_shift=0.0))
    shifting.save_pretrained(tmp_path / "model")  # the default travels with the model folder
    assert VideoPipeline.from_pretrained(tmp_path / "model").config.default_camera_shift == 1.0


def test_save_pretrained_round_trips_offline(tiny_pipeline, tiny_model_dir):
    reloaded = VideoPipeline.from_pretrained(tiny_model_dir)
    reloaded.set_progress_bar_config(disable=True)
    assert isinstance(reloaded.denoiser, CameraUNet3D)
    assert np.array_equal(run(tiny_pipeline), run(reloaded))
    assert np.array_equal(run(tiny_pipeline), run(load_pipeline(str(tiny_model_dir))))


def test_diffusers_text_to_video_pipeline_runs_our_denoiser(tiny_pipeline):
    peer = TextToVideoSDPipeline(
        vae=tiny_pipeline.vae, text_encoder=tiny_pipeline.text_encoder, tokenizer=tiny_pipeline.tokenizer,
        unet=tiny_pipeline.denoiser, scheduler=tiny_pipeline.scheduler,
    )
    peer.set_progress_bar_config(disable=True)
    frames = peer("a lake", num_frames=4, height=TINY_SIZE, width=TINY_SIZE, num_inference_steps=2, output_type="np").frames
    assert np.asarray(frames).shape == (1, 4, TINY_SIZE, TINY_SIZE, 3)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"prompt": "  "}, "prompt: got '  '"),
        ({"num_frames": 0}, "num_frames: got 0; must be an integer >= 1"),
        ({"num_inference_steps": 0}, "num_inference_steps: got 0"),
        ({"guidance_scale": -1.0}, "guidance_scale: got -1.0; must be >= 0"),
        ({"height": 30}, "height: got 30; must be a positive multiple of 8"),
        ({"output_type": "gif"}, "output_type: got 'gif'; allowed: np, pt, pil, latent"),
    ],
)
def test_bad_inputs_name_the_setting(tiny_pipeline, overrides, message):
    with pytest.raises(UsageError, match="^" + __import__("re").escape(message)):
        run(tiny_pipeline, **overrides)
