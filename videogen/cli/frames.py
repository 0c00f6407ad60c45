"""`videogen interpolate`, `upscale` and `edit ...`: tools for existing clips and images."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from videogen.cli import app
from videogen.cli.common import refuse_existing, usage_errors


def rewrite_clip(source: Path, output: Path, overwrite: bool, transform) -> tuple[int, int, object]:
    """Read a clip, apply transform(frames, fps) -> (frames, fps), write the result; (frames in, frames out, fps)."""
    from postprocess.mux import write_video
    from postprocess.read import read_video

    frames, fps = read_video(source)
    result, result_fps = transform(frames, fps)
    write_video(result, output, fps=result_fps, overwrite=overwrite)
    return len(frames), len(result), result_fps


OVERWRITE_OPTION = typer.Option(False, help="Replace an existing output.")
CLIP_OUTPUT_OPTION = typer.Option(..., "-o", "--output", help="File to write: .mp4, .webm, .mov, .gif, or a folder for PNG frames.")


@app.command()
def interpolate(
    source: Path = typer.Argument(..., help="Clip to interpolate: a video file, GIF or PNG-sequence folder."),
    output: Path = CLIP_OUTPUT_OPTION,
    fps: Optional[str] = typer.Option(None, help="Target frame rate (keeps the duration), e.g. 60 or 60000/1001."),
    factor: Optional[int] = typer.Option(None, help="Or: put factor-1 new frames between each pair (rate times factor)."),
    overwrite: bool = OVERWRITE_OPTION,
):
    """Raise (or lower) a clip's frame rate with optical-flow interpolation; nothing is blended across scene cuts.

    Example: videogen interpolate clip.mp4 --fps 60 -o clip60.mp4
    """
    with usage_errors():
        from postprocess import FrameError
        from postprocess.interpolate import interpolate_factor, retime
        from postprocess.mux import parse_fps

        if (fps is None) == (factor is None):
            raise FrameError("--fps / --factor: give exactly one of them")

        def transform(frames, source_fps):
            if fps is not None:
                return retime(frames, source_fps, parse_fps(fps)), parse_fps(fps)
            return interpolate_factor(frames, factor), source_fps * factor

        count, result_count, result_fps = rewrite_clip(source, output, overwrite, transform)
    typer.echo(f"{output}: {count} frames -> {result_count} frames at {result_fps} fps")


@app.command("upscale")
def upscale_command(
    source: Path = typer.Argument(..., help="Image (.png, .jpg, .webp) or clip to upscale."),
    output: Path = typer.Option(..., "-o", "--output", help="Image or clip to write (same kind as the input)."),
    scale: int = typer.Option(2, help="2 or 4."),
    method: str = typer.Option("learned", help="learned (the shipped network), lanczos or bicubic."),
    denoise: float = typer.Option(0.0, help="Non-local-means denoising before upscaling, 0..1."),
    deblock: float = typer.Option(0.0, help="Soften 8x8 coding blocks before upscaling, 0..1."),
    sharpen: float = typer.Option(0.0, help="Halo-free unsharp mask after upscaling, 0..2."),
    overwrite: bool = OVERWRITE_OPTION,
):
    """Upscale an image or a clip x2 or x4, optionally cleaning it first and sharpening after.

    Example: videogen upscale clip.mp4 --scale 2 --deblock 0.5 --sharpen 0.3 -o clip_2x.mp4
    """
    with usage_errors():
        from postprocess.images import is_image_path, read_image, write_image
        from postprocess.upscale import enhance, upscale

        def transform(frames, fps):
            cleaned = enhance(frames, denoise_strength=denoise, deblock_strength=deblock)
            return enhance(upscale(cleaned, scale, method), sharpen_amount=sharpen), fps

        if is_image_path(source):
            refuse_existing(output, overwrite)
            image = transform(read_image(source)[None], None)[0][0]
            write_image(image, output)
            summary = f"{image.shape[1]}x{image.shape[0]}"
        else:
            count, _, _ = rewrite_clip(source, output, overwrite, transform)
            summary = f"{count} frames, x{scale}"
    typer.echo(f"{output}: {summary} ({method})")


edit_app = typer.Typer(help="Frame tools: trim, join with transitions, speed, loops, colour, framing, previews.", no_args_is_help=True)
app.add_typer(edit_app, name="edit")
SOURCE_ARGUMENT = typer.Argument(..., help="Clip: a video file, GIF or PNG-sequence folder.")


def edit_clip(source: Path, output: Path, overwrite: bool, transform) -> None:
    """Run one frame tool on a clip and print the one-line summary."""
    with usage_errors():
        count, result_count, fps = rewrite_clip(source, output, overwrite, transform)
    typer.echo(f"{output}: {count} frames -> {result_count} frames at {fps} fps")


@edit_app.command("trim")
def edit_trim(source: Path = SOURCE_ARGUMENT, output: Path = CLIP_OUTPUT_OPTION,
              start: float = typer.Option(0.0, help="Start, in seconds."),
              end: Optional[float] = typer.Option(None, help="End, in seconds (default: the clip's end)."),
              overwrite: bool = OVERWRITE_OPTION):
    """Keep the part from --start to --end. Example: videogen edit trim clip.mp4 --start 1 --end 3.5 -o part.mp4"""
    from postprocess.tools import trim

    edit_clip(source, output, overwrite, lambda frames, fps: (
        trim(frames, round(start * fps), None if end is None else round(end * fps)), fps))


@edit_app.command("concat")
def edit_concat(sources: list[Path] = typer.Argument(..., help="Clips to join, in order (frame sizes must match)."),
                output: Path = CLIP_OUTPUT_OPTION,
                transition: str = typer.Option("cut", help="cut, crossfade, dip_to_black or wipe."),
                duration: float = typer.Option(0.5, help="Transition length in seconds."),
                overwrite: bool = OVERWRITE_OPTION):
    """Join clips, each retimed to the first one's frame rate. Example: videogen edit concat a.mp4 b.mp4 --transition crossfade -o ab.mp4"""
    with usage_errors():
        from postprocess.interpolate import retime
        from postprocess.mux import write_video
        from postprocess.read import read_video
        from postprocess.tools import concat, transition as join

        clips = [read_video(path) for path in sources]
        fps = clips[0][1]
        result = clips[0][0]
        for frames, clip_fps in clips[1:]:
            frames = frames if clip_fps == fps else retime(frames, clip_fps, fps)
            result = concat([result, frames]) if transition == "cut" else join(result, frames, transition, max(1, round(duration * fps)))
        write_video(result, output, fps=fps, overwrite=overwrite)
    typer.echo(f"{output}: {len(sources)} clips -> {len(result)} frames at {fps} fps")


@edit_app.command("speed")
def edit_speed(source: Path = SOURCE_ARGUMENT, output: Path = CLIP_OUTPUT_OPTION,
               speed: float = typer.Option(..., help="2 plays twice as fast; 0.25 is 4x slow motion (interpolated)."),
               overwrite: bool = OVERWRITE_OPTION):
    """Speed up or slow down. Example: videogen edit speed clip.mp4 --speed 0.5 -o slow.mp4"""
    from postprocess.tools import change_speed

    edit_clip(source, output, overwrite, lambda frames, fps: (change_speed(frames, speed), fps))


@edit_app.command("reverse")
def edit_reverse(source: Path = SOURCE_ARGUMENT, output: Path = CLIP_OUTPUT_OPTION, overwrite: bool = OVERWRITE_OPTION):
    """Play backwards. Example: videogen edit reverse clip.mp4 -o back.mp4"""
    from postprocess.tools import reverse

    edit_clip(source, output, overwrite, lambda frames, fps: (reverse(frames), fps))


@edit_app.command("boomerang")
def edit_boomerang(source: Path = SOURCE_ARGUMENT, output: Path = CLIP_OUTPUT_OPTION, overwrite: bool = OVERWRITE_OPTION):
    """Forwards then backwards, looping seamlessly. Example: videogen edit boomerang clip.mp4 -o boom.gif"""
    from postprocess.tools import boomerang

    edit_clip(source, output, overwrite, lambda frames, fps: (boomerang(frames), fps))


@edit_app.command("loop")
def edit_loop(source: Path = SOURCE_ARGUMENT, output: Path = CLIP_OUTPUT_OPTION,
              bridge: int = typer.Option(4, help="Frames interpolated from the last frame back to the first."),
              overwrite: bool = OVERWRITE_OPTION):
    """Make a clip loop seamlessly: its last frame flows into its first. Example: videogen edit loop clip.mp4 -o loop.gif"""
    from postprocess.tools import seamless_loop

    edit_clip(source, output, overwrite, lambda frames, fps: (seamless_loop(frames, bridge), fps))


@edit_app.command("colour")
def edit_colour(source: Path = SOURCE_ARGUMENT, output: Path = CLIP_OUTPUT_OPTION,
                reference: Optional[Path] = typer.Option(None, help="Image, or clip whose first frame, to match (default: the clip's first frame)."),
                strength: float = typer.Option(1.0, help="0 keeps the colours, 1 matches fully."),
                overwrite: bool = OVERWRITE_OPTION):
    """Colour coherence: match every frame's LAB histograms to a reference. Example: videogen edit colour shot2.mp4 --reference shot1.mp4 -o shot2_matched.mp4"""
    with usage_errors():
        from postprocess.colour import match_colour
        from postprocess.images import is_image_path, read_image
        from postprocess.read import read_video

        target = None if reference is None else read_image(reference) if is_image_path(reference) else read_video(reference)[0][0]
    edit_clip(source, output, overwrite, lambda frames, fps: (match_colour(frames, target, strength), fps))


@edit_app.command("deflicker")
def edit_deflicker(source: Path = SOURCE_ARGUMENT, output: Path = CLIP_OUTPUT_OPTION,
                   window: int = typer.Option(5, help="Frames averaged for the target brightness."),
                   overwrite: bool = OVERWRITE_OPTION):
    """Even out frame-to-frame brightness flicker. Example: videogen edit deflicker clip.mp4 -o steady.mp4"""
    from postprocess.colour import deflicker

    edit_clip(source, output, overwrite, lambda frames, fps: (deflicker(frames, window), fps))


@edit_app.command("aspect")
def edit_aspect(source: Path = SOURCE_ARGUMENT, output: Path = CLIP_OUTPUT_OPTION,
                ratio: str = typer.Option(..., help="Width:height such as 16:9, 9:16, 2.39."),
                mode: str = typer.Option("crop", help="crop (centred) or pad (letterbox / pillarbox in black)."),
                overwrite: bool = OVERWRITE_OPTION):
    """Crop or pad to an aspect ratio. Example: videogen edit aspect clip.mp4 --ratio 9:16 -o vertical.mp4"""
    from postprocess import FrameError
    from postprocess.tools import crop_to_aspect, pad_to_aspect

    def transform(frames, fps):
        if mode not in ("crop", "pad"):
            raise FrameError(f"--mode: {mode!r} is not allowed; use crop or pad")
        return (crop_to_aspect if mode == "crop" else pad_to_aspect)(frames, ratio), fps

    edit_clip(source, output, overwrite, transform)


@edit_app.command("frames")
def edit_frames(source: Path = SOURCE_ARGUMENT,
                output: Path = typer.Option(..., "-o", "--output", help="Folder for frame_NNNNN.png files."),
                every: int = typer.Option(1, help="Keep every n-th frame."),
                overwrite: bool = OVERWRITE_OPTION):
    """Extract frames as PNG files. Example: videogen edit frames clip.mp4 --every 12 -o stills/"""
    with usage_errors():
        refuse_existing(output, overwrite)
        from postprocess.read import read_video
        from postprocess.tools import extract_frames

        paths = extract_frames(read_video(source)[0], output, every)
    typer.echo(f"{output}: {len(paths)} PNG frames")


@edit_app.command("sheet")
def edit_sheet(source: Path = SOURCE_ARGUMENT,
               output: Path = typer.Option(..., "-o", "--output", help="PNG to write."),
               count: int = typer.Option(12, help="Frames to show, evenly spaced."),
               columns: int = typer.Option(4, help="Thumbnails per row."),
               width: int = typer.Option(256, help="Thumbnail width in pixels."),
               overwrite: bool = OVERWRITE_OPTION):
    """A contact sheet of evenly spaced frames labelled with their times. Example: videogen edit sheet clip.mp4 -o sheet.png"""
    with usage_errors():
        refuse_existing(output, overwrite)
        import numpy as np

        from postprocess.preview import contact_sheet, save_png
        from postprocess.read import read_video

        frames, fps = read_video(source)
        picks = np.unique(np.linspace(0, len(frames) - 1, max(1, count)).round().astype(int))
        save_png(contact_sheet(frames[picks], columns, [f"{float(index / fps):.2f} s" for index in picks], width), output)
    typer.echo(f"{output}: {len(picks)} of {len(frames)} frames")


@edit_app.command("gif")
def edit_gif(source: Path = SOURCE_ARGUMENT,
             output: Path = typer.Option(..., "-o", "--output", help="GIF to write."),
             width: int = typer.Option(320, help="Largest width; wider clips are shrunk."),
             overwrite: bool = OVERWRITE_OPTION):
    """A small looping GIF preview at the clip's frame rate. Example: videogen edit gif clip.mp4 -o preview.gif"""
    with usage_errors():
        refuse_existing(output, overwrite)
        from postprocess.preview import write_gif_preview
        from postprocess.read import read_video

        frames, fps = read_video(source)
        write_gif_preview(frames, output, float(fps), width)
    typer.echo(f"{output}: {len(frames)} frames at {fps} fps")
