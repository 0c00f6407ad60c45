"""Upscaling and enhancement: sizes, quality against Lanczos, shift-stability, bounded sharpening, deblocking."""

import cv2
import numpy as np
import pytest
from skimage import data
from skimage.metrics import peak_signal_noise_ratio

from postprocess import FrameError
from postprocess.upscale import deblock, denoise, enhance, sharpen, upscale


def _photo(width=128, height=96):
    return cv2.resize(data.astronaut()[60:360, 80:480], (width, height), interpolation=cv2.INTER_AREA)


@pytest.mark.parametrize("method", ["lanczos", "bicubic", "learned"])
@pytest.mark.parametrize("scale", [2, 4])
def test_upscale_sizes_and_dtypes(method, scale):
    frames = np.stack([_photo(40, 24)] * 2)
    result = upscale(frames, scale, method)
    assert result.shape == (2, 24 * scale, 40 * scale, 3) and result.dtype == np.uint8
    floats = upscale(frames.astype(np.float32) / 255, scale, method)
    assert floats.dtype == np.float32 and 0 <= floats.min() and floats.max() <= 1


def test_lanczos_is_opencv_lanczos():
    image = _photo()
    expected = cv2.resize(image.astype(np.float32) / 255, (256, 192), interpolation=cv2.INTER_LANCZOS4)
    assert np.array_equal(upscale(image[None], 2, "lanczos")[0], (np.clip(expected, 0, 1) * 255 + 0.5).astype(np.uint8))


def test_learned_x2_beats_lanczos_on_a_held_out_photo():
    truth = cv2.resize(data.coffee(), (300, 200), interpolation=cv2.INTER_AREA)
    low = cv2.resize(truth, (150, 100), interpolation=cv2.INTER_AREA)
    psnr = {method: peak_signal_noise_ratio(truth[4:-4, 4:-4], upscale(low[None], 2, method)[0][4:-4, 4:-4])
            for method in ("lanczos", "learned")}
    assert psnr["learned"] > psnr["lanczos"] + 0.3


def test_learned_upscale_is_shift_stable():
    # Content moved by one input pixel comes out moved by two output pixels, identically: no flicker is added.
    image = _photo()
    shifted = np.roll(image, 1, axis=1)
    out, out_shifted = upscale(np.stack([image, shifted]), 2, "learned", stabilise=0)
    assert np.abs(out_shifted[:, 20:-20].astype(int) - np.roll(out, 2, axis=1)[:, 20:-20]).max() <= 1


def _warping_error(clip: np.ndarray, step: float) -> float:
    """Mean |O[t+1] - O[t] moved by the true motion|: what changes beyond the motion, i.e. flicker."""
    clip = clip.astype(np.float32)
    width, height = clip.shape[2], clip.shape[1]
    moved = [cv2.warpAffine(frame, np.float32([[1, 0, -step], [0, 1, 0]]), (width, height), flags=cv2.INTER_CUBIC) for frame in clip[:-1]]
    return float(np.abs(clip[1:] - np.stack(moved))[:, 8:-8, 8:-24].mean())


def test_stabilised_video_flickers_less_than_frame_by_frame():
    photo = cv2.resize(data.astronaut(), (256, 256), interpolation=cv2.INTER_AREA)
    truth = np.stack([cv2.warpAffine(photo, np.float32([[1, 0, -0.7 * i], [0, 1, 0]]), (160, 96), flags=cv2.INTER_CUBIC) for i in range(6)])
    low = np.stack([cv2.resize(frame, (80, 48), interpolation=cv2.INTER_AREA) for frame in truth])
    alone, stabilised = upscale(low, 2, "learned", stabilise=0), upscale(low, 2, "learned")
    assert _warping_error(stabilised, 0.7) < 0.9 * _warping_error(alone, 0.7)
    assert np.array_equal(upscale(low[:1], 2)[0], alone[0])  # a single image is the network alone


def test_sharpen_adds_detail_without_halos():
    image = cv2.GaussianBlur(_photo(), (0, 0), 1.5)[None]
    assert np.array_equal(sharpen(image, 0), image)
    sharp = sharpen(image, 1.0).astype(int)
    detail = [np.abs(cv2.Laplacian(frame.astype(np.float32), cv2.CV_32F)).mean() for frame in (sharp[0], image[0])]
    assert detail[0] > 1.2 * detail[1]
    kernel = np.ones((3, 3), np.uint8)
    assert (sharp[0] <= cv2.dilate(image[0], kernel)).all() and (sharp[0] >= cv2.erode(image[0], kernel)).all()


def test_deblock_smooths_block_steps_but_keeps_edges():
    ramp = np.tile(np.linspace(0.3, 0.6, 32, dtype=np.float32), (16, 1))
    blocky = np.repeat(ramp.reshape(16, 4, 8).mean(axis=2, keepdims=True), 8, axis=2).reshape(16, 32)  # 8-px flat blocks
    blocky[:, 24:] = 1.0  # a real edge at x = 24
    frames = np.repeat(blocky[None, :, :, None], 3, axis=-1)
    result = deblock(frames, 1.0)[0, :, :, 0]
    assert abs(result[0, 8] - result[0, 7]) < 0.5 * abs(blocky[0, 8] - blocky[0, 7])
    assert result[0, 24] == 1.0 and abs(result[0, 23] - blocky[0, 23]) < 1e-6


def test_denoise_reduces_noise_and_enhance_chains():
    rng = np.random.default_rng(0)
    clean = np.full((1, 48, 48, 3), 128, np.uint8)
    noisy = np.clip(clean + rng.normal(0, 12, clean.shape), 0, 255).astype(np.uint8)
    assert denoise(noisy, 0.8).std() < 0.5 * noisy.std()
    assert np.array_equal(enhance(noisy), noisy)
    assert enhance(noisy, denoise_strength=0.8, sharpen_amount=0.5).std() < noisy.std()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda f: upscale(f, 3), "scale: 3 is not allowed; use one of 2, 4"),
        (lambda f: upscale(f, 2, "magic"), "method: 'magic' is not an upscaling method"),
        (lambda f: sharpen(f, 3), "sharpen: 3 is not allowed; use a number from 0 to 2"),
        (lambda f: denoise(f, -1), "denoise: -1 is not allowed"),
        (lambda f: upscale(f, 2, stabilise=2), "stabilise: 2 is not allowed"),
        (lambda f: upscale(f[:0]), "frames: zero-length clip"),
    ],
)
def test_bad_settings_are_one_line(call, message):
    with pytest.raises(FrameError, match=message):
        call(np.zeros((1, 8, 8, 3), np.uint8))
