"""Effect overlays: falling snow, sparkles, bokeh and a vignette as seamlessly looping clips.

Each frame is drawn in numpy as an alpha mask over one colour and piped raw to FFmpeg, which
stores it as QuickTime RLE with alpha (`qtrle`, `argb`): mostly-transparent frames compress to
little and decode faster than any other codec with alpha. The renderer reads the clip with
`-stream_loop -1` and overlays it on the whole video. A clip is made once per (effect, its
parameters, size, fps) and kept in the cache dir under a content key; it is written to a
temporary name and renamed into place, so concurrent workers never read half a file.

Film grain is noise that no codec compresses, so it is an FFmpeg filter instead:
`effect_filter(theme)`.

Loops are seamless by construction: every moving particle has a period that divides the loop
length (a slow snowflake is several copies of one particle, each a loop length apart in time).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from renderer.types import RenderError
from themes import EffectParams, Theme, rgb

# Bump when drawing changes, so cached clips from an older version are not reused.
EFFECT_VERSION = 6
ENCODE_TIMEOUT_S = 300.0

Alpha = np.ndarray  # float32 (height, width), 0…1
Painter = Callable[[int], Alpha]  # frame index → alpha


@dataclass(frozen=True)
class _Setup:
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


# ---------------------------------------------------------------- public surface


def overlay_clip(
    theme: Theme, size: tuple[int, int], fps: int, cache_dir: Path, ffmpeg: str
) -> Path | None:
    """The theme's effect as a looping clip with alpha, or None when it has none (or a filter).

    Returns the path of a cached `.mov`; made on first use, atomically.
    """
    if theme.effect not in _PAINTERS:
        return None
    width, height = size
    key = cache_key(theme, size, fps)
    out = Path(cache_dir) / f"effect-{theme.effect}-{width}x{height}-{fps}fps-{key}.mov"
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    frames = _frame_count(theme, fps)
    painter = _painter(theme, size, fps, frames, key)
    _encode(painter, frames, size, fps, _colour(theme), out, ffmpeg)
    return out


def effect_filter(theme: Theme) -> str | None:
    """An FFmpeg filter for effects done by filters (film grain), else None.

    Apply it to the composed video before encoding, e.g. `...,noise=alls=12:allf=t+u`.
    """
    if theme.effect != "grain":
        return None
    strength = max(1, round(30 * theme.effect_params.opacity))
    return f"noise=alls={strength}:allf=t+u"


def effect_frame(theme: Theme, size: tuple[int, int], t: float = 0.0) -> Image.Image | None:
    """One frame of the effect as RGBA (for previews and contact sheets), or None."""
    if theme.effect == "grain":
        rng = np.random.default_rng(7)
        noise = rng.normal(0.0, 1.0, (size[1], size[0])).astype(np.float32)
        alpha = np.clip(np.abs(noise) * 0.12 * theme.effect_params.opacity, 0, 1)
        grey = np.where(noise > 0, 255, 0).astype(np.uint8)
        pixels = np.dstack([grey, grey, grey, (alpha * 255).astype(np.uint8)])
        return Image.fromarray(pixels)
    if theme.effect not in _PAINTERS:
        return None
    fps = 30
    frames = _frame_count(theme, fps)
    painter = _painter(theme, size, fps, frames, cache_key(theme, size, fps))
    return Image.fromarray(_rgba(painter(round(t * fps) % frames), _colour(theme)))


def cache_key(theme: Theme, size: tuple[int, int], fps: int) -> str:
    """Content key of a clip: the effect, its parameters, the size and fps, and the version."""
    material = {
        "version": EFFECT_VERSION,
        "effect": theme.effect,
        "params": asdict(theme.effect_params),
        "size": list(size),
        "fps": fps,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:16]


# ---------------------------------------------------------------- encoding


def _frame_count(theme: Theme, fps: int) -> int:
    if theme.effect == "vignette":  # static: one second of identical frames costs nothing
        return max(1, fps)
    return max(2, round(theme.effect_params.loop_s * fps))


def _colour(theme: Theme) -> tuple[int, int, int]:
    return (0, 0, 0) if theme.effect == "vignette" else rgb(theme.effect_params.colour)


def _rgba(alpha: Alpha, colour: tuple[int, int, int]) -> np.ndarray:
    """RGBA pixels, (height, width, 4) uint8: `colour` everywhere, `alpha` as the alpha."""
    # One 32-bit word per pixel (R in the low byte: RGBA in memory order on a little-endian
    # machine) is several times faster than filling a strided channel view.
    red, green, blue = colour
    if sys.byteorder != "little":
        pixels = np.empty((*alpha.shape, 4), dtype=np.uint8)
        pixels[..., :3] = colour
        pixels[..., 3] = np.clip(alpha * 255 + 0.5, 0, 255).astype(np.uint8)
        return pixels
    base = np.uint32(red | green << 8 | blue << 16)
    level = np.multiply(alpha, 255.0, dtype=np.float32)
    level += 0.5
    words = level.astype(np.uint8).astype(np.uint32)
    words <<= 24
    words |= base
    return words.view(np.uint8).reshape(*alpha.shape, 4)


def _encode(
    painter: Painter,
    frames: int,
    size: tuple[int, int],
    fps: int,
    colour: tuple[int, int, int],
    out: Path,
    ffmpeg: str,
) -> None:
    width, height = size
    tmp = out.with_name(f".{out.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp.mov")
    command = [
        ffmpeg, "-hide_banner", "-loglevel", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", "rgba", "-s", f"{width}x{height}", "-r", str(fps),
        "-i", "pipe:0",
        "-c:v", "qtrle", "-pix_fmt", "argb", "-f", "mov", str(tmp),
    ]  # fmt: skip
    # stderr goes to a file: a pipe nobody reads while frames are written could fill and stall.
    with tempfile.TemporaryFile() as errors:
        try:
            process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors
            )
        except OSError as exc:
            raise RenderError(f"cannot run FFmpeg for the {out.stem} overlay: {exc}") from None
        try:
            assert process.stdin is not None
            # A broken pipe means FFmpeg exited early; its stderr says why.
            with contextlib.suppress(BrokenPipeError):
                for index in range(frames):
                    process.stdin.write(_rgba(painter(index), colour).tobytes())
            with contextlib.suppress(BrokenPipeError):
                process.stdin.close()
            returncode = process.wait(timeout=ENCODE_TIMEOUT_S)
            if returncode != 0 or not tmp.is_file():
                errors.seek(0)
                lines = errors.read().decode(errors="replace").strip().splitlines()
                detail = lines[-1] if lines else f"exit status {returncode}"
                raise RenderError(f"making the effect overlay failed: {detail}")
            os.replace(tmp, out)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            if process.stdin is not None and not process.stdin.closed:
                with contextlib.suppress(BrokenPipeError):
                    process.stdin.close()
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


# ---------------------------------------------------------------- painters


def _painter(theme: Theme, size: tuple[int, int], fps: int, frames: int, key: str) -> Painter:
    # Seeded from the content key: the same theme and size always draw the same clip.
    rng = np.random.default_rng(int(key, 16) % 2**63)
    return _PAINTERS[theme.effect](_Setup(size, frames, fps, theme.effect_params, rng))


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


def _periodic_particles(setup: _Setup, count: int, fall_s: np.ndarray) -> dict[str, np.ndarray]:
    """Particles crossing the frame in about `fall_s` seconds, looping exactly.

    A particle whose crossing takes m loop lengths is drawn as m copies spaced one loop apart
    in time: frame t then shows the same set of positions as frame t + loop.
    """
    loop = setup.loop_s
    copies = np.maximum(1, np.round(fall_s / loop)).astype(int)
    index = np.repeat(np.arange(count), copies)
    copy = np.concatenate([np.arange(m) for m in copies])
    return {"index": index, "offset_s": copy * loop, "period_s": copies[index] * loop}


def _snow(setup: _Setup) -> Painter:
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


def _sparkles(setup: _Setup) -> Painter:
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


def _bokeh(setup: _Setup) -> Painter:
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


def _vignette(setup: _Setup) -> Painter:
    width, height = setup.size
    ys = np.linspace(-1.0, 1.0, height, dtype=np.float32)[:, None]
    xs = np.linspace(-1.0, 1.0, width, dtype=np.float32)[None, :]
    distance = np.sqrt(xs**2 + ys**2) / np.sqrt(2.0)  # 0 at the centre, 1 in the corners
    alpha = np.clip((distance - 0.45) / 0.55, 0, 1) ** 1.8 * setup.params.opacity
    alpha = alpha.astype(np.float32)
    return lambda frame: alpha


_PAINTERS: dict[str, Callable[[_Setup], Painter]] = {
    "snow": _snow,
    "sparkles": _sparkles,
    "bokeh": _bokeh,
    "vignette": _vignette,
}


def frames_of(theme: Theme, size: tuple[int, int], fps: int) -> Iterator[np.ndarray]:
    """Every frame of the loop as RGBA arrays (for tests and previews); empty for no effect."""
    if theme.effect not in _PAINTERS:
        return
    frames = _frame_count(theme, fps)
    painter = _painter(theme, size, fps, frames, cache_key(theme, size, fps))
    for index in range(frames):
        yield _rgba(painter(index), _colour(theme))
