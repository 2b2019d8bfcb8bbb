"""Failures and cancellation: a clear message naming the field, and nothing left behind."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from pathlib import Path

import pytest

import scenes
from renderer import AssetError, RenderCancelled, RenderError, render


def _with_bad_second_scene(scene: dict) -> dict:
    return {"scenes": [{"type": "title", "title": "ok", "duration": 1}, scene]}


def _assert_clean(out_dir: Path, ffmpeg_children) -> None:
    assert not out_dir.exists() or list(out_dir.iterdir()) == []
    assert ffmpeg_children() == []


def test_a_missing_image_names_its_scene(render_spec, tmp_path, ffmpeg_children):
    data = _with_bad_second_scene(
        {"type": "image", "src": str(tmp_path / "nope.jpg"), "duration": 1}
    )
    with pytest.raises(AssetError) as caught:
        render_spec(data)
    assert caught.value.field == "scenes[1].src"
    assert str(caught.value) == f"scenes[1].src: not found: {tmp_path / 'nope.jpg'}"
    _assert_clean(tmp_path / "render-1", ffmpeg_children)


def test_an_unreachable_url_names_its_scene(render_spec, options, tmp_path, ffmpeg_children):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = _with_bad_second_scene(
        {"type": "video", "src": f"http://127.0.0.1:{port}/clip.mp4", "duration": 1}
    )
    policy = dataclasses.replace(options.assets, allow_private_urls=True)
    with pytest.raises(AssetError, match=r"^scenes\[1\]\.src: unreachable: http://127\.0\.0\.1"):
        render_spec(data, assets=policy)
    _assert_clean(tmp_path / "render-1", ffmpeg_children)


def test_a_file_that_is_not_media_names_its_field(render_spec, tmp_path, ffmpeg_children):
    junk = tmp_path / "photo.jpg"
    junk.write_text("this is not a picture")
    data = _with_bad_second_scene(
        {"type": "text", "title": "t", "background": str(junk), "duration": 1}
    )
    with pytest.raises(AssetError, match=r"^scenes\[1\]\.background: not a readable media file"):
        render_spec(data)
    _assert_clean(tmp_path / "render-1", ffmpeg_children)


def test_music_without_sound_names_the_audio_field(render_spec, shared_assets):
    data = {
        "scenes": [{"type": "title", "title": "t", "duration": 1}],
        "audio": {"music": str(shared_assets / "clip-mandelbrot.mp4")},
    }
    with pytest.raises(AssetError, match=r"^audio\.music: has no audio"):
        render_spec(data)


def test_a_clip_start_beyond_its_end_names_the_start(render_spec, shared_assets):
    data = _with_bad_second_scene(
        {
            "type": "video",
            "src": str(shared_assets / "clip-mandelbrot.mp4"),
            "start": 60,
            "duration": 1,
        }
    )
    with pytest.raises(RenderError) as caught:
        render_spec(data)
    assert caught.value.field == "scenes[1].start"
    assert "clip is 6s long" in str(caught.value)


def test_an_unknown_theme_names_the_theme(render_spec):
    with pytest.raises(RenderError, match=r"^theme: unknown theme 'nope'") as caught:
        render_spec({"theme": "nope", "scenes": [{"type": "title", "title": "t", "duration": 1}]})
    assert caught.value.field == "theme"


def _long_spec(shared_assets: Path) -> scenes.Spec:
    return scenes.parse_spec(
        {
            "scenes": [
                {"type": "image", "src": str(shared_assets / "hubble.jpg"), "duration": 20},
                {"type": "video", "src": str(shared_assets / "clip-mandelbrot.mp4"),
                 "duration": 20},
            ],
            "audio": {"music": str(shared_assets / "music.m4a")},
        }
    )  # fmt: skip


def test_cancel_kills_ffmpeg_quickly_and_leaves_nothing(
    options, shared_assets, tmp_path, ffmpeg_children
):
    cancel = threading.Event()
    started = threading.Event()
    failure: list[BaseException] = []
    out_dir = tmp_path / "cancelled"

    def progress(done: int, total: int) -> None:
        if done > 0:
            started.set()

    def run() -> None:
        try:
            bigger = dataclasses.replace(options, size=(360, 640))
            render(_long_spec(shared_assets), out_dir, bigger, progress=progress, cancel=cancel)
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    assert started.wait(60), "the render never reported progress"
    assert ffmpeg_children(), "FFmpeg should be running"
    cancel.set()
    asked = time.monotonic()
    thread.join(10)
    assert not thread.is_alive()
    assert time.monotonic() - asked < 2
    assert len(failure) == 1 and isinstance(failure[0], RenderCancelled)
    _assert_clean(out_dir, ffmpeg_children)


def test_cancel_before_start_renders_nothing(options, shared_assets, tmp_path, ffmpeg_children):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(RenderCancelled):
        render(_long_spec(shared_assets), tmp_path / "never", options, cancel=cancel)
    _assert_clean(tmp_path / "never", ffmpeg_children)


def test_a_successful_render_leaves_no_process_and_no_temp_files(render_spec, ffmpeg_children):
    rendered = render_spec({"scenes": [{"type": "title", "title": "t", "duration": 0.5}]})
    assert sorted(p.name for p in rendered.out_dir.iterdir()) == ["poster.jpg", "video.mp4"]
    assert ffmpeg_children() == []
