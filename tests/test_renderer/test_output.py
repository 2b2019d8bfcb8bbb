"""What a render produces: an MP4 of exactly the planned length and format, and a poster."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import psutil
import pytest
import support.media as mediatools
from PIL import Image

import scenes
from renderer import AssetPolicy, RenderOptions, render


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory, shared_assets: Path):
    """Every visual kind, captions, a transition override, music: 4.2 s at 30 fps."""
    out_dir = tmp_path_factory.mktemp("mixed")
    data = {
        "theme": "default",
        "transition": {"type": "fade", "duration": 0.4},
        "scenes": [
            {"type": "title", "title": "Hello", "subtitle": "world", "duration": 1.2},
            {
                "type": "image",
                "src": str(shared_assets / "cat.jpg"),
                "motion": "zoom-in",
                "caption": "A cat",
                "duration": 1.0,
            },
            {
                "type": "video",
                "src": str(shared_assets / "clip-mandelbrot.mp4"),
                "start": 1,
                "duration": 1.0,
                "transition": {"type": "slide-left", "duration": 0.3},
            },
            {"type": "quote", "text": "Less is more.", "author": "Mies", "duration": 1.0},
        ],
        "audio": {"music": str(shared_assets / "music.m4a")},
    }
    progress: list[tuple[int, int]] = []
    options = RenderOptions(
        quality="draft",
        threads=2,
        size=(180, 320),
        assets=AssetPolicy(allow_any_local=True, cache_dir=out_dir.parent / "mixed-cache"),
    )
    result = render(
        scenes.parse_spec(data), out_dir, options, progress=lambda d, t: progress.append((d, t))
    )
    return result, out_dir, progress


def test_length_is_exactly_the_sum_of_scene_durations(mixed):
    result, _, _ = mixed
    assert mediatools.count_frames(result.video_path) == 126 == result.frames
    info = mediatools.probe(result.video_path)
    assert info.duration_s == pytest.approx(4.2, abs=1 / 30)
    assert result.duration_s == pytest.approx(4.2)


def test_format_is_h264_yuv420p_aac_at_the_requested_size(mixed):
    result, _, _ = mixed
    info = mediatools.probe(result.video_path)
    assert (info.width, info.height, info.fps) == (180, 320, 30)
    assert (info.video_codec, info.pix_fmt) == ("h264", "yuv420p")
    assert (info.audio_codec, info.audio_rate, info.audio_channels) == ("aac", 48000, "stereo")
    assert (result.width, result.height, result.fps, result.encoder) == (180, 320, 30, "libx264")
    assert result.size_bytes == result.video_path.stat().st_size > 0


def test_moov_comes_before_mdat(mixed):
    result, _, _ = mixed
    assert mediatools.is_faststart(result.video_path), mediatools.top_level_boxes(result.video_path)


def test_poster_is_a_frame_of_the_first_scene_with_its_title(mixed):
    result, _, _ = mixed
    with Image.open(result.poster_path) as poster:
        assert poster.format == "JPEG"
        assert poster.size == (180, 320)
        pixels = poster.convert("L")
        # The title is drawn: the poster is not a plain gradient.
        assert max(pixels.getdata()) > 200


def test_poster_is_exactly_the_planned_frame(mixed):
    result, _, _ = mixed
    with Image.open(result.poster_path) as poster:
        pixels = np.asarray(poster.convert("RGB")).astype(int)
    # Title (1.2 s) entrance is 0.6 s: the poster is its first frame at rest plus a little.
    before, planned = (mediatools.frame(result.video_path, n).astype(int) for n in (0, 26))
    text = np.abs(planned - before).max(axis=2) > 60  # where the title is drawn
    assert text.sum() > 100
    assert np.abs(pixels - planned)[text].mean() < 12
    assert np.abs(pixels - before)[text].mean() > 60


def test_only_the_video_and_the_poster_are_left(mixed):
    _, out_dir, _ = mixed
    assert sorted(p.name for p in out_dir.iterdir()) == ["poster.jpg", "video.mp4"]


def test_progress_counts_frames_up_to_the_total(mixed):
    _, _, progress = mixed
    assert progress[-1] == (126, 126)
    assert all(total == 126 for _, total in progress)
    done = [d for d, _ in progress]
    assert done == sorted(done)


def test_every_transition_keeps_the_length(render_spec):
    kinds = ["fadeblack", "fadewhite", "dissolve", "slide-right", "slide-up", "slide-down",
             "wipe-left", "wipe-right", "wipe-up", "wipe-down", "zoom", "circle", "pixelize",
             "none"]  # fmt: skip
    data = {
        "scenes": [
            {"type": "title", "title": str(i), "duration": 0.5, "transition": {"type": kind}}
            for i, kind in enumerate(kinds)
        ]
        + [{"type": "outro", "title": "end", "duration": 0.5}]
    }
    rendered = render_spec(data)
    expected = round(0.5 * (len(kinds) + 1) * 30)
    assert mediatools.count_frames(rendered.video) == expected
    assert mediatools.probe(rendered.video).duration_s == pytest.approx(expected / 30, abs=1 / 30)


def test_fps_and_odd_durations_keep_the_length(render_spec):
    data = {
        "fps": 24,
        "transition": {"type": "fade", "duration": 0.3},
        "scenes": [
            {"type": "title", "title": "a", "duration": 0.77},
            {"type": "text", "body": "b", "duration": 1.13},
            {"type": "outro", "title": "c", "duration": 0.61},
        ],
    }
    rendered = render_spec(data)
    assert mediatools.count_frames(rendered.video) == round(2.51 * 24)
    assert mediatools.probe(rendered.video).fps == 24


def test_preview_is_a_small_draft(render_spec):
    data = {"fps": 30, "scenes": [{"type": "title", "title": "p", "duration": 1}]}
    rendered = render_spec(data, size=None, preview=True)
    info = mediatools.probe(rendered.video)
    assert (info.width, info.height, info.fps) == (202, 360, 15)
    assert mediatools.count_frames(rendered.video) == 15


def test_size_comes_from_the_format_without_an_override(render_spec):
    data = {"format": "landscape", "scenes": [{"type": "title", "title": "x", "duration": 0.2}]}
    rendered = render_spec(data, size=None, preview=True)
    assert (rendered.result.width, rendered.result.height) == (640, 360)


def test_memory_does_not_grow_with_the_length_of_the_video(render_spec, shared_assets):
    """Rendering streams: a reel four times longer peaks at the same FFmpeg memory."""

    def peak_rss_mb(seconds: float) -> float:
        each = seconds / 4
        data = {
            "transition": {"type": "fade", "duration": 0.4},
            "scenes": [
                {"type": "title", "title": "memory", "duration": each},
                {"type": "image", "src": str(shared_assets / "hubble.jpg"), "motion": "zoom-in",
                 "caption": "zoom", "duration": each},
                {"type": "video", "src": str(shared_assets / "clip-mandelbrot.mp4"),
                 "duration": each},
                {"type": "outro", "title": "end", "duration": each},
            ],
            "audio": {"music": str(shared_assets / "music.m4a")},
        }  # fmt: skip
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            me = psutil.Process()
            while not done.wait(0.02):
                for child in me.children(recursive=True):
                    try:
                        if "ffmpeg" in child.name():
                            peak = max(peak, child.memory_info().rss)
                    except psutil.NoSuchProcess:
                        continue

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            render_spec(data, size=(360, 640))
        finally:
            done.set()
            sampler.join()
        return peak / 2**20

    short, long = peak_rss_mb(3), peak_rss_mb(12)
    # 270 more frames of 360x640 would be ~90 MB if anything buffered them.
    assert long < short * 1.15 + 10, (short, long)
