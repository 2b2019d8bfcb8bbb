"""Fields and types shared by every scene kind."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

# Bounds that keep one request from costing unbounded memory or time. A title is
# a line, a body a paragraph, a data: URI a small photo.
MAX_SHORT_TEXT = 200
MAX_LONG_TEXT = 1_000
MAX_BULLETS = 8
MAX_SRC_CHARS = 16 * 1024 * 1024
MAX_SCENE_DURATION_S = 120.0
MAX_TRANSITION_S = 3.0

TransitionType = Literal[
    "none",
    "fade",
    "fadeblack",
    "fadewhite",
    "dissolve",
    "slide-left",
    "slide-right",
    "slide-up",
    "slide-down",
    "wipe-left",
    "wipe-right",
    "wipe-up",
    "wipe-down",
    "zoom",
    "circle",
    "pixelize",
]
TRANSITION_TYPES: tuple[str, ...] = get_args(TransitionType)
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


class StrictModel(BaseModel):
    """Unknown fields are errors: a typo (`titel`) is reported, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Transition(StrictModel):
    """How a scene hands over to the next; it overlaps the two, it never shortens the video."""

    type: TransitionType = "fade"
    duration: float = Field(default=0.5, ge=0, le=MAX_TRANSITION_S)


class SceneBase(StrictModel):
    """What every scene kind has: a duration, an optional transition into the next, a voiceover."""

    duration: float = Field(gt=0, le=MAX_SCENE_DURATION_S, description="seconds on screen")
    transition: Transition | None = Field(
        default=None, description="overrides the spec's transition into the next scene"
    )
    voiceover: Src | None = Field(default=None, description="audio played from this scene's start")
    background: Src | None = Field(
        default=None, description="image behind the text; else the theme's background"
    )

    # Each kind names its text fields; the renderer draws these onto one card.
    def text_fields(self) -> dict[str, str | list[str]]:
        return {}

    def media_src(self) -> str | None:
        return None
