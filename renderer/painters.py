"""The effects drawn as clips, one painter each: falling snow, sparkles, bokeh, a vignette.

A painter turns a frame index into how much of the video shows through each pixel: 255 where
the effect leaves the video alone, 0 where it covers it; float32, `255 * (1 - alpha)`. Loops
are seamless by construction: every moving particle has a period that divides the loop length
(a slow snowflake is several copies of one particle, each a loop length apart in time).

Sprites add like light: a pixel under sprites of alpha s1, s2, … ends at 1 - (1-s1)(1-s2)….
Painting what shows through makes each sprite a single in-place multiply by its precomputed
(1 - strength * sprite): one numpy call per sprite, in any order. Kept at 0…255, it becomes
the 8-bit mask in one pass (`255.5 - clear`, truncated).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from themes import EffectParams

Clear = np.ndarray  # float32 (height, width), 0…255: 255 * (1 - alpha)
# frame index → what shows through; the array is reused by the painter's next call.
Painter = Callable[[int], Clear]


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


class _Canvas:
    """One frame of what shows through, reused from frame to frame."""

    def __init__(self, size: tuple[int, int]):
        width, height = size
        self.width, self.height = width, height
        self.pixels = np.full((height, width), 255.0, dtype=np.float32)

    def clear(self) -> None:
        self.pixels.fill(255.0)

    def stamp(self, filter_: np.ndarray, cx: int, cy: int) -> None:
        """Multiply `filter_` (1 - strength * sprite, centred on cx, cy) into the frame."""
        side_y, side_x = filter_.shape
        x0, y0 = cx - side_x // 2, cy - side_y // 2
        x1, y1 = x0 + side_x, y0 + side_y
        if x0 >= 0 and y0 >= 0 and x1 <= self.width and y1 <= self.height:
            self.pixels[y0:y1, x0:x1] *= filter_
            return
        sx0, sy0 = max(0, -x0), max(0, -y0)
        sx1, sy1 = side_x - max(0, x1 - self.width), side_y - max(0, y1 - self.height)
        if sx1 > sx0 and sy1 > sy0:
            self.pixels[y0 + sy0 : y0 + sy1, x0 + sx0 : x0 + sx1] *= filter_[sy0:sy1, sx0:sx1]


class _Filters:
    """Per particle and sprite, 1 - strength * sprite: what a stamp multiplies in."""

    def __init__(self, sprites: Callable[[int, float, float], np.ndarray], strength: np.ndarray):
        self._sprites = sprites
        self._strength = strength
        self._cache: dict[tuple[int, float, float], np.ndarray] = {}

    def get(self, particle: int, fx: float, fy: float) -> np.ndarray:
        key = (particle, round(fx * 4) / 4, round(fy * 4) / 4)
        found = self._cache.get(key)
        if found is None:
            sprite = self._sprites(particle, fx, fy)
            found = 1.0 - sprite * np.float32(self._strength[particle])
            self._cache[key] = found
        return found


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
    filters = _Filters(lambda flake, fx, fy: sprites.get(radius[flake], fx, fy), strength)
    canvas = _Canvas(setup.size)
    flakes = i.tolist()

    def paint(frame: int) -> Clear:
        canvas.clear()
        t = frame / setup.fps + parts["offset_s"]
        ys = (y0 + wrap * t / parts["period_s"]) % wrap - margin
        # No wrapping sideways: a flake swaying past an edge would pop up at the other one.
        xs = x0 + sway * np.sin(2 * np.pi * cycles * t / parts["period_s"] + phase)
        cxs, cys = xs.astype(int), ys.astype(int)  # truncation, as int() of each
        fxs, fys = (xs - cxs).tolist(), (ys - cys).tolist()
        for flake, cx, cy, fx, fy in zip(flakes, cxs.tolist(), cys.tolist(), fxs, fys, strict=True):
            canvas.stamp(filters.get(flake, fx, fy), cx, cy)
        return canvas.pixels

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
    cxs, cys = xs.astype(int).tolist(), ys.astype(int).tolist()
    canvas = _Canvas(setup.size)

    def paint(frame: int) -> Clear:
        canvas.clear()
        t = frame / setup.frames
        glow = (0.5 + 0.5 * np.sin(2 * np.pi * twinkles * t + phase)) ** 3
        strength = (params.opacity * glow).astype(np.float32)
        # Every glint's brightness changes every frame: its filter is made for this frame.
        for n in np.flatnonzero(glow > 0.02).tolist():
            canvas.stamp(1.0 - stars[n] * strength[n], cxs[n], cys[n])
        return canvas.pixels

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
        # A flat disc with a brighter rim, like an out-of-focus light through a lens.
        edge = np.clip((r - d) / 1.2 + 0.5, 0, 1)
        rim = np.where(d > r * 0.86, 1.0, 0.72)
        return edge * rim

    sprites = _Sprites(disc)
    filters = _Filters(lambda light, fx, fy: sprites.get(radius[light], 0, 0), strength)
    canvas = _Canvas(setup.size)
    lights = i.tolist()

    def paint(frame: int) -> Clear:
        canvas.clear()
        t = frame / setup.fps + parts["offset_s"]
        ys = wrap - (y0 + wrap * t / parts["period_s"]) % wrap - margin  # rising
        across = (x0 + drift * t / parts["period_s"]) % (width + 2 * margin) - margin
        xs = across + sway * np.sin(2 * np.pi * t / parts["period_s"] + phase)
        cxs, cys = xs.astype(int).tolist(), ys.astype(int).tolist()
        for light, cx, cy in zip(lights, cxs, cys, strict=True):
            canvas.stamp(filters.get(light, 0, 0), cx, cy)
        return canvas.pixels

    return paint


def _vignette(setup: Setup) -> Painter:
    width, height = setup.size
    ys = np.linspace(-1.0, 1.0, height, dtype=np.float32)[:, None]
    xs = np.linspace(-1.0, 1.0, width, dtype=np.float32)[None, :]
    distance = np.sqrt(xs**2 + ys**2) / np.sqrt(2.0)  # 0 at the centre, 1 in the corners
    alpha = np.clip((distance - 0.45) / 0.55, 0, 1) ** 1.8 * setup.params.opacity
    clear = (255.0 * (1.0 - alpha)).astype(np.float32)
    return lambda frame: clear


# The effect table: a theme's `effect` → its painter. An effect missing here has no clip.
PAINTERS: dict[str, Callable[[Setup], Painter]] = {
    "snow": _snow,
    "sparkles": _sparkles,
    "bokeh": _bokeh,
    "vignette": _vignette,
}
# Effects whose every frame is the same: their clip is one frame, looped in the graph.
STATIC = frozenset({"vignette"})
