"""Every example spec renders, at a tiny size, as long as its scenes add up to."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import support.media as mediatools

import scenes
import themes
from renderer import render

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SPECS = sorted(EXAMPLES.glob("*.json"))


def tiny(size: tuple[int, int]) -> tuple[int, int]:
    """The spec's aspect with its shorter side at 180 px."""
    width, height = size
    scale = 180 / min(width, height)
    return 2 * round(width * scale / 2), 2 * round(height * scale / 2)


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_example_renders(path, options, tmp_path):
    spec = scenes.parse_spec(json.loads(path.read_text()))
    policy = dataclasses.replace(options.assets, base_dir=EXAMPLES)
    size = tiny(spec.size)
    result = render(spec, tmp_path / "out", dataclasses.replace(options, size=size, assets=policy))
    info = mediatools.probe(result.video_path)
    assert (info.width, info.height) == size
    frames = mediatools.count_frames(result.video_path)
    assert abs(frames - spec.duration_s * spec.fps) <= 1
    assert info.audio_codec == "aac"


def test_examples_cover_every_scene_kind_theme_and_format():
    data = [json.loads(p.read_text()) for p in SPECS]
    assert len(data) >= 6
    kinds = {scene["type"] for spec in data for scene in spec["scenes"]}
    assert kinds == set(scenes.scene_kind_names())
    assert {spec.get("theme", "default") for spec in data} >= set(themes.list_themes())
    formats = {spec.get("format") for spec in data if "format" in spec}
    assert formats == set(scenes.FORMATS)
    assert any("width" in spec for spec in data)  # and an explicit size
