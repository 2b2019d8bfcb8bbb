"""Caption tracks in the spec: what is accepted, and every bad input refused at its field."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scenes
from scenes.captions import MAX_CAPTION_WORDS

TITLE = {"type": "title", "title": "t", "duration": 4}


def spec(captions: object) -> dict:
    return {"scenes": [TITLE, TITLE], "captions": captions}


def scene_spec(captions: object) -> dict:
    return {"scenes": [TITLE, {**TITLE, "captions": captions}]}


def word(text: str, start: float, end: float) -> dict:
    return {"text": text, "start": start, "end": end}


SRT = "1\n00:00:01,000 --> 00:00:02,000\nhello\n"
VTT = "WEBVTT\n\n00:01.000 --> 00:02.000\nhello\n"


@pytest.mark.parametrize(
    "captions",
    [
        {"words": [word("a", 0, 0.3), word("b", 0.3, 0.3)]},
        {"srt": SRT, "style": "plain", "position": "top"},
        {"vtt": VTT, "style": "pop", "max_words": 1, "max_lines": 1},
        {"src": "https://example.com/subs.vtt", "style": "highlight"},
    ],
)
def test_good_caption_tracks_parse(captions: dict) -> None:
    parsed = scenes.parse_spec(spec(captions))
    assert parsed.captions is not None


def test_scene_captions_parse_and_their_src_is_a_media_source() -> None:
    parsed = scenes.parse_spec(scene_spec({"src": "subs/one.srt"}))
    assert ("scenes[1].captions.src", "subs/one.srt") in parsed.media_sources()
    top = scenes.parse_spec(spec({"src": "top.vtt"}))
    assert ("captions.src", "top.vtt") in top.media_sources()


TOO_MANY = {"words": [word("w", 0, 0)] * (MAX_CAPTION_WORDS + 1)}
CASES = [
    ({"words": [word("a", 1, 0.5)]}, "captions.words[0].end", "before the word's start"),
    ({"words": [word("a", -1, 0.5)]}, "captions.words[0].start", "must be >= 0"),
    ({"words": [word("a", 1, 2), word("b", 0.5, 0.7)]}, "captions.words[1].start",
     "words must be in spoken order"),
    ({"words": [word("a", 1, 9)]}, "captions.words[0].end", "past the end of the video (8s)"),
    ({"words": [word("", 1, 2)]}, "captions.words[0].text", "at least 1"),
    (TOO_MANY, "captions.words", f"at most {MAX_CAPTION_WORDS} items"),
    ({"srt": "1\n00:00:0x,000 --> 00:00:02,000\nhi\n"}, "captions.srt", "cue 1"),
    ({"srt": SRT + "\n2\n00:00:03,000 --> 00:00:02,500\nlate\n"}, "captions.srt", "cue 2"),
    ({"vtt": "no header\n\n00:01.000 --> 00:02.000\nhi\n"}, "captions.vtt", "WEBVTT"),
    ({"srt": "1\n00:00:01,000 --> 00:00:12,000\nlong\n"}, "captions.srt",
     "past the end of the video"),
    ({"words": [word("a", 0, 1)], "style": "typewriter"}, "captions.style", "must be one of"),
    ({"words": [word("a", 0, 1)], "position": "left"}, "captions.position", "must be one of"),
    ({"words": [word("a", 0, 1)], "max_words": 0}, "captions.max_words", "must be >= 1"),
    ({"words": [word("a", 0, 1)], "max_lines": 4}, "captions.max_lines", "must be <= 3"),
    ({"words": [word("a", 0, 1)], "srt": SRT}, "captions", "exactly one of"),
    ({}, "captions", "exactly one of"),
    ({"src": "ftp://example.com/a.srt"}, "captions.src", "http(s) URL"),
    ({"words": [word("a", 0, 1)], "font": "x"}, "captions.font", "unknown field"),
]  # fmt: skip


@pytest.mark.parametrize(("captions", "path", "message"), CASES)
def test_each_bad_caption_input_is_refused_at_its_field(captions, path, message) -> None:
    with pytest.raises(scenes.SpecError) as raised:
        scenes.parse_spec(spec(captions))
    assert any(e.path == path and message in e.message for e in raised.value.errors), (
        raised.value.errors
    )


def test_scene_caption_times_are_checked_against_the_scene() -> None:
    with pytest.raises(scenes.SpecError) as raised:
        scenes.parse_spec(scene_spec({"words": [word("late", 3, 4.5)]}))
    (error,) = raised.value.errors
    assert error.path == "scenes[1].captions.words[0].end"
    assert "past the end of the scene (4s)" in error.message


def test_the_json_schema_documents_the_bounds() -> None:
    schema = scenes.json_schema()
    captions = schema["$defs"]["Captions"]["properties"]
    words = captions["words"]["anyOf"][0]
    assert words["maxItems"] == MAX_CAPTION_WORDS
    assert captions["srt"]["anyOf"][0]["maxLength"] > 0
    assert set(captions["style"]["anyOf"][0]["enum"]) == {"karaoke", "pop", "highlight", "plain"}


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789:,.->\n WEBVTTNOTE<>&;ab", max_size=200))
def test_any_subtitle_text_is_accepted_or_refused_with_a_field_never_a_crash(text: str) -> None:
    for kind in ("srt", "vtt"):
        try:
            scenes.parse_spec(spec({kind: text or "x"}))
        except scenes.SpecError as exc:
            assert all(e.path.startswith("captions") for e in exc.errors)
