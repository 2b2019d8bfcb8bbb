"""Brand overlays in the spec: what is accepted, and every bad input refused at its field."""

from __future__ import annotations

import pytest

import scenes
from scenes.overlays import MAX_OVERLAYS

TITLE = {"type": "title", "title": "t", "duration": 6}
LOGO = {"type": "logo", "src": "brand/logo.png"}


def spec(*overlays: object) -> dict:
    return {"scenes": [TITLE, TITLE], "overlays": list(overlays)}


def test_good_overlays_parse_with_their_defaults() -> None:
    parsed = scenes.parse_spec(spec(
        LOGO,
        {"type": "progress", "position": "top", "colour": "#FF0080", "start": 1, "end": 12},
        {"type": "lower-third", "title": "Ana Lima", "subtitle": "Founder", "start": 2.5},
    ))  # fmt: skip
    logo, bar, plate = parsed.overlays
    assert (logo.corner, logo.width_percent, logo.opacity, logo.start, logo.end) == (
        "top-right", 15, 0.85, 0, None)  # fmt: skip
    assert (bar.height_percent, bar.colour) == (0.6, "#FF0080")
    assert plate.subtitle == "Founder" and plate.end is None
    assert scenes.parse_spec({"scenes": [TITLE]}).overlays == []


def test_logo_sources_are_media_sources_checked_like_any_other() -> None:
    parsed = scenes.parse_spec(spec({"type": "progress"}, LOGO))
    assert ("overlays[1].src", "brand/logo.png") in parsed.media_sources()


CASES = [
    ((LOGO, {**LOGO, "start": 3, "end": 2}), "overlays[1].end", "must be after start"),
    (({**LOGO, "start": 2, "end": 2},), "overlays[0].end", "must be after start"),
    (({**LOGO, "start": 14},), "overlays[0].start", "14s is past the end of the video (12s)"),
    (({**LOGO, "end": 12.5},), "overlays[0].end", "12.5s is past the end of the video (12s)"),
    (({**LOGO, "start": -1},), "overlays[0].start", "must be >= 0"),
    (({"type": "sticker"},), "overlays[0]", "type must be one of"),
    (({"src": "x.png"},), "overlays[0]", "type: required"),
    (({**LOGO, "width_percent": 60},), "overlays[0].width_percent", "must be <= 50"),
    (({**LOGO, "width_percent": 0.5},), "overlays[0].width_percent", "must be >= 1"),
    (({**LOGO, "opacity": 1.5},), "overlays[0].opacity", "must be <= 1"),
    (({**LOGO, "corner": "middle"},), "overlays[0].corner", "must be one of"),
    (({"type": "logo"},), "overlays[0].src", "required"),
    (({**LOGO, "src": " "},), "overlays[0].src", "must not be empty"),
    (({"type": "progress", "height_percent": 5},), "overlays[0].height_percent", "must be <= 3"),
    (({"type": "progress", "colour": "blue"},), "overlays[0].colour", '"#rrggbb"'),
    (({"type": "progress", "size": 3},), "overlays[0].size", "unknown field"),
    (({"type": "lower-third"},), "overlays[0].title", "required"),
    (({"type": "lower-third", "title": "  "},), "overlays[0].title", "must not be blank"),
    (({"type": "lower-third", "title": "x" * 201},), "overlays[0].title", "at most 200"),
    (((LOGO,) * (MAX_OVERLAYS + 1)), "overlays", f"at most {MAX_OVERLAYS} items"),
]


@pytest.mark.parametrize(("overlays", "field", "message"), CASES)
def test_bad_overlays_are_refused_at_their_field(overlays: tuple, field: str, message: str) -> None:
    with pytest.raises(scenes.SpecError) as caught:
        scenes.parse_spec(spec(*overlays))
    found = {error.path: error.message for error in caught.value.errors}
    assert field in found, found
    assert message in found[field]


def test_the_json_schema_publishes_the_union_and_its_bounds() -> None:
    schema = scenes.json_schema()
    items = schema["properties"]["overlays"]["items"]
    assert set(items["discriminator"]["mapping"]) == {"logo", "progress", "lower-third"}
    assert schema["properties"]["overlays"]["maxItems"] == MAX_OVERLAYS
    logo = schema["$defs"]["LogoOverlay"]["properties"]
    assert (logo["width_percent"]["minimum"], logo["width_percent"]["maximum"]) == (1, 50)
