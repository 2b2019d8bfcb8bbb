"""The effects drawn as clips, one painter each: falling snow, sparkles, bokeh, a vignette.

A painter turns a frame index into an alpha mask (float32, 0…1) over the frame. Loops are
seamless by construction: every moving particle has a period that divides the loop length (a
slow snowflake is several copies of one particle, each a loop length apart in time).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from themes import EffectParams

Alpha = np.ndarray  # float32 (height, width), 0…1
Painter = Callable[[int], Alpha]  # frame index → alpha


@dataclass(frozen=True)
class Setup:
    size: tuple[int, int]
    frames: int
    fps: int
    params: EffectParams
    rng: np.random.Generator

    @property
    def loop_s(self) -> float:
        return self.frames / self.fps

    @property
    def unit(self) -> float:
        """Pixels per pixel of a 1080-wide reel: sizes scale with the frame."""
        return min(self.size) / 1080

    @property
    def area_ratio(self) -> float:
        return self.size[0] * self.size[1] / (1080 * 1920)


class _Sprites:
    """Soft round sprites by radius and sub-pixel offset, drawn once and reused."""

    def __init__(self, profile: Callable[[np.ndarray, float], np.ndarray]):
        self._profile = profile
        self._cache: dict[tuple[float, float, float], np.ndarray] = {}

    def get(self, radius: float, fx: float, fy: float) -> np.ndarray:
        key = (round(radius * 4) / 4, round(fx * 4) / 4, round(fy * 4) / 4)
        if key not in self._cache:
            r, ox, oy = key
            half = math.ceil(r * 2) + 1
            ys, xs = np.mgrid[-half : half + 1, -half : half + 1].astype(np.float32)
            distance = np.hypot(xs - ox, ys - oy)
            self._cache[key] = self._profile(distance, r).astype(np.float32)
        return self._cache[key]


def _stamp(alpha: Alpha, sprite: np.ndarray, cx: int, cy: int, strength: float) -> None:
    """Composite `sprite` (centred on cx, cy) into `alpha` as light adds: 1-(1-a)(1-s)."""
    half = sprite.shape[0] // 2
    height, width = alpha.shape
    x0, y0 = cx - half, cy - half
    x1, y1 = x0 + sprite.shape[1], y0 + sprite.shape[0]
    sx0, sy0 = max(0, -x0), max(0, -y0)
    sx1 = sprite.shape[1] - max(0, x1 - width)
    sy1 = sprite.shape[0] - max(0, y1 - height)
    if sx1 <= sx0 or sy1 <= sy0:
        return
    region = alpha[y0 + sy0 : y0 + sy1, x0 + sx0 : x0 + sx1]
    region += (1.0 - region) * sprite[sy0:sy1, sx0:sx1] * strength


def _periodic_particles(setup: Setup, count: int, fall_s: np.ndarray) -> dict[str, np.ndarray]:
    """Particles crossing the frame in about `fall_s` seconds, looping exactly.

    A particle whose crossing takes m loop lengths is drawn as m copies spaced one loop apart
    in time: frame t then shows the same set of positions as frame t + loop.
    """
    loop = setup.loop_s
    copies = np.maximum(1, np.round(fall_s / loop)).astype(int)
    index = np.repeat(np.arange(count), copies)
    copy = np.concatenate([np.arange(m) for m in copies])
    return {"index": index, "offset_s": copy * loop, "period_s": copies[index] * loop}


def _snow(setup: Setup) -> Painter:
    width, height = setup.size
    rng, params, unit = setup.rng, setup.params, setup.unit
    count = int(np.clip(240 * params.density * setup.area_ratio, 60 * params.density, 800))
    depth = rng.random(count) ** 1.2  # more flakes far away: small, faint, slow
    radius = np.maximum(1.0, unit * (2.2 + 7.5 * depth**1.3))
    strength = params.opacity * (0.45 + 0.55 * depth)
    margin = float(radius.max() * 2 + 2)
    wrap = height + 2 * margin
    parts = _periodic_particles(setup, count, (15.0 - 9.0 * depth) / params.speed)
    i = parts["index"]
    x0, y0 = rng.random(count)[i] * width, rng.random(count)[i] * wrap
    sway = unit * (8 + 26 * depth)[i]
    cycles = np.maximum(1, np.round(parts["period_s"] / 3.5))  # a sway every ~3.5 s
    phase = rng.random(count)[i] * 2 * np.pi
    sprites = _Sprites(lambda d, r: np.exp(-((d / max(r, 0.6)) ** 2) * 1.4) * (d < 2 * r + 1))

    def paint(frame: int) -> Alpha:
        alpha = np.zeros((height, width), dtype=np.float32)
        t = frame / setup.fps + parts["offset_s"]
        ys = (y0 + wrap * t / parts["period_s"]) % wrap - margin
        # No wrapping sideways: a flake swaying past an edge would pop up at the other one.
        xs = x0 + sway * np.sin(2 * np.pi * cycles * t / parts["period_s"] + phase)
        for n, (x, y) in enumerate(zip(xs, ys, strict=True)):
            flake = i[n]
            cx, cy = int(x), int(y)
            sprite = sprites.get(radius[flake], x - cx, y - cy)
            _stamp(alpha, sprite, cx, cy, strength[flake])
        return alpha

    return paint


def _sparkles(setup: Setup) -> Painter:
    width, height = setup.size
    rng, params, unit = setup.rng, setup.params, setup.unit
    count = int(np.clip(120 * params.density * setup.area_ratio, 40 * params.density, 300))
    xs, ys = rng.random(count) * width, rng.random(count) * height
    reach = np.maximum(3.0, unit * (12 + 40 * rng.random(count) ** 2))
    twinkles = rng.integers(1, 3, count)  # whole twinkles per loop keep the loop seamless
    phase = rng.random(count) * 2 * np.pi
    # Glints stay where they are: any drift would have to come full circle within one loop.
    stars = [_star(r) for r in reach]

    def paint(frame: int) -> Alpha:
        alpha = np.zeros((height, width), dtype=np.float32)
        t = frame / setup.frames
        glow = (0.5 + 0.5 * np.sin(2 * np.pi * twinkles * t + phase)) ** 3
        for n in np.flatnonzero(glow > 0.02):
            _stamp(alpha, stars[n], int(xs[n]), int(ys[n]), params.opacity * glow[n])
        return alpha

    return paint


def _star(reach: float) -> np.ndarray:
    """A four-pointed glint: a bright core and two thin rays."""
    half = math.ceil(reach) + 1
    ys, xs = np.mgrid[-half : half + 1, -half : half + 1].astype(np.float32)
    thin = max(0.6, reach * 0.05)
    rays = np.exp(-(ys**2) / (2 * thin**2)) * np.clip(1 - np.abs(xs) / reach, 0, 1) ** 2
    rays = rays + np.exp(-(xs**2) / (2 * thin**2)) * np.clip(1 - np.abs(ys) / reach, 0, 1) ** 2
    core = np.exp(-(xs**2 + ys**2) / (2 * max(0.8, reach * 0.12) ** 2))
    return np.clip(rays * 0.85 + core, 0, 1).astype(np.float32)


def _bokeh(setup: Setup) -> Painter:
    width, height = setup.size
    rng, params, unit = setup.rng, setup.params, setup.unit
    count = int(np.clip(10 * params.density * setup.area_ratio**0.5, 6, 30))
    depth = rng.random(count)
    radius = np.maximum(3.0, unit * (28 + 70 * depth))
    strength = params.opacity * (0.25 + 0.45 * (1 - depth))
    margin = float(radius.max() * 2 + 2)
    wrap = height + 2 * margin
    parts = _periodic_particles(setup, count, (24.0 - 10.0 * depth) / params.speed)
    i = parts["index"]
    x0, y0 = rng.random(count)[i] * width, rng.random(count)[i] * wrap
    # Each light also drifts once across the width per period, left or right: the copies of
    # one light then spread over the frame instead of rising in a column.
    drift = rng.choice([-1.0, 1.0], count)[i] * (width + 2 * margin)
    sway = unit * 30 * rng.random(count)[i]
    phase = rng.random(count)[i] * 2 * np.pi

    def disc(d: np.ndarray, r: float) -> np.ndarray:
        # A flat disc with a brighter rim, like an out-of-focus light through a lens. Flat
        # areas matter: run-length coding stores a constant run in a few bytes.
        edge = np.clip((r - d) / 1.2 + 0.5, 0, 1)
        rim = np.where(d > r * 0.86, 1.0, 0.72)
        return edge * rim

    sprites = _Sprites(disc)

    def paint(frame: int) -> Alpha:
        alpha = np.zeros((height, width), dtype=np.float32)
        t = frame / setup.fps + parts["offset_s"]
        ys = wrap - (y0 + wrap * t / parts["period_s"]) % wrap - margin  # rising
        across = (x0 + drift * t / parts["period_s"]) % (width + 2 * margin) - margin
        xs = across + sway * np.sin(2 * np.pi * t / parts["period_s"] + phase)
        for n, (x, y) in enumerate(zip(xs, ys, strict=True)):
            light = i[n]
            _stamp(alpha, sprites.get(radius[light], 0, 0), int(x), int(y), strength[light])
        return alpha

    return paint


def _vignette(setup: Setup) -> Painter:
    width, height = setup.size
    ys = np.linspace(-1.0, 1.0, height, dtype=np.float32)[:, None]
    xs = np.linspace(-1.0, 1.0, width, dtype=np.float32)[None, :]
    distance = np.sqrt(xs**2 + ys**2) / np.sqrt(2.0)  # 0 at the centre, 1 in the corners
    alpha = np.clip((distance - 0.45) / 0.55, 0, 1) ** 1.8 * setup.params.opacity
    alpha = alpha.astype(np.float32)
    return lambda frame: alpha


# The effect table: a theme's `effect` → its painter. An effect missing here has no clip.
PAINTERS: dict[str, Callable[[Setup], Painter]] = {
    "snow": _snow,
    "sparkles": _sparkles,
    "bokeh": _bokeh,
    "vignette": _vignette,
}
