"""Effect overlays: falling snow, sparkles, bokeh and a vignette, as seamlessly looping masks.

An effect is one colour shown through a moving alpha mask. The graph composites it with
`maskedmerge` of [video][a frame of the colour][mask], all yuv420p, so the mask must reach the
graph as yuv420p planes with no per-frame pixel-format conversion (converting a clip with alpha
to yuva420p cost ten times the blend itself). Each mask frame is therefore stored as one grey
picture, the luma plane's alpha (W x H) on top and the chroma planes' alpha (W/2 x H/2, the 2x2
average, as a yuv420p blend uses) below it at the left; the graph crops the two apart and merges
them into planes, which copies nothing per pixel it does not have to. The pictures are TIFF with
PackBits run-length coding in Matroska: mostly-transparent grey frames shrink to little and decode
as gray8 with no conversion, in a third of the time run-length TGA of the same size takes (the
mask's decode is the largest part of an effect theme's composition). A static effect (the
vignette) is one frame, looped by the graph.

A mask is made once per (effect, its parameters, size, fps) and kept in the cache dir under a
content key; it is written to a temporary name and renamed into place, so concurrent workers
never read half a file. Film grain is noise that no codec compresses, so it is an FFmpeg filter
instead: `effect_filter(theme)`. The drawing itself is in `renderer.painters`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from renderer import cache_files
from renderer.painters import PAINTERS, STATIC, Clear, Painter, Setup
from renderer.types import RenderError
from themes import Theme, rgb

# Bump when drawing or the mask's layout changes, so cached masks from an older one are unused.
EFFECT_VERSION = 8
# The particles' random layout is seeded as version 6 drew it: a new way of storing the mask
# must not move a theme's snowflakes.
SEED_VERSION = 6
ENCODE_TIMEOUT_S = 300.0
# A mask's file name starts with its version, so masks an earlier version made can be found
# (and removed: `stale_masks`) without reading them.
MASK_KIND = "effect"
MASK_PREFIX = cache_files.prefix(MASK_KIND, EFFECT_VERSION)
# Masks named before their names carried a version: effect-snow-1080x1920-30fps-<key>.mkv.
LEGACY_MASK = re.compile(r"effect-[a-z]+-\d+x\d+-\d+fps-[0-9a-f]{16}\.mkv")


@dataclass(frozen=True)
class EffectClip:
    """A cached effect mask and how to show it.

    `path` holds `frames` stacked grey frames of `width` x `mask_height`: luma alpha in rows
    [0, height), chroma alpha (chroma_width x chroma_height) in the rows below, at the left.
    Frame n of a video shows mask frame n % frames. `colour` is shown where the mask is set.
    """

    path: Path
    width: int
    height: int
    frames: int
    static: bool
    colour: tuple[int, int, int]

    @property
    def chroma_width(self) -> int:
        return (self.width + 1) // 2

    @property
    def chroma_height(self) -> int:
        return (self.height + 1) // 2

    @property
    def mask_height(self) -> int:
        return self.height + self.chroma_height


# ---------------------------------------------------------------- public surface


def effect_clip(
    theme: Theme, size: tuple[int, int], fps: int, cache_dir: Path, ffmpeg: str
) -> EffectClip | None:
    """The theme's effect as a looping mask, or None when it has none (or is a filter).

    The mask is a cached `.mkv`, made on first use, atomically.
    """
    clip = describe(theme, size, fps, cache_dir)
    if clip is None:
        return None
    if clip.path.is_file():
        cache_files.mark_used(clip.path)
        return clip
    clip.path.parent.mkdir(parents=True, exist_ok=True)
    painter = _painter(theme, size, fps)
    _encode(painter, clip, fps, ffmpeg)
    return clip


def describe(theme: Theme, size: tuple[int, int], fps: int, cache_dir: Path) -> EffectClip | None:
    """Where the theme's mask lives and what it holds, without making it."""
    if theme.effect not in PAINTERS:
        return None
    width, height = size
    key = cache_key(theme, size, fps)
    name = f"{MASK_PREFIX}{theme.effect}-{width}x{height}-{fps}fps-{key}.mkv"
    return EffectClip(
        path=Path(cache_dir) / name,
        width=width,
        height=height,
        frames=_frame_count(theme, fps),
        static=theme.effect in STATIC,
        colour=_colour(theme),
    )


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
    painter = _painter(theme, size, fps)
    return Image.fromarray(_rgba(painter(round(t * fps) % frames), _colour(theme)))


def frames_of(theme: Theme, size: tuple[int, int], fps: int) -> Iterator[np.ndarray]:
    """Every frame of the loop as RGBA arrays (for tests and previews); empty for no effect."""
    if theme.effect not in PAINTERS:
        return
    frames = _frame_count(theme, fps)
    painter = _painter(theme, size, fps)
    for index in range(frames):
        yield _rgba(painter(index), _colour(theme))


def stale_masks(cache_dir: Path) -> list[Path]:
    """The masks in `cache_dir` an earlier EFFECT_VERSION made that nothing has used for a
    while (`renderer.cache_files`): no render of this version reads them."""
    return cache_files.stale_files(cache_dir, MASK_KIND, EFFECT_VERSION, LEGACY_MASK)


def cache_key(theme: Theme, size: tuple[int, int], fps: int) -> str:
    """Content key of a mask: the effect, its parameters, the size and fps, and the version."""
    return _key(theme, size, fps, EFFECT_VERSION)


# ---------------------------------------------------------------- drawing


def _key(theme: Theme, size: tuple[int, int], fps: int, version: int) -> str:
    material = {
        "version": version,
        "effect": theme.effect,
        "params": asdict(theme.effect_params),
        "size": list(size),
        "fps": fps,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:16]


def _loop_frames(theme: Theme, fps: int) -> int:
    return max(2, round(theme.effect_params.loop_s * fps))


def _frame_count(theme: Theme, fps: int) -> int:
    """Frames stored: a static effect keeps one, looped by the graph."""
    return 1 if theme.effect in STATIC else _loop_frames(theme, fps)


def _colour(theme: Theme) -> tuple[int, int, int]:
    return (0, 0, 0) if theme.effect == "vignette" else rgb(theme.effect_params.colour)


def _painter(theme: Theme, size: tuple[int, int], fps: int) -> Painter:
    # Seeded from the drawing's content: the same theme and size always draw the same clip.
    rng = np.random.default_rng(int(_key(theme, size, fps, SEED_VERSION), 16) % 2**63)
    setup = Setup(size, _loop_frames(theme, fps), fps, theme.effect_params, rng)
    return PAINTERS[theme.effect](setup)


def _rgba(clear: Clear, colour: tuple[int, int, int]) -> np.ndarray:
    """RGBA pixels, (height, width, 4) uint8: `colour` everywhere, covering as `clear` says."""
    pixels = np.empty((*clear.shape, 4), dtype=np.uint8)
    pixels[..., :3] = colour
    np.subtract(255.5, clear, out=pixels[..., 3], casting="unsafe")  # truncated: rounded
    return pixels


class _MaskFrame:
    """The stacked grey picture of one mask frame, its buffer reused from frame to frame."""

    def __init__(self, clip: EffectClip):
        self._height, self._chroma_width = clip.height, clip.chroma_width
        self.pixels = np.zeros((clip.mask_height, clip.width), dtype=np.uint8)
        self._odd = clip.width % 2 or clip.height % 2

    def fill(self, clear: Clear) -> memoryview:
        luma = self.pixels[: self._height]
        # 255.5 - clear, truncated to uint8 as it is written: alpha * 255, rounded, one pass.
        np.subtract(255.5, clear, out=luma, casting="unsafe")
        even = self._padded(luma) if self._odd else luma
        rows = np.add(even[0::2], even[1::2], dtype=np.uint16)
        blocks = rows[:, 0::2] + rows[:, 1::2]
        blocks += 2
        blocks >>= 2
        self.pixels[self._height :, : self._chroma_width] = blocks
        return self.pixels.data  # written as it is: no copy of the picture

    @staticmethod
    def _padded(luma: np.ndarray) -> np.ndarray:
        """An odd-sized plane with its last row and column repeated, so 2x2 blocks cover it."""
        height, width = luma.shape
        return np.pad(luma, ((0, height % 2), (0, width % 2)), mode="edge")


def _encode(painter: Painter, clip: EffectClip, fps: int, ffmpeg: str) -> None:
    out = clip.path
    tmp = out.with_name(f".{out.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp.mkv")
    command = [
        ffmpeg, "-hide_banner", "-loglevel", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", "gray", "-s", f"{clip.width}x{clip.mask_height}",
        "-r", str(fps), "-i", "pipe:0",
        "-c:v", "tiff", "-compression_algo", "packbits", "-f", "matroska", str(tmp),
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
            _write_frames(process, painter, clip)
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


def _write_frames(process: subprocess.Popen[bytes], painter: Painter, clip: EffectClip) -> None:
    assert process.stdin is not None
    frame = _MaskFrame(clip)
    # A broken pipe means FFmpeg exited early; its stderr says why.
    with contextlib.suppress(BrokenPipeError):
        for index in range(clip.frames):
            process.stdin.write(frame.fill(painter(index)))
    with contextlib.suppress(BrokenPipeError):
        process.stdin.close()
