"""Spec validation as the renderer's callers see it: every problem, each with its path."""

from __future__ import annotations

import pytest

import scenes

OK_SCENE = {"type": "title", "title": "t", "duration": 1}


def spec(**top) -> dict:
    return {"scenes": [OK_SCENE], **top}


def scene(**fields) -> dict:
    return {"scenes": [OK_SCENE, fields]}


MOTION, FIT, SHORT = "scenes[1].motion", "scenes[1].fit", "scenes[1].when_short"
CASES = [
    (spec(theme="Bad Theme!"), "theme", "must be lower-case letters"),
    (spec(format="tiktok"), "format", "must be one of"),
    (spec(width=1081, height=1920), "width", "must be even"),
    (spec(width=8, height=1920), "width", "must be >= 16"),
    (spec(width=4000, height=1920), "width", "must be <= 3840"),
    (spec(width=1080), "height", "required when the other dimension is given"),
    (spec(fps=0), "fps", "must be >= 1"),
    (spec(fps=61), "fps", "must be <= 60"),
    ({"scenes": []}, "scenes", "must have at least 1 item(s)"),
    ({"scenes": [OK_SCENE] * 101}, "scenes", "must have at most 100 items"),
    ({}, "scenes", "required"),
    (spec(extra=1), "extra", "unknown field"),
    (spec(transition={"type": "spin"}), "transition.type", "must be one of"),
    (spec(transition={"type": "fade", "duration": 4}), "transition.duration", "must be <= 3"),
    (spec(audio={"music_volume": 2}), "audio.music_volume", "must be <= 1"),
    (spec(audio={"voiceover": ""}), "audio.voiceover", "must not be empty"),
    (spec(output={"quality": "ultra"}), "output.quality", "must be one of"),
    (scene(type="title", duration=1), "scenes[1].title", "required"),
    (scene(type="title", title="x" * 201, duration=1), "scenes[1].title", "at most 200 characters"),
    (scene(type="title", title="t", duration=0), "scenes[1].duration", "must be > 0"),
    (scene(type="title", title="t", duration=121), "scenes[1].duration", "must be <= 120"),
    (scene(type="title", title="t"), "scenes[1].duration", "required"),
    (scene(type="title", title="t", duration=1, titel="x"), "scenes[1].titel", "unknown field"),
    (scene(type="text", duration=1), "scenes[1]", "needs at least one of title, body, bullets"),
    (scene(type="text", bullets=["b"] * 9, duration=1), "scenes[1].bullets", "at most 8 items"),
    (scene(type="text", body="x" * 1001, duration=1), "scenes[1].body", "at most 1000 characters"),
    (scene(type="image", duration=1), "scenes[1].src", "required"),
    (scene(type="image", src="ftp://x/a.jpg", duration=1), "scenes[1].src", "must be a path"),
    (scene(type="image", src="a.jpg", motion="spin", duration=1), MOTION, "must be one of"),
    (scene(type="image", src="a.jpg", fit="stretch", duration=1), FIT, "must be one of"),
    (scene(type="video", src="a.mp4", start=-1, duration=1), "scenes[1].start", "must be >= 0"),
    (scene(type="video", src="a.mp4", when_short="x", duration=1), SHORT, "must be one of"),
    (scene(type="quote", duration=1), "scenes[1].text", "required"),
    (scene(type="wobble", duration=1), "scenes[1]", "type must be one of"),
    (scene(duration=1), "scenes[1]", "type: required"),
    (
        scene(type="title", title="t", duration=1, transition={"duration": -1}),
        "scenes[1].transition.duration",
        "must be >= 0",
    ),
]


@pytest.mark.parametrize(("data", "path", "message"), CASES, ids=[c[1] + ":" + c[2] for c in CASES])
def test_each_problem_is_reported_at_its_path(data, path, message):
    with pytest.raises(scenes.SpecError) as caught:
        scenes.parse_spec(data)
    # API clients read the field and the message apart; people read "path: message".
    found = [(e.path, e.message) for e in caught.value.errors]
    assert any(p == path and message in m for p, m in found), found
    assert any(str(e).startswith(f"{path}: ") for e in caught.value.errors)


def test_every_problem_is_reported_at_once():
    data = {
        "fps": 0,
        "scenes": [{"type": "title", "duration": 0}, {"type": "image", "duration": 1}],
    }
    with pytest.raises(scenes.SpecError) as caught:
        scenes.parse_spec(data)
    paths = sorted(e.path for e in caught.value.errors)
    assert paths == ["fps", "scenes[0].duration", "scenes[0].title", "scenes[1].src"]


def test_total_duration_is_bounded_by_the_operator_limit():
    data = {"scenes": [{"type": "title", "title": "t", "duration": 100}] * 4}
    with pytest.raises(
        scenes.SpecError, match=r"scenes: total duration 400s is over the limit of 300s"
    ):
        scenes.parse_spec(data)
    assert scenes.parse_spec(data, max_duration_s=400).duration_s == 400


def test_a_spec_must_be_an_object():
    with pytest.raises(scenes.SpecError, match="the spec must be a JSON object"):
        scenes.parse_spec(["not", "a", "spec"])
