"""Scene kinds as the spec model sees them: one registry, what each kind asks of the renderer,
the `stat` kind's fields and errors, and transition names defined once."""

from __future__ import annotations

from typing import Literal

import pytest

import scenes
from scenes.base import TRANSITION_XFADE, SceneBase
from scenes.card import Card
from scenes.kinds.stat import StatScene
from scenes.visuals import ClipVisual, StillVisual, ThemeVisual


def stat(**fields) -> dict:
    return {"scenes": [{"type": "stat", "duration": 2, **fields}]}


def test_the_registry_names_every_kind_once() -> None:
    names = scenes.scene_kind_names()
    assert names == ["title", "text", "image", "video", "quote", "stat", "outro"]
    assert len(set(names)) == len(names)


def test_a_kind_without_a_card_recipe_cannot_exist() -> None:
    class Recipeless(SceneBase):
        type: Literal["recipeless"]

    with pytest.raises(TypeError, match="card"):
        Recipeless(type="recipeless", duration=1)


def test_each_kind_names_its_visual_and_media() -> None:
    data = {
        "scenes": [
            {"type": "image", "src": "a.jpg", "voiceover": "v.m4a", "duration": 1},
            {"type": "video", "src": "b.mp4", "background": "ignored.jpg", "duration": 1},
            {
                "type": "stat",
                "value": "3x",
                "label": "faster",
                "background": "c.jpg",
                "duration": 1,
            },
            {"type": "title", "title": "t", "duration": 1},
        ]
    }
    parsed = scenes.parse_spec(data).scenes
    assert parsed[0].visual("scenes[0]") == StillVisual("a.jpg", "scenes[0].src", "zoom-in")
    assert isinstance(parsed[1].visual("scenes[1]"), ClipVisual)
    assert parsed[2].visual("scenes[2]") == StillVisual("c.jpg", "scenes[2].background")
    assert parsed[3].visual("scenes[3]") == ThemeVisual()
    assert parsed[0].media() == {"src": "a.jpg", "voiceover": "v.m4a"}
    assert scenes.parse_spec(data).media_sources() == [
        ("scenes[0].src", "a.jpg"),
        ("scenes[0].voiceover", "v.m4a"),
        ("scenes[1].src", "b.mp4"),
        ("scenes[1].background", "ignored.jpg"),
        ("scenes[2].background", "c.jpg"),
    ]


def test_stat_card_is_the_figure_then_its_label_then_the_caption() -> None:
    scene = scenes.parse_spec(stat(value="40", label="grind settings", caption="and more")).scenes[
        0
    ]
    assert isinstance(scene, StatScene)
    card = scene.card()
    assert isinstance(card, Card) and card.placement == "centre"
    assert [(b.role, b.text) for b in card.blocks] == [
        ("value", "40"),
        ("label", "grind settings"),
        ("caption", "and more"),
    ]
    figure, label, _ = card.blocks
    assert figure.keeps_size and figure.colour == "accent" and figure.scale > label.scale


def test_stat_without_a_caption_has_two_blocks() -> None:
    card = scenes.parse_spec(stat(value="3x", label="faster")).scenes[0].card()
    assert card is not None and [b.role for b in card.blocks] == ["value", "label"]


@pytest.mark.parametrize(
    ("fields", "path", "message"),
    [
        ({"label": "faster"}, "scenes[0].value", "required"),
        ({"value": "3x"}, "scenes[0].label", "required"),
        ({"value": "", "label": "faster"}, "scenes[0].value", "must not be blank"),
        ({"value": " ", "label": "faster"}, "scenes[0].value", "must not be blank"),
        ({"value": "9" * 25, "label": "faster"}, "scenes[0].value", "at most 24 characters"),
        ({"value": "3x", "label": "x" * 201}, "scenes[0].label", "at most 200 characters"),
        ({"value": "3x", "label": "faster", "unit": "x"}, "scenes[0].unit", "unknown field"),
    ],
)
def test_stat_errors_name_the_field(fields: dict, path: str, message: str) -> None:
    with pytest.raises(scenes.SpecError) as caught:
        scenes.parse_spec(stat(**fields))
    problems = {error.path: error.message for error in caught.value.errors}
    assert path in problems, problems
    assert message in problems[path]


def test_transition_names_come_from_one_table() -> None:
    schema = scenes.json_schema()["$defs"]["Transition"]["properties"]["type"]
    assert schema["enum"] == list(TRANSITION_XFADE) == list(scenes.TRANSITION_TYPES)
