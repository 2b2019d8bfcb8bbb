"""Every registered scene kind renders: its sample scene (from its JSON Schema example) shows
its card in the frame, in every theme's layout, so a kind without a recipe cannot exist."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import support.media as mediatools

import scenes
import themes
from renderer import text
from scenes.visuals import ClipVisual

SIZE = (360, 640)
SCENE_S = 1.2
SETTLED_S = 0.9  # into each scene: its card's entrance is over, the next scene not begun


def sample(kind: type[scenes.SceneBase], assets: Path) -> dict[str, Any]:
    """The kind's schema example, its media pointed at the shared test media."""
    data = dict(kind.model_json_schema()["examples"][0])
    scene = kind.model_validate(data)
    clip = isinstance(scene.visual("scene"), ClipVisual)
    for field in scene.media():
        data[field] = str(
            assets / ("clip-mandelbrot.mp4" if clip and field == "src" else "cat.jpg")
        )
    return {**data, "duration": SCENE_S}


def luma(rgb: np.ndarray) -> np.ndarray:
    """BT.709 luma: the full-resolution part of the frame (chroma is halved both ways, which
    blurs thin glyph strokes' colour, never their brightness)."""
    return rgb[..., :3].astype(float) @ np.array([0.2126, 0.7152, 0.0722])


def test_every_kind_has_a_sample_scene() -> None:
    for kind in scenes.SCENE_KINDS:
        examples = kind.model_json_schema().get("examples")
        assert examples, f"{kind.__name__} has no example scene"
        kind.model_validate(examples[0])


def test_every_kind_renders_its_card_in_the_frame(render_spec, shared_assets: Path) -> None:
    data = {
        "theme": "default",
        "transition": {"type": "none", "duration": 0},
        "scenes": [sample(kind, shared_assets) for kind in scenes.SCENE_KINDS],
    }
    rendered = render_spec(data, size=SIZE)
    assert mediatools.count_frames(rendered.video) == round(len(data["scenes"]) * SCENE_S * 30)
    theme = themes.load_theme("default")
    for index, scene in enumerate(scenes.parse_spec(data).scenes):
        drawn = text.draw_card_region(scene, theme, SIZE)
        assert (drawn is None) == (scene.card() is None), scene.type
        if drawn is None:
            continue
        card, (x, y) = drawn
        frame = mediatools.frame_at(rendered.video, index * SCENE_S + SETTLED_S)
        region = frame[y : y + card.height, x : x + card.width]
        ink = np.asarray(card)[..., 3] >= 250
        assert ink.sum() > 100, scene.type
        error = np.abs(luma(region)[ink] - luma(np.asarray(card))[ink]).mean()
        assert error < 16, (scene.type, error)


@pytest.mark.parametrize("name", themes.list_themes())
def test_every_kind_lays_out_in_every_theme_and_format(name: str, shared_assets: Path) -> None:
    theme = themes.load_theme(name)
    for kind in scenes.SCENE_KINDS:
        scene = kind.model_validate(sample(kind, shared_assets))
        for size in [(180, 320), (270, 270), (320, 180)]:
            if scene.card() is None:
                continue
            x0, y0, x1, y1 = text.text_box(scene, theme, size)
            assert 0 <= x0 < x1 <= size[0] and 0 <= y0 < y1 <= size[1], (kind, size)
