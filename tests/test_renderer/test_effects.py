"""Effect overlays: looping masks, made once and cached; grain as a filter."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest

import themes
from renderer import effects
from renderer.types import RenderError
from themes import load_theme

SIZE = (180, 320)
FPS = 10


def decode(ffmpeg: str, clip: effects.EffectClip, frames: int) -> np.ndarray:
    """The mask's first `frames` frames as alpha (luma plane), decoded by FFmpeg as the
    renderer reads them; the chroma rows below are checked to be the 2x2 average."""
    result = subprocess.run(
        [ffmpeg, "-v", "error", "-i", str(clip.path), "-frames:v", str(frames),
         "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1"],
        capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    stacked = np.frombuffer(result.stdout, dtype=np.uint8)
    stacked = stacked.reshape(-1, clip.mask_height, clip.width)
    luma = stacked[:, : clip.height]
    blocks = luma.reshape(-1, clip.height // 2, 2, clip.width // 2, 2).astype(int)
    average = (blocks.sum(axis=(2, 4)) + 2) // 4
    np.testing.assert_array_equal(stacked[:, clip.height :, : clip.width // 2], average)
    return luma


def probe(ffmpeg: str, clip: Path) -> str:
    result = subprocess.run(
        [ffmpeg, "-hide_banner", "-i", str(clip)], capture_output=True, timeout=60
    )
    return result.stderr.decode(errors="replace")


def test_snow_clip_has_alpha_moves_and_is_white(ffmpeg, tmp_path):
    theme = load_theme("winter")
    clip = effects.effect_clip(theme, SIZE, FPS, tmp_path, ffmpeg)
    assert clip is not None and clip.path.is_file() and clip.path.parent == tmp_path
    info = probe(ffmpeg, clip.path)
    # Grey pictures, no conversion when decoded: the luma alpha with the chroma alpha below.
    assert "tiff" in info and "gray" in info and "180x480" in info
    assert clip.colour == (255, 255, 255) and not clip.static
    frames = decode(ffmpeg, clip, 12)
    assert len(frames) == 12
    first, later = frames[0], frames[8]
    # Mostly transparent, with opaque flakes.
    assert (first == 0).mean() > 0.8
    assert (first > 128).sum() >= 10
    # The flakes move: the alpha masks of two frames differ in many places.
    moved = np.abs(first.astype(int) - later.astype(int)) > 64
    assert moved.sum() >= 20
    # Falling: frame 1 matches frame 0 best when shifted down, not up or not at all.
    before, after = frames[0].astype(float), frames[1].astype(float)
    height = before.shape[0]
    scores = {
        dy: float(
            (
                before[max(0, -dy) : height - max(0, dy)] * after[max(0, dy) : height - max(0, -dy)]
            ).sum()
        )
        for dy in range(-8, 13)
    }
    assert max(scores, key=scores.get) > 0


def test_snow_loops_seamlessly(ffmpeg, tmp_path):
    theme = load_theme("winter")
    frame_count = round(theme.effect_params.loop_s * FPS)
    clip = effects.effect_clip(theme, SIZE, FPS, tmp_path, ffmpeg)
    assert clip.frames == frame_count
    frames = decode(ffmpeg, clip, frame_count + 5)
    assert len(frames) == frame_count  # the file holds exactly one loop
    # The frame after the last is the first again: the painter is periodic in the loop.
    painter = effects._painter(theme, SIZE, FPS)
    first = painter(0).copy()  # a painter reuses its frame
    np.testing.assert_allclose(painter(frame_count), first, atol=1e-2)
    assert not np.allclose(painter(1), first, atol=1)
    step = np.abs(frames[-1].astype(int) - frames[0].astype(int)).mean()
    typical = np.abs(frames[1].astype(int) - frames[0].astype(int)).mean()
    assert step < typical * 3  # wrapping around is no bigger a jump than any other step


@pytest.mark.parametrize("name", ["neon", "sunset", "bold"])
def test_other_overlays_render(ffmpeg, tmp_path, name):
    theme = load_theme(name)
    clip = effects.effect_clip(theme, SIZE, FPS, tmp_path, ffmpeg)
    assert clip is not None
    frames = decode(ffmpeg, clip, 6)
    assert frames.max() > 40  # something visible
    assert (frames[0] < 255).mean() > 0.5  # and the video shows through
    assert clip.colour == themes.rgb(theme.effect_params.colour) or clip.colour == (0, 0, 0)
    if theme.effect in ("sparkles", "bokeh"):
        assert len(frames) == 6 and not np.array_equal(frames[0], frames[5])
    if theme.effect == "vignette":
        # Static: one frame, looped by the graph; black, dark in the corners only.
        assert clip.static and len(frames) == 1 and clip.colour == (0, 0, 0)
        corner, centre = frames[0, 0, 0], frames[0, SIZE[1] // 2, SIZE[0] // 2]
        assert corner > 60 and centre == 0


def test_clip_is_cached_and_not_remade(ffmpeg, tmp_path):
    theme = load_theme("winter")
    clip = effects.effect_clip(theme, SIZE, FPS, tmp_path, ffmpeg)
    stamp = clip.path.stat().st_mtime_ns
    # A second call does not run FFmpeg at all: a missing binary would fail otherwise.
    again = effects.effect_clip(theme, SIZE, FPS, tmp_path, "/nonexistent/ffmpeg")
    assert again == clip and clip.path.stat().st_mtime_ns == stamp
    # Another size, fps or effect setting is another clip.
    other = effects.effect_clip(theme, (160, 284), FPS, tmp_path, ffmpeg)
    assert other.path != clip.path
    assert effects.cache_key(theme, SIZE, FPS) != effects.cache_key(theme, SIZE, FPS + 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([clip.path.name, other.path.name])


def test_concurrent_makers_leave_one_whole_clip(ffmpeg, tmp_path):
    theme = load_theme("neon")
    results: list[effects.EffectClip | None] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(effects.effect_clip(theme, SIZE, FPS, tmp_path, ffmpeg))
        )
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 3 and len(set(results)) == 1
    # No temporary files left.
    assert [p.name for p in tmp_path.iterdir()] == [results[0].path.name]
    assert len(decode(ffmpeg, results[0], 3)) == 3


def test_failure_is_a_render_error_and_leaves_nothing(tmp_path):
    theme = load_theme("winter")
    with pytest.raises(RenderError, match="cannot run FFmpeg"):
        effects.effect_clip(theme, SIZE, FPS, tmp_path, str(tmp_path / "no-ffmpeg"))
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(RenderError, match="effect overlay failed"):
        effects.effect_clip(theme, SIZE, FPS, tmp_path, "false")
    assert list(tmp_path.iterdir()) == []


def test_themes_without_an_overlay(tmp_path):
    for name in ("default", "minimal", "editorial"):
        theme = load_theme(name)
        assert effects.effect_clip(theme, SIZE, FPS, tmp_path, "/nonexistent") is None
    assert list(tmp_path.iterdir()) == []
    grain = effects.effect_filter(load_theme("editorial"))
    assert grain is not None and grain.startswith("noise=")
    assert effects.effect_filter(load_theme("winter")) is None


def test_grain_filter_runs_in_ffmpeg(ffmpeg):
    grain = effects.effect_filter(load_theme("editorial"))
    result = subprocess.run(
        [ffmpeg, "-v", "error", "-f", "lavfi", "-i", "color=c=gray:s=64x64:d=0.2:r=10",
         "-vf", grain, "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1"],
        capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    frames = np.frombuffer(result.stdout, dtype=np.uint8).reshape(-1, 64, 64)
    assert frames.std() > 2  # grainy, where the input was flat grey
    assert not np.array_equal(frames[0], frames[1])  # and it changes every frame


def test_effect_frame_previews_every_effect():
    for name in ("winter", "neon", "sunset", "bold", "editorial"):
        frame = effects.effect_frame(load_theme(name), SIZE)
        assert frame is not None and frame.mode == "RGBA" and frame.size == SIZE
        assert np.asarray(frame)[..., 3].max() > 0
    assert effects.effect_frame(load_theme("default"), SIZE) is None
