"""Contact sheets, PNG and GIF previews."""

import os

import numpy as np
import pytest
from PIL import Image

from postprocess import FrameError
from postprocess.preview import contact_sheet, save_png, write_gif_preview


def _clip(count=5, height=24, width=32):
    """Frames of distinct flat colours."""
    return np.stack([np.full((height, width, 3), 40 * i, np.uint8) for i in range(count)])


def test_contact_sheet_places_frames_in_a_grid():
    sheet = contact_sheet(_clip(), columns=3, gap=2, background=(255, 0, 0))
    assert sheet.shape == (2 * 24 + 3 * 2, 3 * 32 + 4 * 2, 3) and sheet.dtype == np.uint8
    assert (sheet[2:26, 2:34] == 0).all()  # frame 0, top left
    assert (sheet[28:52, 36:68] == 160).all()  # frame 4: row 1, column 1
    assert (sheet[28:52, 70:102] == (255, 0, 0)).all()  # empty sixth cell keeps the background


def test_contact_sheet_labels_add_a_text_band_and_thumbnails_resize():
    frames = _clip(height=100, width=200)
    sheet = contact_sheet(frames, columns=5, labels=[f"shot {i}" for i in range(5)], thumb_width=50, gap=0)
    assert sheet.shape[1] == 250 and sheet.shape[0] > 25
    band = sheet[25:]
    assert band.max() > 200  # light text was drawn under the thumbnails


def test_contact_sheet_rejects_label_count_mismatch():
    with pytest.raises(FrameError, match="labels: 2 labels for 5 frames"):
        contact_sheet(_clip(), labels=["a", "b"])


def test_save_png_round_trips_float_image(tmp_path):
    image = np.random.default_rng(0).random((8, 9, 3)).astype(np.float32)
    save_png(image, tmp_path / "a.png")
    loaded = np.asarray(Image.open(tmp_path / "a.png"))
    assert np.array_equal(loaded, (image * 255 + 0.5).astype(np.uint8))
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]  # no temp file left behind


def test_gif_preview_has_every_frame_and_the_frame_duration(tmp_path):
    write_gif_preview(_clip(height=400, width=640), tmp_path / "p.gif", fps=10)
    with Image.open(tmp_path / "p.gif") as gif:
        assert gif.n_frames == 5 and gif.info["duration"] == 100 and gif.size == (320, 200)


def test_gif_preview_bad_fps_writes_nothing(tmp_path):
    with pytest.raises(FrameError, match="fps: 0 is not allowed"):
        write_gif_preview(_clip(), tmp_path / "p.gif", fps=0)
    assert not list(tmp_path.iterdir())


def test_zero_length_clip_is_one_clear_line():
    with pytest.raises(FrameError, match=r"^frames: zero-length clip; at least 1 frame is needed$"):
        contact_sheet(np.zeros((0, 4, 4, 3), np.uint8))


def test_outputs_get_ordinary_file_permissions(tmp_path):
    save_png(np.zeros((4, 4, 3), np.uint8), tmp_path / "a.png")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "a.png").stat().st_mode & 0o777 == 0o666 & ~umask
