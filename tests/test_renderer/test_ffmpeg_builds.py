"""Both FFmpeg builds are first-class: every built-in theme renders on Debian's FFmpeg (on PATH)
and on the bundled one, to the same frames.

The rest of the suite runs on whichever build "auto" picks (REELFARM_FFMPEG=system or bundled
runs all of it on one); this module renders each theme on both, so a filter or option that one
build lacks, or treats differently, fails here whatever the suite ran on.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import themes
from renderer.ffmpeg import find_ffmpeg
from tests.support import media as mediatools

FPS = 15
SCENE_S = 0.6


def _builds() -> list[str]:
    return [build for build in ("system", "bundled") if _present(build)]


def _present(build: str) -> bool:
    return build == "bundled" or shutil.which("ffmpeg") is not None


def _blocks(frames: np.ndarray, size: int = 8) -> np.ndarray:
    """Each frame as the means of its size x size blocks, (N, H/size, W/size, 3)."""
    count, height, width, _ = frames.shape
    cropped = frames[:, : height // size * size, : width // size * size].astype(np.float32)
    return cropped.reshape(count, height // size, size, width // size, size, 3).mean(axis=(2, 4))


def _theme_reel(theme: str, assets) -> dict:
    """Every layer a theme styles: its background, a photo with motion, the clip, its
    transitions between each, its text entrance and its effect."""
    return {
        "theme": theme,
        "fps": FPS,
        "scenes": [
            {"type": "title", "title": "Builds", "subtitle": theme, "duration": SCENE_S},
            {
                "type": "image",
                "src": str(assets / "coffee.jpg"),
                "motion": "zoom-in",
                "caption": "A caption",
                "duration": SCENE_S,
            },
            {"type": "video", "src": str(assets / "clip-mandelbrot.mp4"), "duration": SCENE_S},
            {"type": "outro", "title": "Thanks", "duration": SCENE_S},
        ],
    }


@pytest.fixture(scope="module")
def builds() -> dict[str, str]:
    if "system" not in _builds():
        pytest.skip("Debian's FFmpeg is not on PATH (apt-get install ffmpeg; .ci/run does)")
    return {build: find_ffmpeg(build).path for build in _builds()}


@pytest.mark.parametrize("theme", themes.list_themes())
def test_every_theme_renders_the_same_frames_on_both_builds(
    theme, builds, render_spec, shared_assets
):
    spec = _theme_reel(theme, shared_assets)
    rendered = {build: render_spec(spec, ffmpeg=path) for build, path in builds.items()}
    expected = round(4 * SCENE_S * FPS)  # transitions overlap scenes, not the timeline
    frames = {}
    for build, result in rendered.items():
        info = mediatools.probe(result.video)
        assert result.result.frames == mediatools.count_frames(result.video), build
        assert result.result.frames == expected, build
        assert info.duration_s == pytest.approx(expected / FPS, abs=0.1), build
        frames[build] = _blocks(mediatools.all_frames(result.video))
    error = np.abs(frames["system"] - frames["bundled"]).mean(axis=(1, 2, 3))
    # Two x264 builds never encode bit-identically, and two swscale versions alias a fractal
    # differently pixel by pixel; over 8x8 blocks a missing or misplaced layer shows as tens.
    assert error.max() < 10, f"{theme}: frames differ by up to {error.max():.1f} between builds"


def test_the_sound_runs_to_the_last_frame_on_both_builds(builds, render_spec, shared_assets):
    """The music fades out to the video's last frame on both builds: the encoder's last
    frames of sound are not cut off when the video's frames run out."""
    titles = [{"type": "title", "title": str(i), "duration": 0.5} for i in range(4)]
    titles[1]["voiceover"] = str(shared_assets / "voiceover.m4a")
    spec = {"scenes": titles, "audio": {"music": str(shared_assets / "music.m4a")}}
    for build, path in builds.items():
        rendered = render_spec(spec, ffmpeg=path)
        length_s = len(mediatools.pcm(rendered.video)) / 16_000
        assert length_s == pytest.approx(2.0, abs=0.002), f"{build}: the sound lasts {length_s} s"
