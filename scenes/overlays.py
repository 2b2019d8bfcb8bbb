"""Brand overlays: a logo or watermark, a progress bar, a lower third, drawn over the whole
finished picture (above the theme's effect and the caption track).

Each overlay shows over a time range of the video's timeline: from `start` (default 0) to
`end` (default the end of the video). Times are checked against the video's length by the
spec (`check_overlay_times`), which knows it.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import AfterValidator, Field, ValidationError, WrapValidator, model_validator
from pydantic_core import ValidationError as CoreValidationError

from scenes.card import Card, CardBlock, card_of
from scenes.fields import ShortText, Src, StrictModel

MAX_OVERLAYS = 8
MAX_OVERLAY_TIME_S = 3_600.0
# Subtitle-style slack: times written to the millisecond may land a hair past the end.
TIME_SLACK_S = 5e-4

Corner = Literal["top-left", "top-right", "bottom-left", "bottom-right"]
COLOUR_PATTERN = r"^#[0-9a-fA-F]{6}$"


def _check_colour(value: str) -> str:
    if not re.fullmatch(COLOUR_PATTERN, value):
        raise ValueError('must be a colour as "#rrggbb"')
    return value


# Checked by a validator (for its message), published as the pattern it checks.
Colour = Annotated[
    str, AfterValidator(_check_colour), Field(json_schema_extra={"pattern": COLOUR_PATTERN})
]
Seconds = Annotated[float, Field(ge=0, le=MAX_OVERLAY_TIME_S)]


class OverlayBase(StrictModel):
    """What every overlay has: the time range it shows over, on the video's timeline."""

    start: Seconds = Field(default=0.0, description="seconds from the video's start")
    end: Seconds | None = Field(default=None, description="seconds; default the end of the video")

    @model_validator(mode="after")
    def _ordered(self) -> OverlayBase:
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"end: must be after start ({self.start:g}s)")
        return self

    def media(self) -> dict[str, str]:
        """Every media source the overlay names, by field."""
        return {}


class LogoOverlay(OverlayBase):
    """A logo or watermark (PNG with alpha, JPEG, WebP) in a corner of the safe area."""

    type: Literal["logo"]
    src: Src
    corner: Corner = "top-right"
    width_percent: float = Field(default=15, ge=1, le=50, description="of the frame's width")
    opacity: float = Field(default=0.85, ge=0, le=1)

    def media(self) -> dict[str, str]:
        return {"src": self.src}


class ProgressOverlay(OverlayBase):
    """A bar along an edge, growing from nothing to the full width over its time range."""

    type: Literal["progress"]
    position: Literal["top", "bottom"] = "bottom"
    height_percent: float = Field(default=0.6, ge=0.2, le=3, description="of the frame's height")
    colour: Colour | None = Field(default=None, description='"#rrggbb"; default the accent')


class LowerThirdOverlay(OverlayBase):
    """A name plate in the lower third: a title and an optional subtitle, in the theme's
    fonts, colours and caption plate, entering as the theme's text does."""

    type: Literal["lower-third"]
    title: Annotated[ShortText, Field(min_length=1)]
    subtitle: ShortText | None = None
    # Laid out as a scene's card is (`renderer.cards` asks for both): never over a photo.
    background: ClassVar[None] = None

    @model_validator(mode="after")
    def _titled(self) -> LowerThirdOverlay:
        if not self.title.strip():
            raise ValueError("title: must not be blank")
        return self

    def card(self) -> Card | None:
        return card_of(
            CardBlock("title", self.title, "strong", "subtitle", "text", 2, keeps_size=True),
            CardBlock("subtitle", self.subtitle, "body", "caption", "muted", 2, scale=0.8),
            placement="caption",
        )


def _untagged(value: Any, handler: Any) -> Any:
    """The union's own validation, with the overlay's type left out of error locations.

    A discriminated union puts the chosen member's tag into the location; users never wrote
    that key: `overlays[1].width_percent`, not `overlays[1].logo.width_percent`."""
    try:
        return handler(value)
    except ValidationError as exc:
        errors = []
        for error in exc.errors():
            tagged = error["type"] not in ("union_tag_invalid", "union_tag_not_found")
            errors.append({**error, "loc": error["loc"][1:] if tagged else error["loc"]})
        raise CoreValidationError.from_exception_data(exc.title, errors) from None


Overlay = Annotated[
    Annotated[
        Union[LogoOverlay, ProgressOverlay, LowerThirdOverlay],  # noqa: UP007
        Field(discriminator="type"),
    ],
    WrapValidator(_untagged),
]
Overlays = Annotated[list[Overlay], Field(max_length=MAX_OVERLAYS)]


def check_overlay_times(overlays: list[Overlay], duration_s: float) -> None:
    """Refuse an overlay that starts or ends past the end of the video."""
    for i, overlay in enumerate(overlays):
        if overlay.start >= duration_s:
            raise ValueError(
                f"overlays[{i}].start: {overlay.start:g}s is past the end of the video "
                f"({duration_s:g}s)"
            )
        if overlay.end is not None and overlay.end > duration_s + TIME_SLACK_S:
            raise ValueError(
                f"overlays[{i}].end: {overlay.end:g}s is past the end of the video "
                f"({duration_s:g}s)"
            )


def overlay_sources(overlays: list[Overlay]) -> list[tuple[str, str]]:
    """Every media source the overlays name, with the path of its field."""
    return [
        (f"overlays[{i}].{field}", src)
        for i, overlay in enumerate(overlays)
        for field, src in overlay.media().items()
    ]
