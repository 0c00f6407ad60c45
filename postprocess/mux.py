"""The muxer: frames -> MP4 (H.264/H.265), WebM (VP9), MOV (ProRes), GIF or a PNG sequence, in process with PyAV.

Every output is written to a temporary path and renamed, carries its metadata in the container tags
and in a JSON sidecar (`<output>.json`), and is tagged BT.709 with an exact rational frame rate.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from fractions import Fraction
from functools import lru_cache
from importlib import resources
from pathlib import Path

import av
import numpy as np
import yaml
from PIL import Image

from postprocess.files import atomic_path
from postprocess.frames import FrameError, check_frames, to_uint8
from postprocess.preview import png_metadata, save_gif

BT709 = 1  # AVCOL_PRI_BT709 == AVCOL_TRC_BT709 == AVCOL_SPC_BT709
LIMITED_RANGE = 1  # AVCOL_RANGE_MPEG: what players assume for yuv420p
PNG_FRAME_NAME = "frame_{:06d}.png"


@lru_cache(maxsize=1)
def encoder_presets() -> dict:
    """The encoder presets of configs/encoders.yaml, by format name."""
    return yaml.safe_load(resources.files("videogen.configs").joinpath("encoders.yaml").read_text())


def parse_fps(fps) -> Fraction:
    """An exact frame rate from 24, 23.976, "24000/1001" or a Fraction; NTSC rates snap to n*1000/1001."""
    try:
        rate = Fraction(str(fps)) if not isinstance(fps, Fraction) else fps
    except (ValueError, ZeroDivisionError):
        raise FrameError(f"fps: got {fps!r}; use a number or a ratio such as 24000/1001") from None
    if rate <= 0 or rate > 1000:
        raise FrameError(f"fps: got {fps}; must be above 0 and at most 1000")
    if rate.denominator not in (1, 1001):
        ntsc = Fraction(round(rate * 1001 / 1000) * 1000, 1001)
        rate = ntsc if abs(float(ntsc - rate)) < 0.005 else rate.limit_denominator(1001)
    return rate


def format_for(path: str | os.PathLike, format: str | None = None) -> str:
    """The output format: `format` if given (checked against the suffix), else the one the suffix implies."""
    presets = encoder_presets()
    suffix = Path(path).suffix.lower()
    if format is not None:
        if format not in presets:
            raise FrameError(f"format: got {format!r}; allowed: {', '.join(presets)}")
        if suffix not in presets[format]["suffixes"]:
            allowed = ", ".join(s or "a folder" for s in presets[format]["suffixes"])
            raise FrameError(f"format: {format} cannot be written to {Path(path).name!r}; use {allowed}")
        return format
    for name, preset in presets.items():
        if suffix in preset["suffixes"]:
            return name
    raise FrameError(f"output: suffix {suffix!r} of {Path(path).name!r} is not a known format; use .mp4, .webm, .mov, .gif, .png or a folder")


def _pad_to_even(frames: np.ndarray) -> np.ndarray:
    """Replicate the last row/column so chroma-subsampled formats get even sizes."""
    _, height, width, _ = frames.shape
    return np.pad(frames, ((0, 0), (0, height % 2), (0, width % 2), (0, 0)), mode="edge")


def _tag_value(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _encode_video(frames: np.ndarray, path: Path, fps: Fraction, preset: dict, metadata: dict, audio: str | None) -> None:
    """Encode with PyAV: BT.709 tags, +faststart for MP4/MOV, optional audio track trimmed to the video."""
    container_options = {"movflags": "+faststart+use_metadata_tags"} if preset["container"] in ("mp4", "mov") else {}
    frames = _pad_to_even(frames) if preset["pix_fmt"].startswith("yuv420") else frames
    with av.open(str(path), "w", format=preset["container"], options=container_options) as container:
        container.metadata.update({key: _tag_value(value) for key, value in metadata.items()})
        container.metadata["comment"] = json.dumps(metadata, sort_keys=True)
        stream = container.add_stream(preset["codec"], rate=fps)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = preset["pix_fmt"]
        stream.options = dict(preset.get("options", {}))
        context = stream.codec_context
        context.color_primaries = context.color_trc = context.colorspace = BT709
        context.color_range = LIMITED_RANGE
        if "codec_tag" in preset:
            context.codec_tag = preset["codec_tag"]
        audio_input, audio_stream = _open_audio(container, audio, preset["container"]) if audio else (None, None)
        for frame in frames:
            video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
            video_frame = video_frame.reformat(format=preset["pix_fmt"], src_colorspace="itu709", dst_colorspace="itu709")
            video_frame.color_range = LIMITED_RANGE
            container.mux(stream.encode(video_frame))
        container.mux(stream.encode())
        if audio_input is not None:
            with audio_input:
                _mux_audio(container, audio_input, audio_stream, duration=len(frames) / fps)


def _open_audio(container, audio: str, container_format: str):
    """Open the audio file and add the output audio stream (AAC, Opus for WebM)."""
    try:
        audio_input = av.open(str(audio))
    except (av.FFmpegError, OSError):
        raise FrameError(f"audio: {audio} is not a readable audio file") from None
    if not audio_input.streams.audio:
        audio_input.close()
        raise FrameError(f"audio: {audio} has no audio stream")
    codec = "libopus" if container_format == "webm" else "aac"
    stream = container.add_stream(codec, rate=48000)
    stream.layout = "stereo"
    return audio_input, stream


def _mux_audio(container, audio_input, stream, duration: Fraction) -> None:
    """Resample the first audio stream to the encoder's format and mux it, stopping at the video's end."""
    resampler = av.AudioResampler(format=stream.format.name, layout="stereo", rate=stream.rate, frame_size=stream.frame_size or None)
    samples_left = int(duration * stream.rate)
    for frame in audio_input.decode(audio=0):
        for resampled in resampler.resample(frame):
            if samples_left <= 0:
                break
            samples_left -= resampled.samples
            resampled.pts = None
            container.mux(stream.encode(resampled))
    container.mux(stream.encode())


def _gif_centiseconds(count: int, fps: Fraction) -> list[int]:
    """Per-frame GIF delays (whole centiseconds) whose running sum tracks the exact frame times."""
    ends = [round((index + 1) * 100 / fps) for index in range(count)]
    return [max(1, end - start) for start, end in zip([0] + ends[:-1], ends)]


def _encode_gif(frames: np.ndarray, path: Path, fps: Fraction, metadata: dict) -> None:
    """Animated GIF with one generated palette, dithered, its delays tracking the exact frame times."""
    durations = [10 * centiseconds for centiseconds in _gif_centiseconds(len(frames), fps)]
    save_gif(frames, path, durations, comment=json.dumps(metadata, sort_keys=True), dither=Image.Dither.FLOYDSTEINBERG)


def _encode_png_sequence(frames: np.ndarray, folder: Path, fps: Fraction, metadata: dict) -> None:
    """Numbered lossless PNG frames; each carries the metadata as a text chunk."""
    info = png_metadata({**metadata, "fps": str(fps)})
    for index, frame in enumerate(frames):
        Image.fromarray(frame).save(folder / PNG_FRAME_NAME.format(index), pnginfo=info)


def sidecar_path(path: str | os.PathLike) -> Path:
    """Where an output's JSON metadata sidecar goes: `clip.mp4` -> `clip.mp4.json`; a PNG folder keeps it inside."""
    path = Path(path)
    return path / "metadata.json" if format_for(path) == "png" else path.with_name(path.name + ".json")


def write_video(
    frames,
    path: str | os.PathLike,
    fps=24,
    format: str | None = None,
    metadata: dict | None = None,
    audio: str | os.PathLike | None = None,
    overwrite: bool = False,
) -> Path:
    """Write frames (F, H, W, 3) to `path` atomically, with metadata tags and a JSON sidecar; return the path."""
    frames = to_uint8(check_frames(frames))
    path = Path(path)
    format = format_for(path, format)
    fps = parse_fps(fps)
    if path.exists() and not overwrite:
        raise FrameError(f"output: {path} exists; pass overwrite (--overwrite) to replace it")
    if audio is not None and format in ("gif", "png"):
        raise FrameError(f"audio: format {format} cannot carry an audio track; use mp4, h265, webm or prores")
    metadata = {**(metadata or {}), "fps": str(fps), "frames": len(frames)}
    if format == "png":
        _write_png_folder(frames, path, fps, metadata)
        return path
    try:
        with atomic_path(path) as temporary, atomic_path(sidecar_path(path)) as temporary_sidecar:
            if format == "gif":
                _encode_gif(frames, temporary, fps, metadata)
            else:
                _encode_video(frames, temporary, fps, encoder_presets()[format], metadata, audio)
            temporary_sidecar.write_text(json.dumps(metadata, indent=2, sort_keys=True))
    except av.FFmpegError as error:
        raise FrameError(f"output: FFmpeg could not write {path.name} as {format}: {error}") from None
    return path


def _write_png_folder(frames: np.ndarray, folder: Path, fps: Fraction, metadata: dict) -> None:
    """Fill a temporary sibling folder, then swap it in, so a failure leaves no partial sequence."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        _encode_png_sequence(frames, temporary, fps, metadata)
        (temporary / "metadata.json").write_text(json.dumps(metadata, indent=2, sort_keys=True))
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(temporary, folder)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
