"""The muxer and reader: every format round-trips with its frame count, size, exact rate, tags and metadata."""

from __future__ import annotations

import json
import re
import struct
import subprocess
from fractions import Fraction

import av
import imageio_ffmpeg
import numpy as np
import pytest

import postprocess.read
from postprocess import FrameError
from postprocess.mux import parse_fps, sidecar_path, write_video
from postprocess.read import probe, read_video

METADATA = {"prompt": "a lake at dusk", "seed": 7, "model": "builtin:landscapes"}


def moving_square(num_frames=10, height=48, width=64) -> np.ndarray:
    """A smooth gradient with a square moving right: codecs keep it, so read-back can be compared."""
    ys, xs = np.mgrid[0:height, 0:width]
    frames = np.empty((num_frames, height, width, 3), np.uint8)
    frames[..., 0] = xs * 255 // width
    frames[..., 1] = ys * 255 // height
    frames[..., 2] = 120
    for index in range(num_frames):
        frames[index, 8:24, 4 + 3 * index : 20 + 3 * index] = (240, 230, 40)
    return frames


def top_level_atoms(path) -> list[str]:
    """The MP4 box types at the top level of the file, in order."""
    data, atoms, offset = path.read_bytes(), [], 0
    while offset < len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        atoms.append(kind.decode())
        offset += size if size > 1 else len(data)
    return atoms


def ffmpeg_report(path) -> str:
    """What imageio-ffmpeg's ffmpeg binary says about a file (it ships no ffprobe)."""
    return subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr


def test_mp4_is_h264_yuv420p_bt709_faststart_with_exact_rate_and_tags(tmp_path):
    path = write_video(moving_square(), tmp_path / "clip.mp4", fps="24000/1001", metadata=METADATA)
    report = ffmpeg_report(path)
    assert re.search(r"Video: h264 .*yuv420p\(tv, bt709", report)
    assert "prompt          : a lake at dusk" in report and "seed            : 7" in report
    atoms = top_level_atoms(path)
    assert atoms.index("moov") < atoms.index("mdat")
    info = probe(path)
    assert (info.num_frames, info.width, info.height, info.fps) == (10, 64, 48, Fraction(24000, 1001))
    assert json.loads(info.metadata["comment"])["prompt"] == "a lake at dusk"
    assert json.loads(sidecar_path(path).read_text())["seed"] == 7


@pytest.mark.parametrize("use_decord", [True, False])
def test_mp4_reads_back_with_decord_and_pyav(tmp_path, monkeypatch, use_decord):
    frames = moving_square()
    path = write_video(frames, tmp_path / "clip.mp4", fps=30)
    if not use_decord:
        monkeypatch.setattr(postprocess.read, "decord", None)
    else:
        assert postprocess.read.decord is not None
    back, fps = read_video(path)
    assert back.shape == frames.shape and fps == 30
    assert np.abs(back.astype(int) - frames).mean() < 4  # lossy, but the picture and colours survive
    picked, _ = read_video(path, indices=[7, 2])
    np.testing.assert_array_equal(picked, back[[7, 2]])


def test_odd_sizes_are_padded_to_even_for_yuv420p(tmp_path):
    frames = moving_square(height=47, width=63)
    back, _ = read_video(write_video(frames, tmp_path / "odd.mp4", fps=24))
    assert back.shape == (10, 48, 64, 3)
    assert np.abs(back[:, :47, :63].astype(int) - frames).mean() < 4


@pytest.mark.parametrize(
    "name, format, codec, pix_fmt",
    [("clip.mp4", "h265", "hevc", "yuv420p"), ("clip.webm", None, "vp9", "yuv420p"), ("clip.mov", None, "prores", "yuv422p10le")],
)
def test_other_codecs_round_trip(tmp_path, name, format, codec, pix_fmt):
    frames = moving_square()
    path = write_video(frames, tmp_path / name, fps=25, format=format, metadata=METADATA)
    info = probe(path)
    assert (info.codec, info.pix_fmt, info.num_frames, info.fps) == (codec, pix_fmt, 10, 25)
    assert info.metadata["prompt"] == "a lake at dusk"
    back, _ = read_video(path)
    assert back.shape == frames.shape and np.abs(back.astype(int) - frames).mean() < 4
    if format == "h265":
        with av.open(str(path)) as container:
            assert container.streams.video[0].codec_context.codec_tag == "hvc1"


def test_gif_round_trips_with_palette_and_comment(tmp_path):
    frames = moving_square()
    path = write_video(frames, tmp_path / "clip.gif", fps=10, metadata=METADATA)
    back, fps = read_video(path)
    assert back.shape == frames.shape and fps == 10
    assert np.abs(back.astype(int) - frames).mean() < 6
    assert json.loads(probe(path).metadata["comment"])["seed"] == 7


def test_png_sequence_is_lossless(tmp_path):
    frames = moving_square()
    folder = write_video(frames, tmp_path / "frames", fps="30000/1001", metadata=METADATA)
    back, fps = read_video(folder)
    np.testing.assert_array_equal(back, frames)
    assert fps == Fraction(30000, 1001) and json.loads((folder / "metadata.json").read_text())["prompt"] == "a lake at dusk"


def test_audio_track_is_trimmed_to_the_video(tmp_path):
    tone = tmp_path / "tone.wav"
    with av.open(str(tone), "w") as container:  # 3 s of 440 Hz
        stream = container.add_stream("pcm_s16le", rate=44100, layout="mono")
        samples = (np.sin(np.arange(3 * 44100) * 2 * np.pi * 440 / 44100) * 8000).astype(np.int16)[None]
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = 44100
        container.mux(stream.encode(frame))
        container.mux(stream.encode())
    path = write_video(moving_square(24), tmp_path / "with_audio.mp4", fps=24, audio=tone)
    with av.open(str(path)) as container:
        audio = container.streams.audio[0]
        assert audio.codec_context.name == "aac"
        assert float(audio.duration * audio.time_base) == pytest.approx(1.0, abs=0.1)


def test_ntsc_rates_are_exact():
    assert parse_fps(23.976) == Fraction(24000, 1001)
    assert parse_fps("29.97") == Fraction(30000, 1001)
    assert parse_fps(12.5) == Fraction(25, 2)


@pytest.mark.parametrize(
    "name, kwargs, message",
    [
        ("clip.avi", {}, "output: suffix '.avi'"),
        ("clip.mp4", {"format": "flv"}, "format: got 'flv'; allowed: mp4, h265, webm, prores, gif, png"),
        ("clip.gif", {"format": "webm"}, "format: webm cannot be written to 'clip.gif'"),
        ("clip.mp4", {"fps": 0}, "fps: got 0; must be above 0"),
        ("clip.gif", {"audio": "x.wav"}, "audio: format gif cannot carry an audio track"),
    ],
)
def test_bad_settings_raise_one_line_and_write_nothing(tmp_path, name, kwargs, message):
    with pytest.raises(FrameError, match="^" + re.escape(message)):
        write_video(moving_square(), tmp_path / name, **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_existing_output_is_kept_without_overwrite(tmp_path):
    path = write_video(moving_square(), tmp_path / "clip.mp4", fps=24)
    before = path.read_bytes()
    with pytest.raises(FrameError, match="exists; pass overwrite"):
        write_video(moving_square(4), path, fps=24)
    assert path.read_bytes() == before
    write_video(moving_square(4), path, fps=24, overwrite=True)
    assert probe(path).num_frames == 4


def test_failed_encode_leaves_no_partial_file(tmp_path, monkeypatch):
    def broken_encode(*args, **kwargs):
        args[1].write_bytes(b"half a file")
        raise av.FFmpegError(1, "encoder exploded")

    monkeypatch.setattr("postprocess.mux._encode_video", broken_encode)
    with pytest.raises(FrameError, match="FFmpeg could not write clip.mp4"):
        write_video(moving_square(), tmp_path / "clip.mp4", fps=24)
    assert list(tmp_path.iterdir()) == []


def test_unreadable_input_is_one_line(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all")
    with pytest.raises(FrameError, match="is not a readable video"):
        read_video(bad)


def test_audio_file_without_an_audio_stream_is_one_line(tmp_path):
    silent = write_video(moving_square(4), tmp_path / "silent.mp4", fps=24)
    with pytest.raises(FrameError, match="has no audio stream"):
        write_video(moving_square(4), tmp_path / "clip.mp4", fps=24, audio=silent)
    assert not (tmp_path / "clip.mp4").exists()
