"""A vectorised 2.5D ray-cast renderer of world scenes seen through a cameras/ Trajectory.

Every pixel of every frame is a ray from the camera pose. The world (y down, ground plane at y = GROUND_Y,
camera 0 at the origin looking along +z) is: a sky dome (gradient, sun or moon, stars), a cloud plane
overhead, the ground plane (textured, with a lake or the sea that reflects the sky and terrain), and
vertical cut-outs standing on the ground at fixed depths (terrain ridges, tree lines, subjects), painted
far to near. Because each element is hit at its true depth, parallax, zoom and roll are exact.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from videogen.errors import UsageError
from videogen.world.scene import Scene

GROUND_Y = 2.0  # camera height above the ground in scene units; cameras/ subjects sit DEFAULT_DEPTH = 4 ahead
MIN_CAMERA_HEIGHT = 0.25  # a camera lowered further (pedestal_down) is held here so the ground stays a plane
MIN_SIZE, MAX_SIZE = 16, 2048
TILE = 256  # noise tile side in texels

Array = np.ndarray


@dataclass(frozen=True)
class Light:
    """Sky and light of one time of day: colours are linear RGB in [0, 1]."""

    zenith: tuple[float, float, float]
    horizon: tuple[float, float, float]
    light: tuple[float, float, float]  # multiplies every surface's albedo
    body_elevation_deg: float  # sun (or moon at night) above the horizon; below 0 only its glow shows
    body_color: tuple[float, float, float]
    glow: float  # strength of the halo around the body


LIGHTS: dict[str, Light] = {
    "noon": Light((0.22, 0.45, 0.85), (0.68, 0.80, 0.95), (1.00, 1.00, 0.96), 60.0, (1.0, 1.0, 0.95), 0.15),
    "dawn": Light((0.20, 0.24, 0.46), (0.95, 0.66, 0.70), (0.66, 0.56, 0.66), -3.0, (1.0, 0.75, 0.75), 0.35),
    "sunrise": Light((0.38, 0.56, 0.82), (1.00, 0.85, 0.48), (1.00, 0.85, 0.62), 4.0, (1.0, 0.97, 0.80), 0.55),
    "golden_hour": Light((0.30, 0.48, 0.80), (1.00, 0.78, 0.42), (1.00, 0.76, 0.42), 11.0, (1.0, 0.90, 0.60), 0.50),
    "sunset": Light((0.32, 0.18, 0.42), (1.00, 0.40, 0.16), (0.92, 0.46, 0.28), 2.0, (1.0, 0.45, 0.20), 0.70),
    "dusk": Light((0.06, 0.08, 0.24), (0.40, 0.30, 0.52), (0.36, 0.36, 0.54), -7.0, (0.6, 0.4, 0.6), 0.25),
    # moonlight is "day for night": dark and blue, but bright enough that the scene's shapes still read
    "night": Light((0.02, 0.03, 0.10), (0.10, 0.15, 0.30), (0.24, 0.27, 0.42), 18.0, (0.95, 0.95, 0.85), 0.10),
}

GROUND_ALBEDO = {"grass": (0.30, 0.52, 0.17), "desert": (0.88, 0.68, 0.42), "snow": (0.93, 0.95, 1.00),
                 "rock": (0.46, 0.43, 0.40)}
TERRAIN_ALBEDO = {"mountains": (0.42, 0.44, 0.52), "hills": (0.34, 0.50, 0.22), "dunes": (0.92, 0.62, 0.34),
                  "city": (0.52, 0.54, 0.60)}
TREE_ALBEDO = (0.08, 0.24, 0.10)
WATER_TINT = {"lake": (0.10, 0.28, 0.30), "sea": (0.04, 0.18, 0.38)}

# Depths (scene units) of the three terrain cut-outs, far to near, and their heights as view angles (radians).
TERRAIN_DEPTHS = (240.0, 120.0, 60.0)
TERRAIN_ANGLES = {"mountains": (0.34, 0.25, 0.16), "hills": (0.16, 0.12, 0.09), "dunes": (0.14, 0.11, 0.08),
                  "city": (0.22, 0.16, 0.11)}
LAKE_DEPTHS = (7.0, 30.0)  # near and far shore
SEA_NEAR = 7.0
CLOUD_HEIGHT = 60.0  # above the camera
FOG_LENGTH = {"clear": 600.0, "fog": 30.0, "snow": 90.0, "rain": 70.0}  # distance at which 63% is fog
# The most fog over anything solid: beyond it the far ridges and the subject would vanish, and a caption that names
# mountains or a balloon must show them (the world is ground truth for adherence, so every attribute stays legible).
FOG_MAX = {"clear": 0.4, "fog": 0.62, "snow": 0.55, "rain": 0.55}


@dataclass(frozen=True)
class Rays:
    """Per-pixel rays of every frame: origins broadcastable to (F, H, W), directions (F, H, W) per axis."""

    ox: Array
    oy: Array
    oz: Array
    dx: Array
    dy: Array
    dz: Array


@dataclass(frozen=True)
class Cutout:
    """A vertical cut-out at depth z: visible where its height profile over x rises above the ray's hit point."""

    depth: float
    grid: Array  # x samples of the profile
    height: Array  # height above the ground at each x sample
    shade: Callable[[Array, Array], Array]  # (x, height above ground) per pixel -> RGB (F, H, W, 3)


def hash01(*keys: Array, seed: int = 0) -> Array:
    """A stateless integer hash of lattice coordinates to [0, 1) (PCG-style multiply-xorshift)."""
    value = np.full(np.broadcast_shapes(*(np.shape(k) for k in keys)), seed * 0x9E3779B1 & 0xFFFFFFFF, np.uint64)
    for key in keys:
        value = (value ^ (np.asarray(key).astype(np.int64).astype(np.uint64) & 0xFFFFFFFF)) * np.uint64(0x2C9277B5)
        value = (value ^ (value >> np.uint64(15))) & np.uint64(0xFFFFFFFF)
    return (value & np.uint64(0xFFFFFF)).astype(np.float32) / np.float32(0x1000000)


def noise_tile(rng: np.random.Generator, beta: float = 2.0) -> Array:
    """A periodic fractal noise tile (TILE, TILE) in [0, 1]: white noise shaped to a 1/f^beta power spectrum."""
    freq_y = np.fft.fftfreq(TILE)[:, None]
    freq_x = np.fft.rfftfreq(TILE)[None, :]
    amplitude = np.maximum(np.hypot(freq_x, freq_y), 1.0 / TILE) ** (-beta / 2)
    tile = np.fft.irfft2(np.fft.rfft2(rng.standard_normal((TILE, TILE))) * amplitude, s=(TILE, TILE))
    low, high = np.percentile(tile, [1, 99])
    return np.clip((tile - low) / (high - low), 0.0, 1.0).astype(np.float32)


def sample_tile(tile: Array, u: Array, v: Array) -> Array:
    """Bilinear lookup of a periodic tile at texel coordinates u, v (any equal shape, ending in (H, W))."""
    shape = u.shape
    u = np.mod(u, TILE).astype(np.float32).reshape(-1, shape[-1])  # (..., H, W) -> (N, W)
    v = np.mod(v, TILE).astype(np.float32).reshape(-1, shape[-1])
    return cv2.remap(tile, u, v, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP).reshape(shape)


def smoothstep(edge0: float, edge1: float, x: Array) -> Array:
    """Hermite step from 0 at edge0 to 1 at edge1."""
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def camera_rays(c2w: Array, focal: Array, width: int, height: int) -> Rays:
    """World rays through pixel centres for each pose (pinhole, principal point at the image centre)."""
    u = (np.arange(width, dtype=np.float32) - (width - 1) / 2) / width  # in units of image width
    v = (np.arange(height, dtype=np.float32) - (height - 1) / 2) / width
    focal = np.asarray(focal, dtype=np.float32)[:, None, None]
    cam_x, cam_y = u[None, None, :] / focal, v[None, :, None] / focal  # (F, 1, W), (F, H, 1)
    rot = np.asarray(c2w, dtype=np.float32)[:, :3, :3, None, None]  # (F, 3, 3, 1, 1)
    dx, dy, dz = (rot[:, i, 0] * cam_x + rot[:, i, 1] * cam_y + rot[:, i, 2] for i in range(3))
    norm = np.sqrt(dx * dx + dy * dy + dz * dz)
    origin = np.asarray(c2w, dtype=np.float32)[:, :3, 3, None, None]  # (F, 3, 1, 1)
    oy = np.minimum(origin[:, 1], GROUND_Y - MIN_CAMERA_HEIGHT)
    return Rays(origin[:, 0], oy, origin[:, 2], dx / norm, dy / norm, dz / norm)


def project(c2w: Array, focal: Array, width: int, height: int, points: Array) -> Array:
    """Pixel coordinates (F, 2) of one world point per frame (F, 3); NaN where it is behind the camera."""
    c2w = np.asarray(c2w, dtype=np.float64)
    local = np.einsum("fji,fj->fi", c2w[:, :3, :3], points - c2w[:, :3, 3])  # R^T (p - t)
    depth = np.where(local[:, 2] > 1e-6, local[:, 2], np.nan)
    scale = np.asarray(focal) * width / depth
    return np.stack([local[:, 0] * scale + (width - 1) / 2, local[:, 1] * scale + (height - 1) / 2], axis=-1)


def _check_size(num_frames: int, width: int, height: int) -> None:
    for name, value in (("width", width), ("height", height)):
        if not MIN_SIZE <= value <= MAX_SIZE:
            raise UsageError(f"world {name} {value} is out of range; allowed {MIN_SIZE}..{MAX_SIZE}")
    if num_frames < 1:
        raise UsageError(f"world num_frames {num_frames} must be at least 1")


def _profile_peaks(grid: Array, rng: np.random.Generator, spacing: float, heights: tuple[float, float],
                   widths: tuple[float, float], power: float = 1.0, gap: float = 0.0, gap_centre: float = 0.0) -> Array:
    """Upper envelope of random peaks max_i h_i (1 - |x - x_i| / w_i)^power: ridgelines and conifer lines.

    Peaks closer than `gap` to x = gap_centre are dropped (keeps the line of sight open through near tree lines)."""
    centres = np.arange(grid[0], grid[-1], spacing) + rng.uniform(0, spacing, size=int(np.ceil(np.ptp(grid) / spacing)))
    centres = centres[np.abs(centres - gap_centre) >= gap]
    peak_heights = rng.uniform(*heights, size=len(centres))
    peak_widths = rng.uniform(*widths, size=len(centres))
    profile = np.zeros_like(grid)
    for centre, peak_height, width in zip(centres, peak_heights, peak_widths):
        window = slice(*np.searchsorted(grid, [centre - width, centre + width]))
        bump = peak_height * np.clip(1 - np.abs(grid[window] - centre) / width, 0, 1) ** power
        profile[window] = np.maximum(profile[window], bump)
    return profile


def _profile_smooth(grid: Array, rng: np.random.Generator, scale: float, octaves: int = 3) -> Array:
    """1D value noise in [0, 1]: random knots every scale/2^k, cubic-smoothed, summed with halving weights."""
    total = np.zeros_like(grid)
    for octave in range(octaves):
        step = scale / 2**octave
        knots = np.arange(grid[0] - step, grid[-1] + 2 * step, step)
        values = rng.uniform(0, 1, size=len(knots))
        position = (grid - knots[0]) / step
        index = np.floor(position).astype(int)
        frac = smoothstep(0.0, 1.0, position - index)
        total += 0.5**octave * (values[index] * (1 - frac) + values[index + 1] * frac)
    return total / (2 - 0.5 ** (octaves - 1))


def terrain_profile(kind: str, grid: Array, depth: float, angle: float, rng: np.random.Generator) -> Array:
    """Height profile of one terrain layer: jagged ridges, rolling hills, skewed dunes or blocky buildings."""
    top = depth * angle
    if kind == "mountains":
        ridges = _profile_peaks(grid, rng, spacing=depth * 0.25, heights=(0.35 * top, top),
                                widths=(depth * 0.2, depth * 0.45))
        return ridges + 0.06 * top * _profile_smooth(grid, rng, depth * 0.03)
    if kind == "hills":
        return top * (0.25 + 0.75 * _profile_smooth(grid, rng, depth * 0.6, octaves=2))
    if kind == "dunes":
        crests = _profile_peaks(grid, rng, spacing=depth * 0.35, heights=(0.5 * top, top),
                                widths=(depth * 0.25, depth * 0.4), power=1.6)
        return 0.15 * top + crests
    widths = rng.uniform(0.02, 0.06, size=4096) * depth  # city: a row of buildings, edge to edge
    edges = grid[0] + np.concatenate([[0.0], np.cumsum(widths)])
    storeys = rng.uniform(0.3, 1.0, size=4096) ** 1.5 * top
    return storeys[np.clip(np.searchsorted(edges, grid) - 1, 0, len(storeys) - 1)]


@dataclass(frozen=True)
class Sprite:
    """A subject cut-out at a fixed depth whose centre moves per frame: draw(dx, dy) gives (mask, RGB)."""

    depth: float
    centre: Array  # (F, 3) world position per frame
    draw: Callable[[Array, Array], tuple[Array, Array]]  # offsets from the centre (F, H, W) -> mask, RGB


def _paint(canvas: Array, dist: Array, mask: Array, rgb: Array, t: Array) -> None:
    """Write colour and distance where mask holds (a z-buffered painter)."""
    np.copyto(canvas, rgb, where=mask[..., None])
    np.copyto(dist, np.broadcast_to(t, dist.shape), where=mask)


def _hit_depth(rays: Rays, depth: float) -> tuple[Array, Array, Array]:
    """Where rays meet the vertical plane z = depth: distance, x, and height above the ground."""
    t = np.where(rays.dz > 1e-3, (depth - rays.oz) / np.maximum(rays.dz, 1e-3), -1.0)  # -1: never met
    return t, rays.ox + t * rays.dx, GROUND_Y - (rays.oy + t * rays.dy)


def paint_cutout(canvas: Array, dist: Array, rays: Rays, cutout: Cutout) -> None:
    """Paint the part of a cut-out each ray meets before anything nearer."""
    t, x, above = _hit_depth(rays, cutout.depth)
    mask = (t > 0) & (t < dist) & (above >= 0) & (above <= np.interp(x, cutout.grid, cutout.height))
    if mask.any():
        _paint(canvas, dist, mask, cutout.shade(x, above), t)


def paint_sprite(canvas: Array, dist: Array, rays: Rays, sprite: Sprite) -> None:
    """Paint a moving subject: ray hits on its depth plane, relative to its centre in each frame."""
    t, x, above = _hit_depth(rays, sprite.depth)
    centre = sprite.centre[:, :, None, None].astype(np.float32)  # (F, 3) -> (F, 3, 1, 1)
    mask, rgb = sprite.draw(x - centre[:, 0], (GROUND_Y - above) - centre[:, 1])
    mask &= (t > 0) & (t < dist)
    if mask.any():
        _paint(canvas, dist, mask, rgb, t)


def _direction(azimuth: float, elevation: float) -> Array:
    """Unit vector for an azimuth (radians, right of +z) and elevation (radians, up), y down."""
    return np.array([np.cos(elevation) * np.sin(azimuth), -np.sin(elevation), np.cos(elevation) * np.cos(azimuth)],
                    dtype=np.float32)


def _rgb(*channels) -> Array:
    return np.asarray(channels, dtype=np.float32)


class World:
    """One scene's geometry, textures and light, built deterministically from scene.seed; render(rays, times)."""

    def __init__(self, scene: Scene, c2w: Array):
        rng = np.random.default_rng(scene.seed)
        self.scene = scene
        light = LIGHTS[scene.time]
        self.zenith, self.horizon = _rgb(*light.zenith), _rgb(*light.horizon)
        dim = (0.72 if scene.clouds == "overcast" else 1.0) * (0.75 if scene.weather in ("rain", "snow") else 1.0)
        self.light = _rgb(*light.light) * dim
        self.body = light
        self.sun = _direction(rng.uniform(-0.35, 0.35), np.radians(light.body_elevation_deg))
        self.tiles = [noise_tile(rng) for _ in range(3)] + [noise_tile(rng, beta=3.0)]
        self.wind = rng.uniform(-1, 1) * 40.0  # cloud drift over the clip, scene units
        self.shore = np.linspace(-600, 600, 2401), None
        self.shore = (self.shore[0], _profile_smooth(self.shore[0], rng, 20.0))
        middle = np.asarray(c2w, dtype=np.float64)[len(c2w) // 2]
        self.eye, self.view = middle[:3, 3], middle[:3, 2]  # the middle frame's camera: where subjects are anchored
        self.cutouts = self._terrain(rng) + self._trees(rng)
        self.sprites = self._subjects(rng, len(c2w))

    # -- layout ---------------------------------------------------------------------------------------------
    def _terrain(self, rng: np.random.Generator) -> list[Cutout]:
        kind = self.scene.terrain
        layers = []
        for index, (depth, angle) in enumerate(zip(TERRAIN_DEPTHS, TERRAIN_ANGLES[kind])):
            if self.scene.water == "sea" and index > 0:
                break  # open sea: only the far coast remains
            grid = np.linspace(-4 * depth, 4 * depth, 4097)
            height = terrain_profile(kind, grid, depth, angle, rng)
            if self.scene.water == "sea":  # the coast covers one side of the horizon only
                side = rng.choice([-1.0, 1.0])
                height = height * smoothstep(-0.1 * depth, 0.4 * depth, side * grid) * 0.8
            layers.append(Cutout(depth, grid, height.astype(np.float32),
                                 self._terrain_shader(kind, grid, height, depth, index)))
        return layers

    def _terrain_shader(self, kind: str, grid: Array, height: Array, depth: float, index: int):
        albedo = _rgb(*TERRAIN_ALBEDO[kind])
        slope = np.gradient(height, grid).astype(np.float32)
        tile = self.tiles[index % 3]
        texel = 48.0 / depth  # texels per unit: the same texture size in the picture at every depth
        snowline = 0.55 * height.max()
        sun_side = float(np.sign(self.sun[0]) or 1.0)
        lit_windows = {"night": 0.55, "dusk": 0.4, "dawn": 0.15}.get(self.scene.time, 0.0)

        def shade(x: Array, above: Array) -> Array:
            facing = np.clip(-np.interp(x, grid, slope) * sun_side * (4.0 if kind == "dunes" else 1.5), -1, 1)
            texture = sample_tile(tile, x * texel, above * texel) - 0.5
            strength = 0.45 if kind == "dunes" else 0.22
            rgb = albedo * (0.8 + strength * facing + 0.35 * texture)[..., None] * self.light
            if kind == "mountains":
                snow = above > snowline + 0.15 * snowline * texture
                rgb = np.where(snow[..., None], _rgb(0.92, 0.94, 1.0) * self.light * (0.9 + 0.15 * facing)[..., None], rgb)
            if kind == "city":
                size = depth * 0.012  # window pitch: about 1.5 pixels at 128 wide
                col, row = np.floor(x / size), np.floor(above / size)
                inside = (np.abs(x / size - col - 0.5) < 0.3) & (np.abs(above / size - row - 0.5) < 0.3)
                lit = inside & (hash01(col, row, seed=index) < lit_windows)
                rgb = np.where(inside[..., None], rgb * 0.6, rgb)
                rgb = np.where(lit[..., None], _rgb(1.0, 0.82, 0.45), rgb)
            return rgb

        return shade

    def _trees(self, rng: np.random.Generator) -> list[Cutout]:
        """Tree lines; near ones leave the middle frame's line of sight open, where the subject is anchored, so a
        rotating camera does not bring a tree in front of it."""
        vegetation = self.scene.vegetation
        if vegetation == "none":
            return []
        water = self.scene.water
        if water == "sea":
            depths = (5.5,)
        elif water == "lake":
            depths = (LAKE_DEPTHS[1] + 6, LAKE_DEPTHS[1] + 14) if vegetation == "forest" else (5.5, LAKE_DEPTHS[1] + 4)
        else:
            depths = (24.0, 32.0, 40.0) if vegetation == "forest" else (8.0, 16.0, 30.0)
        tile = self.tiles[3]
        shade_light = self.light * (1.0 + 0.25 * (self.scene.ground == "snow"))
        cutouts = []
        for depth in depths:
            # x where the middle frame's view axis meets this tree line
            sight = self.eye[0] + (depth - self.eye[2]) * self.view[0] / max(self.view[2], 1e-3)
            grid = np.linspace(-4 * depth, 4 * depth, 8193)
            spacing = (0.9 if vegetation == "forest" else 4.5) * (depth / 16) ** 0.5
            heights = (1.5, 3.0) if vegetation == "forest" else (2.5, 5.0)
            height = _profile_peaks(grid, rng, spacing, heights=heights, widths=(0.6, 1.1), power=1.1,
                                    gap=0.3 * depth if depth < 10 else 0.0, gap_centre=sight)
            def shade(x: Array, above: Array) -> Array:
                texture = sample_tile(tile, x * 8, above * 8)
                return _rgb(*TREE_ALBEDO) * (0.7 + 0.7 * texture)[..., None] * shade_light

            cutouts.append(Cutout(depth, grid, height.astype(np.float32), shade))
        return cutouts

    def _anchor(self, depth: float, rng: np.random.Generator, sky: bool) -> Array:
        """A world point `depth` ahead of the middle frame's camera, near the view centre (in the sky or on the water)."""
        heading = np.arctan2(self.view[0], self.view[2]) + rng.uniform(-0.1, 0.1)
        x = self.eye[0] + depth * np.tan(heading)
        if not sky:
            return np.array([x, GROUND_Y, self.eye[2] + depth])
        pitch = np.arcsin(np.clip(-self.view[1], -1, 1)) + rng.uniform(0.07, 0.14)
        return np.array([x, self.eye[1] - depth * np.tan(pitch), self.eye[2] + depth])

    def _subjects(self, rng: np.random.Generator, num_frames: int) -> list[Sprite]:
        """The scene's subject with its own motion, centred over the clip on its anchor."""
        subject = self.scene.subject
        if subject == "none":
            return []
        times = np.linspace(-0.5, 0.5, num_frames)[:, None]  # clip time around the middle frame
        light = self.light * 0.6 + 0.4 * max(float(self.light.mean()), 0.45)  # subjects stay readable at night
        direction = rng.choice([-1.0, 1.0])
        if subject == "balloon":
            radius = 1.8
            depth = 28.0 - rng.uniform(0, 6)  # near enough to show through fog
            centre = self._anchor(depth, rng, sky=True) + times * np.array([direction * 1.5, -2.0, 0.0])
            return [Sprite(depth, centre, lambda dx, dy: self._balloon(dx, dy, radius, light))]
        if subject == "kite":
            depth = 14.0
            phase = rng.uniform(0, 2 * np.pi)
            sway = np.stack([0.8 * np.sin(2 * np.pi * 1.3 * times[:, 0] + phase),
                             0.3 * np.cos(2 * np.pi * 1.7 * times[:, 0] + phase), 0 * times[:, 0]], -1)
            centre = self._anchor(depth, rng, sky=True) + sway
            return [Sprite(depth, centre, lambda dx, dy: self._kite(dx, dy, light, phase))]
        if subject == "birds":
            depth = 16.0
            count = int(rng.integers(6, 11))
            offsets = rng.normal(size=(count, 2)) * np.array([1.6, 0.6])
            flaps = rng.uniform(0, 2 * np.pi, size=count)
            centre = self._anchor(depth, rng, sky=True) + times * np.array([direction * 5.0, -0.6, 0.0])
            clock = times[:, 0, None, None].astype(np.float32)  # (F, 1, 1)
            # silhouettes against a bright sky; against the night sky, moonlit birds
            colour = _rgb(0.05, 0.05, 0.07) if self.horizon.mean() > 0.3 else _rgb(0.78, 0.80, 0.86)
            return [Sprite(depth, centre, lambda dx, dy: self._birds(dx, dy, offsets, flaps, clock, colour))]
        depth = 14.0 + rng.uniform(0, 4) if self.scene.water == "lake" else 12.0 + rng.uniform(0, 10)
        centre = self._anchor(depth, rng, sky=False) + times * np.array([direction * 2.0, 0.0, 0.0])
        return [Sprite(depth, centre, lambda dx, dy: self._boat(dx, dy, light))]

    # -- subjects, drawn around their centre (dx right, dy down, scene units) ---------------------------------
    def _balloon(self, dx: Array, dy: Array, radius: float, light: Array) -> tuple[Array, Array]:
        """Striped envelope (a circle over a tapering skirt) with a basket below."""
        envelope = (dx * dx + dy * dy < radius**2) | ((dy > 0) & (dy < 1.35 * radius) &
                                                      (np.abs(dx) < radius * (1 - dy / (1.35 * radius)) * 0.95))
        basket = (np.abs(dx) < 0.25 * radius) & (dy > 1.45 * radius) & (dy < 1.75 * radius)
        stripe = (np.floor((dx / radius + 1) * 3) % 2)[..., None]
        colour = np.where(stripe > 0, _rgb(0.98, 0.80, 0.12), _rgb(0.88, 0.12, 0.10))
        rounded = (1.05 - 0.35 * (dx / radius) ** 2)[..., None]
        rgb = np.where(basket[..., None], _rgb(0.35, 0.22, 0.10), colour * rounded) * light
        return envelope | basket, rgb

    def _kite(self, dx: Array, dy: Array, light: Array, phase: float) -> tuple[Array, Array]:
        """A diamond kite in two colours with a waving tail."""
        diamond = np.abs(dx) / 1.0 + np.abs(dy) / 1.45 < 1  # about 1.5% of a 128 frame: big enough to read in fog
        tail = (dy > 1.35) & (dy < 4.0) & (np.abs(dx - 0.27 * np.sin(2 * dy + phase)) < 0.1)
        colour = np.where(((dx > 0) ^ (dy > 0))[..., None], _rgb(0.95, 0.15, 0.60), _rgb(0.10, 0.80, 0.90))
        rgb = np.where(tail[..., None], _rgb(0.95, 0.95, 0.3), colour) * light
        return diamond | tail, rgb

    def _birds(self, dx: Array, dy: Array, offsets: Array, flaps: Array, clock: Array,
               colour: Array) -> tuple[Array, Array]:
        """A flock of V-shaped birds beating their wings at their own phase."""
        mask = np.zeros(dx.shape, dtype=bool)
        for (off_x, off_y), flap in zip(offsets, flaps):
            bx, by = dx - off_x, dy - off_y
            lift = 0.5 * np.sin(2 * np.pi * 3.0 * clock + flap)  # wing tips above (V) or below the body
            # about 12 x 3 pixels at 128: thick enough to survive pixel art's 3-pixel blocks
            mask |= (np.abs(bx) < 0.75) & (np.abs(by + lift * np.abs(bx)) < 0.2)
        return mask, np.broadcast_to(colour, dx.shape + (3,))

    def _boat(self, dx: Array, dy: Array, light: Array) -> tuple[Array, Array]:
        """A sailboat: red hull on the waterline, white sail, dark mast."""
        hull = (dy <= 0.05) & (dy > -0.4) & (np.abs(dx) < 1.0 + 0.3 * (-dy / 0.4))
        height = (-dy - 0.45) / 2.2
        sail = (height > 0) & (height < 1) & (dx > 0.06) & (dx < 0.06 + 1.1 * (1 - height))
        mast = (np.abs(dx) < 0.05) & (dy < -0.35) & (dy > -2.75)
        rgb = np.where(hull[..., None], _rgb(0.75, 0.14, 0.10), _rgb(0.97, 0.96, 0.92))
        rgb = np.where(mast[..., None], _rgb(0.15, 0.12, 0.10), rgb) * light
        return hull | sail | mast, rgb

    # -- shading ----------------------------------------------------------------------------------------------
    def sky(self, rays: Rays, times: Array) -> Array:
        """Sky colour along each ray: gradient, body and halo, stars at night, clouds on a plane overhead."""
        elevation = -rays.dy
        blend = smoothstep(-0.05, 0.6, elevation)[..., None] ** 0.7
        rgb = self.horizon + (self.zenith - self.horizon) * blend
        cos_angle = rays.dx * self.sun[0] + rays.dy * self.sun[1] + rays.dz * self.sun[2]
        angle = np.arccos(np.clip(cos_angle, -1.0, 1.0))
        cover = self._cloud_cover(rays, times)
        veil = (1.0 - cover)[..., None]
        body = _rgb(*self.body.body_color)
        rgb = rgb + body * (self.body.glow * np.exp(-angle / 0.25))[..., None] * veil
        if self.scene.time == "night":
            azimuth, polar = np.arctan2(rays.dx, rays.dz), np.arcsin(np.clip(elevation, -1, 1))
            cell_x, cell_y = np.floor(azimuth / 0.008), np.floor(polar / 0.008)
            star = (hash01(cell_x, cell_y, seed=7) < 0.02) & (polar > 0.02)
            rgb = rgb + (star * hash01(cell_x, cell_y, seed=8) * 0.8)[..., None] * veil
        if self.body.body_elevation_deg > -1.0:
            radius = 0.03 if self.scene.time == "night" else 0.04
            disc = smoothstep(radius, radius * 0.8, angle)[..., None] * veil
            rgb = rgb + (body * 1.1 - rgb) * disc
        if self.scene.clouds != "clear":
            shade = sample_tile(self.tiles[1], rays.dx * 40, rays.dz * 40)[..., None]
            tone = 0.7 * self.light + 0.4 * self.horizon  # brighter than the sky behind, even at dawn and dusk
            if self.scene.clouds == "overcast":
                tone = tone * 0.75
            tone = np.maximum(tone, _rgb(0.22, 0.23, 0.30))  # moonlit clouds stay grey against the night sky
            rgb = rgb + (tone * (0.8 + 0.4 * shade) - rgb) * cover[..., None]
        return rgb

    def _cloud_cover(self, rays: Rays, times: Array) -> Array:
        """Cloud opacity where rays meet the cloud plane (drifting with the wind), fading towards the horizon."""
        if self.scene.clouds == "clear":
            return np.zeros(rays.dx.shape, dtype=np.float32)
        upward = rays.dy < -0.01
        t = np.where(upward, (-CLOUD_HEIGHT - rays.oy) / np.minimum(rays.dy, -0.01), 0.0)
        texel = 0.12  # texels per unit
        x = (rays.ox + t * rays.dx + self.wind * times) * texel
        density = sample_tile(self.tiles[2], x, (rays.oz + t * rays.dz) * texel)
        if self.scene.clouds == "scattered":
            cover = smoothstep(0.45, 0.62, density)
        else:
            cover = 0.8 + 0.2 * smoothstep(0.3, 0.6, density)
        return cover * upward * np.exp(-t / 4000.0) * smoothstep(-0.01, 0.05, -rays.dy)

    def _ground_colour(self, x: Array, z: Array, t: Array) -> Array:
        """Textured ground albedo times light: grass patches, sand ripples, snow, cracked rock."""
        coarse = sample_tile(self.tiles[0], x * 0.8, z * 0.8)
        fine = sample_tile(self.tiles[3], x * 6.0, z * 6.0)
        detail = np.exp(-t / 25.0)  # fine texture fades with distance instead of aliasing
        texture = (coarse - 0.5) * 0.8 + (fine - 0.5) * detail * 1.2
        kind = self.scene.ground
        albedo = _rgb(*GROUND_ALBEDO[kind])
        if kind == "grass":
            patches = smoothstep(0.55, 0.8, coarse)[..., None]
            rgb = (albedo + (_rgb(0.50, 0.52, 0.20) - albedo) * patches) * (0.75 + 0.5 * texture)[..., None]
        elif kind == "desert":
            ripples = 0.1 * np.sin(z * 5.0 + 4.0 * coarse) * detail
            rgb = albedo * (0.9 + 0.3 * texture + ripples)[..., None]
        elif kind == "snow":
            rgb = albedo * (0.92 + 0.15 * texture)[..., None] - _rgb(0.08, 0.04, 0.0) * (texture < -0.1)[..., None]
        else:
            cracks = (fine < 0.25) * detail
            rgb = albedo * (0.7 + 0.6 * texture - 0.35 * cracks)[..., None]
        return rgb * self.light

    def _water_mask(self, x: Array, z: Array) -> Array:
        """Which ground points are water: a lake between wavy shores, or the sea beyond one shore."""
        shore = np.interp(x, *self.shore) - 0.5
        if self.scene.water == "lake":
            return (z > LAKE_DEPTHS[0] + 3.0 * shore) & (z < LAKE_DEPTHS[1] + 12.0 * shore)
        return z > SEA_NEAR + 3.0 * shore

    def _water_colour(self, rays: Rays, x: Array, z: Array, times: Array) -> Array:
        """Water: its tint blended with the sky and terrain seen along the ripple-perturbed mirror ray (Fresnel-like)."""
        sea = self.scene.water == "sea"
        amplitude = 0.06 if sea else 0.02
        ripple = sample_tile(self.tiles[1], x * 1.5 + 3.0 * times, z * (4.0 if sea else 2.0) - 4.0 * times) - 0.5
        mirror = Rays(x, np.float32(GROUND_Y), z, rays.dx, -rays.dy + amplitude * ripple, rays.dz)
        reflection = self.background(mirror, times, with_ground=False)[0]
        fresnel = (0.3 + 0.6 * (1 - np.clip(rays.dy * 3.0, 0, 1)) ** 2)[..., None]
        tint = _rgb(*WATER_TINT[self.scene.water]) * self.light
        return tint + (reflection * 0.9 - tint) * fresnel

    def background(self, rays: Rays, times: Array, with_ground: bool = True) -> tuple[Array, Array]:
        """Sky, then ground and water, then cut-outs far to near: colour (F, H, W, 3) and distance (F, H, W)."""
        canvas = np.ascontiguousarray(self.sky(rays, times), dtype=np.float32)
        dist = np.full(rays.dx.shape, np.inf, dtype=np.float32)
        if with_ground:
            down = rays.dy > 1e-4
            t = np.where(down, (GROUND_Y - rays.oy) / np.maximum(rays.dy, 1e-4), 0.0)
            x, z = rays.ox + t * rays.dx, rays.oz + t * rays.dz
            rgb = self._ground_colour(x, z, t)
            if self.scene.water != "none":
                water = self._water_mask(x, z)
                rgb = np.where(water[..., None], self._water_colour(rays, x, z, times), rgb)
            _paint(canvas, dist, down, rgb, t)
        elements = [*self.cutouts, *(self.sprites if with_ground else [])]
        for element in sorted(elements, key=lambda element: -element.depth):
            (paint_cutout if isinstance(element, Cutout) else paint_sprite)(canvas, dist, rays, element)
        return canvas, dist

    def fog(self, canvas: Array, dist: Array, rays: Rays) -> Array:
        """Aerial perspective and fog: blend to the fog colour by 1 - exp(-distance / length) (Beer-Lambert).

        The sky is seen through the fog layer only: most at the horizon, less looking up, where the path through
        the layer is shorter (so clouds overhead still show in fog)."""
        weather = self.scene.weather
        amount = np.minimum(1.0 - np.exp(-dist / FOG_LENGTH[weather]), FOG_MAX[weather])
        horizon_amount = {"clear": 0.0, "fog": 0.85, "snow": 0.45, "rain": 0.55}[weather]
        sky_amount = horizon_amount * (1.0 - 0.55 * smoothstep(0.03, 0.35, -rays.dy))
        amount = np.where(np.isfinite(dist), amount, sky_amount)[..., None]
        colour = 0.55 * self.horizon + 0.45 * self.light * (0.8 if weather == "fog" else 0.6)
        return canvas + (colour - canvas) * amount

    def precipitation(self, canvas: Array, times: Array) -> Array:
        """Rain streaks or snowflakes in screen space: hashed cells in falling coordinates (a particle per cell)."""
        weather = self.scene.weather
        if weather not in ("rain", "snow"):
            return canvas
        height, width = canvas.shape[1:3]
        u = np.arange(width, dtype=np.float32)[None, None, :] / width
        v = np.arange(height, dtype=np.float32)[None, :, None] / width
        pixel = 1.0 / width
        if weather == "rain":
            slant, fall, cell_w, cell_h = 0.2, 1.6, 0.03, 0.16
            su, sv = u + slant * v, v - fall * times
            col, row = np.floor(su / cell_w), np.floor(sv / cell_h)
            offset = 0.15 + 0.7 * hash01(col, row, seed=11)
            across = np.abs(su / cell_w - col - offset) * cell_w
            along = sv / cell_h - row
            length = 0.25 + 0.5 * hash01(col, row, seed=14)
            particle = (hash01(col, row, seed=12) < 0.4) & (across < max(0.0035, 0.6 * pixel)) & (along < length)
            colour, alpha = 0.5 + 0.5 * self.horizon, 0.3
        else:
            particle = np.zeros(canvas.shape[:3], dtype=bool)
            for layer, (cell, fall, size) in enumerate(((0.05, 0.35, 0.006), (0.08, 0.6, 0.009))):
                su = u + 0.02 * np.sin(2 * np.pi * (times + v * 3))
                sv = v - fall * times
                col, row = np.floor(su / cell), np.floor(sv / cell)
                centre_u = (col + 0.2 + 0.6 * hash01(col, row, seed=13 + layer)) * cell
                centre_v = (row + 0.2 + 0.6 * hash01(col, row, seed=15 + layer)) * cell
                near = (su - centre_u) ** 2 + (sv - centre_v) ** 2 < max(size, 0.7 * pixel) ** 2
                particle |= near & (hash01(col, row, seed=17 + layer) < 0.6)
            colour, alpha = _rgb(0.96, 0.97, 1.0) * (0.5 + 0.5 * self.light), 0.9
        return canvas + (colour - canvas) * (alpha * particle)[..., None]


def render_frames(scene: Scene, c2w: Array, focal: Array, width: int, height: int) -> Array:
    """Render a scene seen from per-frame camera-to-world poses (F, 4, 4) and focal lengths (F,) in image widths.

    Returns (F, H, W, 3) float32 in [0, 1], look applied."""
    from videogen.world.looks import apply_look

    c2w = np.asarray(c2w, dtype=np.float64)
    _check_size(len(c2w), width, height)
    world = World(scene, c2w)
    times = np.linspace(0.0, 1.0, len(c2w), dtype=np.float32)[:, None, None]  # (F, 1, 1) clip time
    rays = camera_rays(c2w, focal, width, height)
    canvas, dist = world.background(rays, times)
    frames = world.precipitation(world.fog(canvas, dist, rays), times)
    return apply_look(np.clip(frames, 0.0, 1.0), scene.look, scene.seed)


def scene_trajectory(scene: Scene, num_frames: int):
    """The scene's camera as a cameras/ Trajectory (camera errors become UsageError)."""
    from cameras import CameraError, parse_camera

    try:
        return parse_camera(scene.camera).trajectory(num_frames)
    except CameraError as error:
        raise UsageError(f"world camera: {error}") from None


def render_clip(scene: Scene, num_frames: int = 16, width: int = 128, height: int = 128) -> Array:
    """Render a scene through its own camera spec: (F, H, W, 3) float32 in [0, 1], identical for the same scene."""
    _check_size(num_frames, width, height)
    trajectory = scene_trajectory(scene, num_frames)
    return render_frames(scene, trajectory.c2w, trajectory.focal, width, height)


def scene_depth(scene: Scene, num_frames: int = 16, width: int = 128, height: int = 128) -> Array:
    """Per-pixel z-depth (F, H, W) of render_clip's frames in its camera's axes (inf for the sky): with the scene's
    Trajectory, `Trajectory.flow(width, height, depth)` is the true motion of everything that stands still."""
    _check_size(num_frames, width, height)
    trajectory = scene_trajectory(scene, num_frames)
    times = np.linspace(0.0, 1.0, num_frames, dtype=np.float32)[:, None, None]
    rays = camera_rays(trajectory.c2w, trajectory.focal, width, height)
    _, dist = World(scene, trajectory.c2w).background(rays, times)
    forward = np.asarray(trajectory.c2w, dtype=np.float32)[:, :3, 2, None, None]  # (F, 3, 1, 1) view axis in the world
    return dist * (rays.dx * forward[:, 0] + rays.dy * forward[:, 1] + rays.dz * forward[:, 2])  # along the ray -> z


def scene_truth(scene: Scene, num_frames: int = 16, width: int = 128, height: int = 128) -> dict:
    """Ground truth paired with render_clip: attributes, camera spec and per-frame poses, subject track in pixels."""
    _check_size(num_frames, width, height)
    trajectory = scene_trajectory(scene, num_frames)
    world = World(scene, trajectory.c2w)
    track = [project(trajectory.c2w, trajectory.focal, width, height, sprite.centre) for sprite in world.sprites]
    return {
        "attributes": scene.attributes,
        "caption": scene.caption,
        "camera": scene.camera,
        "c2w": trajectory.c2w.tolist(),
        "focal": trajectory.focal.tolist(),
        "subject_track": track[0].tolist() if track else None,
    }
