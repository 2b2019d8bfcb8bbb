"""A moving effect over a reel of moving scenes and transitions, on both FFmpeg builds: frame n
of the video is the frame the plan puts at n (the same reel rendered without the effect) under
frame n of the effect's loop; no scene frame shown late, none repeated."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import themes
from renderer import effects
from renderer.ffmpeg import find_ffmpeg
from tests.support import media as mediatools
from tests.test_renderer.conftest import TINY

# 1/15 s is no whole number of microseconds, so timestamps rounded on the way can drift.
FPS = 15
SCENE_S = 0.8
BUILDS = ["bundled", *(["system"] if shutil.which("ffmpeg") else [])]
MOVING_EFFECTS = ["sparkles", "snow", "bokeh"]


def _reel(theme: str, assets: Path) -> dict:
    """Three scenes that change every frame, joined by fades, in `theme`."""
    scenes = [
        {"type": "image", "src": str(assets / "coffee.jpg"), "motion": "zoom-in"},
        {"type": "video", "src": str(assets / "clip-mandelbrot.mp4")},
        {"type": "image", "src": str(assets / "cat.jpg"), "motion": "zoom-out"},
    ]
    return {
        "theme": theme,
        "fps": FPS,
        "transition": {"type": "fade", "duration": 0.3},
        "scenes": [{**scene, "duration": SCENE_S} for scene in scenes],
    }


def _theme_dir(path: Path, effect: str) -> Path:
    path.mkdir()
    for name, value in (("plain", "none"), ("moving", effect)):
        (path / f"{name}.toml").write_text(f'extends = "default"\neffect = "{value}"\n')
    return path


def _blocks(frames: np.ndarray, size: int = 8) -> np.ndarray:
    """Each frame as the means of its size x size blocks: what a viewer sees, not the codec."""
    count, height, width, _ = frames.shape
    cropped = frames[:, : height // size * size, : width // size * size]
    return cropped.reshape(count, height // size, size, width // size, size, 3).mean(axis=(2, 4))


def _under_effect(plain: np.ndarray, loop: list[np.ndarray]) -> np.ndarray:
    """The plain frames with loop frame n % len(loop) (RGBA) laid over frame n."""
    shown = np.empty_like(plain)
    for index, frame in enumerate(plain):
        rgba = loop[index % len(loop)].astype(np.float32)
        alpha = rgba[..., 3:] / 255
        shown[index] = frame + (rgba[..., :3] - frame) * alpha
    return shown


@pytest.mark.parametrize("build", BUILDS)
@pytest.mark.parametrize("effect", MOVING_EFFECTS)
def test_a_moving_effect_keeps_every_scene_frame_in_place(
    build, effect, render_spec, shared_assets, tmp_path
):
    theme_dirs = (_theme_dir(tmp_path / "themes", effect),)
    options = {"ffmpeg": find_ffmpeg(build).path, "theme_dirs": theme_dirs}
    plain = render_spec(_reel("plain", shared_assets), **options)
    moving = render_spec(_reel("moving", shared_assets), **options)
    expected = round(3 * SCENE_S * FPS)
    assert plain.result.frames == moving.result.frames == expected

    theme = themes.load_theme("moving", theme_dirs)
    loop = list(effects.frames_of(theme, TINY, FPS))
    wanted = _blocks(_under_effect(mediatools.all_frames(plain.video).astype(np.float32), loop))
    shown = _blocks(mediatools.all_frames(moving.video).astype(np.float32))
    assert len(shown) == expected
    error = np.abs(shown - wanted).mean(axis=(1, 2, 3))
    # A scene frame one step late differs here by 6 to 60 over 8x8 blocks (the photos zoom,
    # the clip and the fades change every frame); the codec's own loss stays under 3.
    late = [int(n) for n in np.nonzero(error >= 5)[0]]
    assert not late, f"{effect}: frames {late} differ by up to {error.max():.1f} from the plan"
