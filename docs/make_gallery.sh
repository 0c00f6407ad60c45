#!/usr/bin/env bash
# Renders the README gallery with the built-in model: each line is the command shown beside its clip.
set -euo pipefail
cd "$(dirname "$0")/gallery"
videogen render "sunset over a mountain lake, golden hour, camera pans right" --camera pan_right:0.6 --frames 32 --fps 16 --seed 1 -o lake_sunset.gif --overwrite
videogen render "snowy peaks at night under a starry sky, still camera" --frames 32 --fps 16 --seed 2 -o peaks_night.gif --overwrite
videogen render "rolling hills with a pine forest at noon, slow zoom in" --camera zoom_in:0.6 --frames 32 --fps 16 --seed 3 -o hills_zoom.gif --overwrite
videogen render "a calm lake at dawn with a hot air balloon, tilt up" --camera tilt_up:0.6 --frames 32 --fps 16 --seed 4 -o balloon_dawn.gif --overwrite
videogen render "desert dunes at golden hour under a clear sky, camera trucks left" --camera truck_left:0.6 --frames 32 --fps 16 --seed 5 -o dunes_truck.gif --overwrite
videogen render "a city skyline by the sea at dusk, in the rain, slow roll" --camera roll_cw:0.6 --frames 32 --fps 16 --seed 6 -o city_rain.gif --overwrite
# The README's sheet: six evenly spaced frames of each clip, one row per clip.
python - <<'PY'
import numpy as np
from postprocess.preview import contact_sheet, save_png
from postprocess.read import read_video
names = ["lake_sunset", "peaks_night", "hills_zoom", "balloon_dawn", "dunes_truck", "city_rain"]
rows = [read_video(f"{name}.gif")[0] for name in names]
frames = np.concatenate([clip[np.linspace(0, len(clip) - 1, 6).round().astype(int)] for clip in rows])
labels = [name if index == 0 else "" for name in names for index in range(6)]
save_png(contact_sheet(frames, columns=6, labels=labels), "sheet.png")
PY
