"""Fields and types shared by every scene kind."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, Literal

from pydantic import ConfigDict, Field

from scenes.captions import Captions
from scenes.card import Card
from scenes.fields import (  # noqa: F401 (the kinds import these from here)
    MAX_LONG_TEXT,
    MAX_SHORT_TEXT,
    MAX_SRC_CHARS,
    LongText,
    ShortText,
    Src,
    StrictModel,
)
from scenes.visuals import StillVisual, ThemeVisual, Visual

MAX_BULLETS = 8
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


def example(**scene: Any) -> ConfigDict:
    """A kind's sample scene: shown in the JSON Schema, and rendered by the suite's test of
    every registered kind, so no kind exists that the renderer cannot draw."""
    return ConfigDict(json_schema_extra={"examples": [scene]})


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
    captions: Captions | None = Field(
        default=None, description="a caption track; its times count from the scene's start"
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
        named = {
            "background": self.background,
            "voiceover": self.voiceover,
            "captions.src": self.captions.src if self.captions else None,
        }
        return {field: src for field, src in named.items() if src}
