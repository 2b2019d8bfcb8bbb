"""`reelfarm serve` makes the themes' effect masks and backgrounds at start-up, in the
background, where the renders will look for them; `[themes] prepare_at_start = false` does not."""

from __future__ import annotations

import threading
from pathlib import Path

from support.serverkit import write_config

from server import lifecycle
from server.app import create_app
from server.config import load_config


def _app(tmp_path: Path, prepare: bool):
    config = load_config(
        write_config(
            tmp_path / "config.toml",
            {
                "storage": {"data_dir": str(tmp_path / "data")},
                "themes": {"prepare_at_start": prepare, "dirs": [str(tmp_path / "themes")]},
            },
        )
    )
    return config, create_app(config)


def test_start_up_prepares_every_theme_into_the_render_cache(tmp_path, monkeypatch):
    calls: list[tuple] = []
    done = threading.Event()

    def prepare_effects(theme_dirs, cache_dir, ffmpeg, *, stop):
        calls.append((tuple(theme_dirs), Path(cache_dir), ffmpeg, stop))
        done.set()

    monkeypatch.setattr("renderer.prewarm.prepare_effects", prepare_effects)
    config, app = _app(tmp_path, prepare=True)
    stop = lifecycle._prepare_themes(config, app)
    assert stop is not None and done.wait(30)
    theme_dirs, cache_dir, ffmpeg, given_stop = calls[0]
    assert theme_dirs == (tmp_path / "themes",)
    assert cache_dir == config.cache_dir  # where renders look for their effect masks
    assert Path(ffmpeg).is_file() and given_stop is stop


def test_start_up_leaves_themes_alone_when_told(tmp_path, monkeypatch):
    monkeypatch.setattr(
        "renderer.prewarm.prepare_effects", lambda *a, **k: (_ for _ in ()).throw(AssertionError)
    )
    config, app = _app(tmp_path, prepare=False)
    assert lifecycle._prepare_themes(config, app) is None
