"""Fields and types shared by every scene kind."""

from __future__ import annotations

from abc import abstractmethod
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from scenes.card import Card
from scenes.visuals import StillVisual, ThemeVisual, Visual

# Bounds that keep one request from costing unbounded memory or time. A title is
# a line, a body a paragraph, a data: URI a small photo.
MAX_SHORT_TEXT = 200
MAX_LONG_TEXT = 1_000
MAX_BULLETS = 8
MAX_SRC_CHARS = 16 * 1024 * 1024
MAX_SCENE_DURATION_S = 120.0
MAX_TRANSITION_S = 3.0

# Every transition a spec may name, with the FFmpeg xfade effect that draws it (None: a cut).
TRANSITION_XFADE: dict[str, str | None] = {
    "none": None,
    "fade": "fade",
    "fadeblack": "fadeblack",
    "fadewhite": "fadewhite",
    "dissolve": "dissolve",
    "slide-left": "slideleft",
    "slide-right": "slideright",
    "slide-up": "slideup",
    "slide-down": "slidedown",
    "wipe-left": "wipeleft",
    "wipe-right": "wiperight",
    "wipe-up": "wipeup",
    "wipe-down": "wipedown",
    "zoom": "zoomin",
    "circle": "circleopen",
    "pixelize": "pixelize",
}
TRANSITION_TYPES: tuple[str, ...] = tuple(TRANSITION_XFADE)
TransitionType = Literal[TRANSITION_TYPES]  # the names above, as the spec's JSON Schema enum
Motion = Literal["none", "zoom-in", "zoom-out", "pan-left", "pan-right", "pan-up", "pan-down"]
Fit = Literal["cover", "contain"]


def _check_src(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    scheme = value.split(":", 1)[0].lower() if ":" in value[:12] else ""
    if scheme and scheme not in ("http", "https", "data", "file") and len(scheme) > 1:
        raise ValueError("must be a path, a data: URI or an http(s) URL")
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


# A media source: a local path (checked against [assets] allowed_dirs when rendered by the
# server), a data: URI, or an http(s) URL fetched with size and time limits.
Src = Annotated[str, Field(max_length=MAX_SRC_CHARS), AfterValidator(_check_src)]
ShortText = Annotated[str, Field(max_length=MAX_SHORT_TEXT)]
LongText = Annotated[str, Field(max_length=MAX_LONG_TEXT)]


def example(**scene: Any) -> ConfigDict:
    """A kind's sample scene: shown in the JSON Schema, and rendered by the suite's test of
    every registered kind, so no kind exists that the renderer cannot draw."""
    return ConfigDict(json_schema_extra={"examples": [scene]})


class StrictModel(BaseModel):
    """Unknown fields are errors: a typo (`titel`) is reported, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Transition(StrictModel):
    """How a scene hands over to the next; it overlaps the two, it never shortens the video."""

    type: TransitionType = "fade"
    duration: float = Field(default=0.5, ge=0, le=MAX_TRANSITION_S)


class SceneBase(StrictModel):
    """What every scene kind has: a duration, an optional transition into the next, a voiceover.

    A scene kind is one subclass in `scenes/kinds/`: its fields, a `type` literal, and its
    answers to the renderer's three questions — `card()` (its text, in the theme's styles),
    `visual()` (what shows under it) and `media()` (what must be fetched) — registered once in
    `scenes.kinds.SCENE_KINDS`. The renderer asks the kind; it never branches on kind names.
    """

    duration: float = Field(gt=0, le=MAX_SCENE_DURATION_S, description="seconds on screen")
    transition: Transition | None = Field(
        default=None, description="overrides the spec's transition into the next scene"
    )
    voiceover: Src | None = Field(default=None, description="audio played from this scene's start")
    background: Src | None = Field(
        default=None, description="image behind the text; else the theme's background"
    )

    @abstractmethod
    def card(self) -> Card | None:
        """The scene's text card, in the theme's styles; None when it shows no text."""

    def visual(self, field: str) -> Visual:
        """What the scene shows under its card; `field` is its path in the spec, for errors.

        A text scene shows its `background` photo, else the theme's background."""
        if self.background:
            return StillVisual(self.background, f"{field}.background")
        return ThemeVisual()

    def media(self) -> dict[str, str]:
        """Every media source the scene names, by field, in the order they are fetched."""
        named = {"background": self.background, "voiceover": self.voiceover}
        return {field: src for field, src in named.items() if src}
