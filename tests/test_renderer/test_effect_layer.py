"""The effect composited by the graph: the blend an alpha overlay makes, on the video's own
timeline (a graph that renders frames k… of a video shows the effect frames a whole render
shows there), with both FFmpeg builds."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import ffmpeg as ffmpeg_python
import numpy as np
import pytest
from PIL import Image

import scenes
from renderer import effects
from renderer.graph.effect_layer import with_effect
from renderer.graph.inputs import Inputs
from renderer.graph.sources import AudioSources, GraphSources
from renderer.graph.streams import cfr, to_yuv
from renderer.plan import build_plan
from themes import load_theme

SIZE = (180, 320)
FPS = 10
BUNDLED = __import__("imageio_ffmpeg").get_ffmpeg_exe()
BUILDS = [pytest.param(BUNDLED, id="bundled")]
if shutil.which("ffmpeg"):
    BUILDS.append(pytest.param(shutil.which("ffmpeg"), id="system"))


def _gradient(path: Path) -> Path:
    """A colourful diagonal gradient: every pixel differs from the effect colours."""
    width, height = SIZE
    ys, xs = np.mgrid[0:height, 0:width]
    pixels = np.dstack([xs * 255 // width, ys * 255 // height, 255 - xs * 128 // width])
    Image.fromarray(pixels.astype(np.uint8)).save(path)
    return path


def _composite(
    ffmpeg: str, tmp_path: Path, theme_name: str, first_frame: int, frames: int
) -> tuple[np.ndarray, np.ndarray, effects.EffectClip]:
    """Frames [first_frame, first_frame + frames) of a 4 s render of the gradient with the
    theme's effect, as yuv420p planes; and the same frames of the bare gradient."""
    theme = load_theme(theme_name)
    title = {"type": "title", "title": "x", "duration": 4}
    spec = scenes.parse_spec({"fps": FPS, "scenes": [title]})
    plan = build_plan(spec, theme, size=SIZE)
    clip = effects.effect_clip(theme, SIZE, FPS, tmp_path / "cache", ffmpeg)
    assert clip is not None
    sources = GraphSources(
        scenes=(),
        background=_gradient(tmp_path / "gradient.png"),
        background_colour="#000000",
        blur_contain=False,
        audio=AudioSources(None, ()),
        effect_clip=clip,
    )
    inputs = Inputs(tmp_path)
    base = cfr(to_yuv(inputs.add(sources.background, loop=1, framerate=FPS), *SIZE), FPS)
    base = base.filter("trim", end_frame=frames)
    video = with_effect(plan, base, sources, inputs, first_frame=first_frame, frames=frames)
    outputs = ffmpeg_python.merge_outputs(
        ffmpeg_python.output(video, "pipe:1", f="rawvideo", pix_fmt="yuv420p"),
    )
    args = [ffmpeg, "-v", "error", *outputs.get_args()]
    shown = subprocess.run(args, capture_output=True, check=True, timeout=60).stdout
    bare = subprocess.run(
        [ffmpeg, "-v", "error", "-i", str(sources.background), "-vf",
         "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p", "-f", "rawvideo", "pipe:1"],
        capture_output=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    return _frames(shown), _frames(bare)[0], clip


def _frames(data: bytes) -> np.ndarray:
    """Raw yuv420p frames as (frames, pixels) uint8, the three planes end to end."""
    width, height = SIZE
    return np.frombuffer(data, dtype=np.uint8).reshape(-1, width * height * 3 // 2)


def _mask_frames(ffmpeg: str, clip: effects.EffectClip) -> np.ndarray:
    """Every stacked mask frame, (frames, mask_height, width) uint8."""
    data = subprocess.run(
        [ffmpeg, "-v", "error", "-i", str(clip.path), "-f", "rawvideo", "-pix_fmt", "gray",
         "pipe:1"],
        capture_output=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    return np.frombuffer(data, dtype=np.uint8).reshape(-1, clip.mask_height, clip.width)


def _blend(base: np.ndarray, colour_yuv: np.ndarray, stacked: np.ndarray) -> np.ndarray:
    """base + (colour - base) * alpha, per plane, with the stacked mask's alpha."""
    width, height = SIZE
    luma = stacked[:height].reshape(-1)
    chroma = stacked[height:, : width // 2].reshape(-1)
    alpha = np.concatenate([luma, chroma, chroma]).astype(float) / 255
    return base + (colour_yuv - base) * alpha


@pytest.mark.parametrize("ffmpeg", BUILDS)
def test_snow_is_blended_like_an_alpha_overlay(ffmpeg, tmp_path):
    shown, bare, clip = _composite(ffmpeg, tmp_path, "winter", 0, 6)
    masks = _mask_frames(ffmpeg, clip)
    width, height = SIZE
    # White in limited-range bt709: Y 235, U = V = 128.
    colour = np.concatenate([np.full(width * height, 235.0), np.full(width * height // 2, 128.0)])
    for n in range(6):
        expected = _blend(bare.astype(float), colour, masks[n])
        assert np.abs(shown[n] - expected).max() <= 2.0
    # And snow shows: under a flake the frame is clearly brighter than the gradient.
    assert (shown[0][: width * height].astype(int) - bare[: width * height] > 60).sum() >= 10


@pytest.mark.parametrize("ffmpeg", BUILDS)
@pytest.mark.parametrize("first_frame", [7, 40, 43])  # mid-loop, one loop on, past a wrap
def test_a_later_start_shows_the_effect_frames_of_the_whole_video(ffmpeg, tmp_path, first_frame):
    whole, _, clip = _composite(ffmpeg, tmp_path, "winter", 0, 48)
    assert clip.frames == 40  # winter loops every 4 s: 40 frames at 10 fps
    part, _, _ = _composite(ffmpeg, tmp_path, "winter", first_frame, 48 - first_frame)
    assert len(part) == 48 - first_frame
    np.testing.assert_array_equal(part, whole[first_frame:])
    # The loop does come round: frame 40 of the whole video is frame 0 again.
    np.testing.assert_array_equal(whole[40], whole[0])
    assert not np.array_equal(whole[1], whole[0])


@pytest.mark.parametrize("ffmpeg", BUILDS)
def test_a_static_vignette_darkens_the_corners_of_every_frame(ffmpeg, tmp_path):
    shown, bare, clip = _composite(ffmpeg, tmp_path, "bold", 5, 4)
    assert clip.static and clip.frames == 1 and len(shown) == 4
    width, height = SIZE
    luma = shown[:, : width * height].reshape(-1, height, width).astype(int)
    bare_luma = bare[: width * height].reshape(height, width).astype(int)
    # The bright corner is darkened towards black (limited range: 16) by the theme's 45 %.
    corner, bare_corner = luma[:, -4:, -4:].mean(), bare_luma[-4:, -4:].mean()
    assert corner - 16 < 0.7 * (bare_corner - 16)
    assert np.abs(luma[:, height // 2, width // 2] - bare_luma[height // 2, width // 2]).max() <= 1
    assert all(np.array_equal(luma[0], frame) for frame in luma[1:])
