"""Image and clip modes with tiny random components: what each mode keeps, sizes, frame counts and rates, prompt weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import TINY_SIZE
from diffusers import DPMSolverMultistepScheduler
from PIL import Image

from postprocess.mux import write_video
from postprocess.read import probe
from videogen import Request, UsageError, VideoPipeline
from videogen import conditioning as modes
from videogen.api import generate, render
from videogen.inputs import Padding, load_video
from videogen.prompt_weights import parse_prompt_weights


def builtin_like_scheduler() -> DPMSolverMultistepScheduler:
    """The built-in model's kind of schedule: v-prediction, zero terminal SNR, trailing DPM-Solver++."""
    return DPMSolverMultistepScheduler(
        beta_schedule="squaredcos_cap_v2", prediction_type="v_prediction", rescale_betas_zero_snr=True,
        timestep_spacing="trailing", final_sigmas_type="zero",
    )


@pytest.fixture(scope="module", params=["ddim", "dpm_v_zero_snr"])
def pipe(request, tiny_pipeline):
    if request.param == "ddim":
        return tiny_pipeline
    other = VideoPipeline(**{**tiny_pipeline.components, "scheduler": builtin_like_scheduler()})
    other.set_progress_bar_config(disable=True)
    return other


@pytest.fixture(scope="module")
def image():
    return np.random.default_rng(0).random((TINY_SIZE, TINY_SIZE, 3)).astype(np.float32)


def run(pipe, conditioning, **overrides):
    settings = {"prompt": "a lake at sunset", "num_inference_steps": 3, "seed": 1, "conditioning": conditioning}
    return pipe(**{**settings, **overrides}).frames[0]


def test_inpainting_keeps_unmasked_pixels_identical_and_changes_the_masked_ones(pipe, image):
    mask = np.zeros((TINY_SIZE, TINY_SIZE), bool)
    mask[8:24, 4:20] = True
    frames = run(pipe, modes.inpaint(image, mask))
    assert frames.shape == (1, TINY_SIZE, TINY_SIZE, 3)
    np.testing.assert_array_equal(frames[0][~mask], image[~mask])
    assert np.abs(frames[0][mask] - image[mask]).mean() > 0.05


def test_feathered_seam_rises_from_zero_at_the_kept_edge():
    regenerate = np.zeros((1, 32, 32), bool)
    regenerate[0, :, 16:] = True
    weights = modes.Conditioning(np.zeros((1, 32, 32, 3), np.float32), regenerate, feather=4).blend_weights()[0]
    np.testing.assert_allclose(weights[5, 14:22], [0, 0, 0.25, 0.5, 0.75, 1, 1, 1])


def test_outpainting_keeps_the_original_and_yields_the_requested_size(pipe, image):
    frames = run(pipe, modes.outpaint(image, Padding(top=0, right=16, bottom=8, left=8)))
    assert frames.shape == (1, TINY_SIZE + 8, TINY_SIZE + 24, 3)
    np.testing.assert_array_equal(frames[0, :TINY_SIZE, 8 : 8 + TINY_SIZE], image)


def test_image_to_video_first_frame_is_the_image_within_the_vae_reconstruction_error(pipe, image):
    with torch.no_grad():
        reconstruction = pipe.decode_latents(pipe.encode_frames(image[None]))[0, 0].permute(1, 2, 0).numpy()
    vae_error = np.abs(reconstruction - image).mean()
    latents = run(pipe, modes.image_to_video(image, 4), output_type="latent")
    first = pipe.decode_latents(latents[None, :, :1])[0, 0].permute(1, 2, 0).numpy()
    assert np.abs(first - image).mean() <= vae_error + 1e-6
    frames = run(pipe, modes.image_to_video(image, 4))
    assert frames.shape == (4, TINY_SIZE, TINY_SIZE, 3)
    np.testing.assert_array_equal(frames[0], image)  # and the paste makes it exact
    assert not np.allclose(frames[1], image, atol=0.05)


def test_keyframes_mode_matches_both_ends(pipe, image):
    last = image[::-1, ::-1].copy()
    frames = run(pipe, modes.keyframes(image, last, 5))
    assert frames.shape == (5, TINY_SIZE, TINY_SIZE, 3)
    np.testing.assert_array_equal(frames[0], image)
    np.testing.assert_array_equal(frames[-1], last)


def test_extend_keeps_the_clip_and_adds_frames_window_by_window(pipe, image):
    clip = np.stack([image, image[::-1]])
    extended = pipe.extend("a lake", clip, 5, window=4, context=2, num_inference_steps=2)
    assert extended.shape == (7, TINY_SIZE, TINY_SIZE, 3)
    np.testing.assert_array_equal(extended[:2], clip)
    assert not np.array_equal(extended[2:4], extended[4:6])  # each window draws fresh noise


def test_strength_one_is_text_to_image_and_lower_strength_runs_fewer_steps(tiny_pipeline, image):
    text = tiny_pipeline("a lake", num_frames=1, num_inference_steps=4, seed=3).frames
    np.testing.assert_array_equal(run(tiny_pipeline, modes.sdedit(image, 1.0), prompt="a lake", num_inference_steps=4, seed=3)[None], text)
    run(tiny_pipeline, modes.sdedit(image, 0.5), num_inference_steps=4)
    assert tiny_pipeline.num_timesteps == 2
    with pytest.raises(UsageError, match=r"^strength: 0.2 of 4 steps leaves no step to denoise"):
        run(tiny_pipeline, modes.sdedit(image, 0.2), num_inference_steps=4)
    with pytest.raises(UsageError, match=r"^strength: got 0; must be above 0"):
        run(tiny_pipeline, modes.sdedit(image, 0))


def test_prompt_weights_scale_their_tokens_hidden_states(tiny_pipeline):
    assert parse_prompt_weights("(misty:1.3) lake at (dawn:0.5)") == ("misty lake at dawn", [(0, 5, 1.3), (14, 18, 0.5)])
    weighted, plain = (tiny_pipeline.encode_prompt([text], None, False)[0] for text in ("(misty:1.3) lake", "misty lake"))
    # tokens: [CLS] misty lake [SEP] padding...; only "misty" is scaled
    torch.testing.assert_close(weighted[1], plain[1] * 1.3)
    torch.testing.assert_close(weighted[[0, 2, 3]], plain[[0, 2, 3]])
    with pytest.raises(UsageError, match=r"^negative_prompt: weight 'lots' in '\(fog:lots\)' is not a number from 0 to 4"):
        tiny_pipeline.encode_prompt(["a lake"], "(fog:lots)", True)


def test_prompt_weights_and_negative_prompts_reach_a_conditioned_mode(tiny_pipeline, image):
    mask = np.zeros((TINY_SIZE, TINY_SIZE), bool)
    mask[:, :16] = True
    plain = run(tiny_pipeline, modes.inpaint(image, mask), prompt="a misty lake")
    assert not np.array_equal(plain, run(tiny_pipeline, modes.inpaint(image, mask), prompt="a (misty:2) lake"))
    assert not np.array_equal(plain, run(tiny_pipeline, modes.inpaint(image, mask), prompt="a misty lake", negative_prompt="(fog:1.5)"))
    np.testing.assert_array_equal(plain, run(tiny_pipeline, modes.inpaint(image, mask), prompt="a (misty:1) lake"))


# Through Request and the API, with files


def save_image(path, pixels, mode="RGB"):
    Image.fromarray(np.round(pixels * 255).astype(np.uint8)).convert(mode).save(path)
    return path


@pytest.fixture()
def lake_png(tmp_path, image):
    return save_image(tmp_path / "lake.png", image)


def make(tiny_model_dir, **settings):
    return Request.create(prompt="a lake", model=str(tiny_model_dir), steps=2, **settings)


def test_inpaint_request_with_a_mask_png_keeps_unmasked_pixels(tiny_model_dir, tmp_path, lake_png):
    mask = np.zeros((TINY_SIZE, TINY_SIZE, 3), np.float32)
    mask[4:12, 4:28] = 1
    request = make(tiny_model_dir, init_image=lake_png, mask=save_image(tmp_path / "mask.png", mask))
    assert (request.mode, request.frames) == ("inpaint", 1)
    frames, _ = generate(request)
    source = np.asarray(Image.open(lake_png), np.float32) / 255
    kept = mask[..., 0] == 0
    np.testing.assert_array_equal(frames[0][kept], source[kept])


@pytest.mark.parametrize("spec, size", [("8", (48, 48)), ("left=16,right=8", (32, 56)), ("16:9", (32, 56)), ("1:2", (64, 32))])
def test_outpaint_request_yields_the_requested_size(tiny_model_dir, lake_png, spec, size):
    frames, _ = generate(make(tiny_model_dir, init_image=lake_png, outpaint=spec))
    assert frames.shape == (1, *size, 3)


@pytest.fixture()
def clip_file(tmp_path):
    frames = np.random.default_rng(1).random((5, TINY_SIZE, TINY_SIZE, 3)).astype(np.float32)
    return write_video(frames, tmp_path / "input", fps=12)  # a PNG folder: lossless


def test_video_to_video_keeps_frame_count_and_fps(tiny_model_dir, tmp_path, clip_file):
    request = make(tiny_model_dir, init_video=clip_file)
    assert (request.mode, request.frames, request.fps, request.denoise_strength) == ("video_to_video", 5, "12", 0.6)
    result = render(request, tmp_path / "out.mp4")
    assert result.frames.shape == (5, TINY_SIZE, TINY_SIZE, 3) and result.fps == 12
    info = probe(result.path)
    assert (info.num_frames, info.fps) == (5, 12)


def test_video_inpaint_with_a_per_frame_mask_clip(tiny_model_dir, tmp_path, clip_file):
    masks = np.zeros((5, TINY_SIZE, TINY_SIZE, 3), np.float32)
    for index in range(5):  # a square moving right
        masks[index, 8:24, 2 * index : 2 * index + 12] = 1
    mask_clip = write_video(masks, tmp_path / "masks", fps=12)
    frames, fps = generate(make(tiny_model_dir, init_video=clip_file, mask=mask_clip))
    source, _ = load_video(clip_file)
    kept = masks[..., 0] == 0
    assert frames.shape == source.shape and fps == 12
    np.testing.assert_array_equal(frames[kept], source[kept])


def test_expand_video_outpaints_every_frame(tiny_model_dir, clip_file):
    frames, _ = generate(make(tiny_model_dir, init_video=clip_file, outpaint="top=8,bottom=8"))
    source, _ = load_video(clip_file)
    assert frames.shape == (5, TINY_SIZE + 16, TINY_SIZE, 3)
    np.testing.assert_array_equal(frames[:, 8:-8], source)


def test_extend_request_continues_the_clip_at_its_rate(tiny_model_dir, clip_file):
    request = make(tiny_model_dir, mode="extend", init_video=clip_file, frames=9, keyframes=6)
    frames, fps = generate(request)
    source, _ = load_video(clip_file)
    assert frames.shape == (9, TINY_SIZE, TINY_SIZE, 3) and fps == 12
    np.testing.assert_array_equal(frames[:5], source)


def test_image_to_video_and_keyframes_requests_interpolate_to_the_frame_count(tiny_model_dir, tmp_path, lake_png, image):
    request = make(tiny_model_dir, init_image=lake_png, frames=7, keyframes=4)
    assert request.mode == "image_to_video"
    frames, _ = generate(request)
    source = np.asarray(Image.open(lake_png), np.float32) / 255
    assert frames.shape == (7, TINY_SIZE, TINY_SIZE, 3)
    np.testing.assert_array_equal(frames[0], source)
    end = save_image(tmp_path / "end.png", image[::-1])
    frames, _ = generate(make(tiny_model_dir, init_image=lake_png, end_image=end, frames=7, keyframes=4))
    np.testing.assert_allclose(frames[[0, -1]], [source, np.asarray(Image.open(end), np.float32) / 255], atol=1e-6)


def test_upscale_enlarges_the_input_or_any_output(tiny_model_dir, lake_png):
    frames, _ = generate(make(tiny_model_dir, mode="upscale", init_image=lake_png, upscale=2))
    assert frames.shape == (1, 2 * TINY_SIZE, 2 * TINY_SIZE, 3)
    frames, _ = generate(make(tiny_model_dir, init_image=lake_png, frames=1, strength=0.5, upscale=4))
    assert frames.shape == (1, 4 * TINY_SIZE, 4 * TINY_SIZE, 3)


def test_input_image_modes_are_converted(tmp_path, image):
    from videogen.inputs import load_image

    grey16 = np.round(image[..., 0] * 65535).astype(np.uint16)
    Image.fromarray(grey16).save(tmp_path / "grey16.png")
    np.testing.assert_allclose(load_image(tmp_path / "grey16.png")[..., 1], grey16 / 65535, atol=1e-6)
    cmyk = save_image(tmp_path / "cmyk.jpg", np.zeros_like(image), "CMYK")
    assert load_image(cmyk).shape == (TINY_SIZE, TINY_SIZE, 3)
    opaque = save_image(tmp_path / "opaque.png", image, "RGBA")
    np.testing.assert_allclose(load_image(opaque), np.round(image * 255) / 255, atol=1e-6)


def bad_inputs(tmp_path, image):
    """(settings, start of the one-line error) for every kind of bad input the issue lists, and mode mix-ups."""
    lake = save_image(tmp_path / "lake.png", image)
    small_mask = save_image(tmp_path / "small.png", np.ones((16, 16, 3)))
    black = save_image(tmp_path / "black.png", np.zeros((TINY_SIZE, TINY_SIZE, 3)))
    white = save_image(tmp_path / "white.png", np.ones((TINY_SIZE, TINY_SIZE, 3)))
    rgba = np.concatenate([image, np.full((TINY_SIZE, TINY_SIZE, 1), 0.5, np.float32)], axis=-1)
    Image.fromarray(np.round(rgba * 255).astype(np.uint8), "RGBA").save(tmp_path / "alpha.png")
    (tmp_path / "notes.txt").write_text("not an image")
    Image.fromarray(image[..., 0]).save(tmp_path / "float.tiff")
    return [
        ({"init_image": lake, "mask": small_mask}, "mask: small.png is 16x16 but the input is 32x32; masks are not resized"),
        ({"init_image": lake, "mask": black}, "mask: selects no pixels"),
        ({"init_image": lake, "mask": white}, "mask: covers every pixel"),
        ({"init_image": lake, "mask": "rect:40,40,8,8"}, "mask: selects no pixels"),
        ({"init_image": lake, "mask": "rect:1,2,3"}, "mask: got 'rect:1,2,3'; use rect:X,Y,W,H or ellipse:CX,CY,RX,RY"),
        ({"init_image": tmp_path / "alpha.png"}, "init_image: alpha.png has transparent pixels; flatten it"),
        ({"init_image": tmp_path / "notes.txt"}, "init_image: notes.txt is not an image PIL can read"),
        ({"init_image": tmp_path / "float.tiff"}, "init_image: float.tiff is a floating-point image (mode F)"),
        ({"init_image": tmp_path / "missing.png"}, "init_image: missing.png does not exist"),
        ({"init_video": tmp_path / "notes.txt"}, "init_video: notes.txt is not a readable video"),
        ({"init_video": lake}, "init_video: lake.png is a still image, not a clip; pass it as an image"),
        ({"init_image": lake, "strength": 0}, "strength: got 0; Input should be greater than 0"),
        ({"init_image": lake, "strength": 1.5}, "strength: got 1.5; Input should be less than or equal to 1"),
        ({"strength": 0.5}, "strength: got 0.5, but mode text has no input to depart from"),
        ({"mode": "text", "init_image": lake}, "init_image: not used by mode text"),
        ({"mode": "inpaint", "init_image": lake}, "mask: mode inpaint needs it"),
        ({"mode": "upscale", "init_image": lake}, "upscale: mode upscale needs a factor, 2 or 4"),
        ({"init_image": lake, "upscale": 3}, "upscale: got 3; Input should be 2 or 4"),
        ({"init_image": lake, "mask": "rect:0,0,8,8", "frames": 4}, "frames: mode inpaint makes one image, got 4"),
        ({"init_image": lake, "outpaint": "5"}, "outpaint: '5' makes a 42x42 canvas from 32x32; both sides must be multiples of 8"),
        ({"init_image": lake, "outpaint": "wide"}, "outpaint: got 'wide'; use PIXELS (every side)"),
        ({"init_image": lake, "outpaint": "1:1"}, "outpaint: got '1:1', which adds no pixels to a 32x32 input"),
        ({"init_image": lake, "outpaint": "8", "width": 64}, "width: mode outpaint takes its size from the input"),
        ({"mode": "nonsense"}, "mode: got 'nonsense'; Input should be 'text', 'image_to_image'"),
        ({"negative_prompt": "(fog:9)"}, "negative_prompt: weight '9' in '(fog:9)' is not a number from 0 to 4"),
    ]


def test_bad_inputs_give_one_line_naming_the_setting(tmp_path, image):
    for settings, message in bad_inputs(tmp_path, image):
        with pytest.raises(UsageError) as caught:
            Request.create(prompt="a lake", **settings)
        text = str(caught.value)
        assert "\n" not in text
        assert text.startswith(message.split(" ")[0]) and message.replace(str(tmp_path) + "/", "") in text.replace(str(tmp_path) + "/", ""), (settings, text)


def test_clip_inputs_fix_frames_and_fps(clip_file):
    with pytest.raises(UsageError, match=r"^frames: mode video_to_video keeps the input's 5 frames; got 8"):
        Request.create(prompt="a lake", init_video=clip_file, frames=8)
    with pytest.raises(UsageError, match=r"^fps: mode video_to_video keeps the input's 12 fps; got 24"):
        Request.create(prompt="a lake", init_video=clip_file, fps=24)
    with pytest.raises(UsageError, match=r"^frames: extend makes the clip longer than its 5 frames; got 5"):
        Request.create(prompt="a lake", mode="extend", init_video=clip_file, frames=5)
    assert Request.create(prompt="a lake", mode="extend", init_video=clip_file).frames == 5 + 16 - 4
