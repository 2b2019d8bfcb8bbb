"""Effect overlays: falling snow, sparkles, bokeh and a vignette as seamlessly looping clips.

Each frame is drawn in numpy as an alpha mask over one colour and piped raw to FFmpeg, which
stores it as QuickTime RLE with alpha (`qtrle`, `argb`): mostly-transparent frames compress to
little and decode faster than any other codec with alpha. The renderer reads the clip with
`-stream_loop -1` and overlays it on the whole video. A clip is made once per (effect, its
parameters, size, fps) and kept in the cache dir under a content key; it is written to a
temporary name and renamed into place, so concurrent workers never read half a file.

Film grain is noise that no codec compresses, so it is an FFmpeg filter instead:
`effect_filter(theme)`. The drawing itself is in `renderer.painters`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import numpy as np
from PIL import Image

from renderer.painters import PAINTERS, Alpha, Painter, Setup
from renderer.types import RenderError
from themes import Theme, rgb

# Bump when drawing changes, so cached clips from an older version are not reused.
EFFECT_VERSION = 6
ENCODE_TIMEOUT_S = 300.0


# ---------------------------------------------------------------- public surface


def overlay_clip(
    theme: Theme, size: tuple[int, int], fps: int, cache_dir: Path, ffmpeg: str
) -> Path | None:
    """The theme's effect as a looping clip with alpha, or None when it has none (or a filter).

    Returns the path of a cached `.mov`; made on first use, atomically.
    """
    if theme.effect not in PAINTERS:
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
    if theme.effect not in PAINTERS:
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
    return PAINTERS[theme.effect](Setup(size, frames, fps, theme.effect_params, rng))


def frames_of(theme: Theme, size: tuple[int, int], fps: int) -> Iterator[np.ndarray]:
    """Every frame of the loop as RGBA arrays (for tests and previews); empty for no effect."""
    if theme.effect not in PAINTERS:
        return
    frames = _frame_count(theme, fps)
    painter = _painter(theme, size, fps, frames, cache_key(theme, size, fps))
    for index in range(frames):
        yield _rgba(painter(index), _colour(theme))
