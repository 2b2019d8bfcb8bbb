"""The typed theme: what one TOML file (after `extends` is merged) turns into.

Frozen and hashable, so renderers can key caches (cards, effect clips) on a theme.
Sizes are fractions of the frame (text sizes of its shorter side), so one theme fits every format.
"""

from __future__ import annotations

import re
from dataclasses import field
from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field
from pydantic.dataclasses import dataclass

from scenes import Transition
from scenes.captions import CaptionPosition, CaptionStyle
from themes.fonts import FAMILIES

_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")

Background = Literal["solid", "gradient", "blur"]
Gradient = Literal["vertical", "diagonal", "radial"]
TextAnimation = Literal["none", "fade", "slide-up", "pop"]
Effect = Literal["none", "snow", "sparkles", "bokeh", "grain", "vignette"]
AspectClass = Literal["tall", "portrait", "square", "landscape"]


def _hex_colour(value: str) -> str:
    if not _HEX.match(value):
        raise ValueError(f"must be a hex colour like #1a2b3c, not {value!r}")
    if len(value) == 4:  # "#abc" → "#aabbcc"
        value = "#" + "".join(c * 2 for c in value[1:])
    return value.lower()


Colour = Annotated[str, AfterValidator(_hex_colour)]


def _known_family(value: str) -> str:
    if value not in FAMILIES:
        raise ValueError(f"unknown font {value!r} (one of: {', '.join(sorted(FAMILIES))})")
    return value


Family = Annotated[str, AfterValidator(_known_family)]
Fraction = Annotated[float, Field(ge=0, le=0.45)]
TextSize = Annotated[float, Field(gt=0.005, le=0.4)]

_STRICT = ConfigDict(extra="forbid")


def rgb(colour: str) -> tuple[int, int, int]:
    """Parse "#rrggbb" into (r, g, b)."""
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


@dataclass(frozen=True, config=_STRICT)
class Palette:
    """Theme colours as "#rrggbb"."""

    background: Colour = "#111827"
    background2: Colour = "#1f2937"  # gradient end
    text: Colour = "#ffffff"
    accent: Colour = "#38bdf8"
    muted: Colour = "#cbd5e1"  # subtitles, authors


@dataclass(frozen=True, config=_STRICT)
class FontSpec:
    """A family from `themes.fonts.FAMILIES` (or a font file beside the theme) and a weight."""

    family: str = "noto-sans"
    weight: int = Field(default=400, ge=100, le=900)
    uppercase: bool = False


@dataclass(frozen=True, config=_STRICT)
class Fonts:
    title: FontSpec = field(default_factory=lambda: FontSpec(weight=700))
    body: FontSpec = field(default_factory=FontSpec)
    quote: FontSpec | None = None  # None: the title's family, never uppercased


@dataclass(frozen=True, config=_STRICT)
class TextSizes:
    """Font sizes as fractions of the frame's shorter side."""

    title: TextSize = 0.1
    subtitle: TextSize = 0.05
    heading: TextSize = 0.075  # the title of a text scene
    body: TextSize = 0.046
    quote: TextSize = 0.068
    author: TextSize = 0.042
    caption: TextSize = 0.046


@dataclass(frozen=True, config=_STRICT)
class Margins:
    """A safe area: `x` of the width on each side, `top`/`bottom` of the height."""

    x: Fraction = 0.08
    top: Fraction = 0.08
    bottom: Fraction = 0.08


@dataclass(frozen=True, config=_STRICT)
class SafeAreas:
    """Margins per aspect class; vertical reels leave room for the apps' own buttons."""

    tall: Margins = field(default_factory=lambda: Margins(x=0.08, top=0.14, bottom=0.22))
    portrait: Margins = field(default_factory=lambda: Margins(x=0.08, top=0.08, bottom=0.12))
    square: Margins = field(default_factory=lambda: Margins(x=0.08, top=0.08, bottom=0.08))
    landscape: Margins = field(default_factory=lambda: Margins(x=0.1, top=0.1, bottom=0.12))

    def for_size(self, size: tuple[int, int]) -> Margins:
        return getattr(self, aspect_class(size))


@dataclass(frozen=True, config=_STRICT)
class Layout:
    """Where and how text sits.

    `align`/`vertical` place centred cards (title, text, quote, outro) inside the safe area;
    captions always sit in the lower third. `text_style` keeps text readable over any photo:
    a soft shadow, a glow in the accent colour, or an outline. `caption_plate` is drawn behind
    captions: a translucent box, a full-width dark band, or nothing but the text style.
    """

    align: Literal["center", "left"] = "center"
    vertical: Literal["center", "upper", "lower"] = "center"
    text_style: Literal["shadow", "glow", "outline"] = "shadow"
    caption_plate: Literal["box", "band", "none"] = "box"
    accent_rule: bool = True  # a short bar in the accent colour under a title
    line_spacing: float = Field(default=1.15, ge=0.8, le=2.0)
    plate_opacity: float = Field(default=0.62, ge=0, le=1)


@dataclass(frozen=True, config=_STRICT)
class EffectParams:
    """Tuning of the overlay effect; `loop_s` is the length of the seamless loop."""

    density: float = Field(default=1.0, gt=0, le=4)
    speed: float = Field(default=1.0, gt=0, le=4)
    opacity: float = Field(default=0.85, gt=0, le=1)
    colour: Colour = "#ffffff"
    loop_s: float = Field(default=4.0, ge=1, le=10)


@dataclass(frozen=True, config=_STRICT)
class CaptionLook:
    """How caption tracks look where the spec leaves it open: large, bold and high-contrast
    (white in a dark outline, whatever the photo), for a phone watched muted. Set in the
    title's family unless `family` names another; `highlight` None is the theme's accent
    (the lit word in karaoke and pop, the box behind it in highlight)."""

    style: CaptionStyle = "karaoke"
    position: CaptionPosition = "bottom"
    family: Family | None = None
    size: TextSize = 0.085
    weight: int = Field(default=800, ge=100, le=900)
    uppercase: bool = False
    colour: Colour = "#ffffff"
    highlight: Colour | None = None
    outline: Colour = "#000000"


@dataclass(frozen=True, config=_STRICT)
class Theme:
    """A complete, merged theme. `name` is the file's stem; `source` the file it came from."""

    name: str
    description: str = ""
    background: Background = "gradient"
    gradient: Gradient = "vertical"
    transition: Transition = field(default_factory=Transition)
    colors: Palette = field(default_factory=Palette)
    fonts: Fonts = field(default_factory=Fonts)
    sizes: TextSizes = field(default_factory=TextSizes)
    layout: Layout = field(default_factory=Layout)
    safe_areas: SafeAreas = field(default_factory=SafeAreas)
    text_animation: TextAnimation = "fade"
    text_animation_s: float = Field(default=0.6, ge=0, le=3)
    effect: Effect = "none"
    effect_params: EffectParams = field(default_factory=EffectParams)
    captions: CaptionLook = field(default_factory=CaptionLook)
    music: str | None = Field(default=None, min_length=1, max_length=4096)
    # Where the theme was read from (for messages); not part of its identity.
    source: str = field(default="", compare=False)

    @property
    def palette(self) -> Palette:
        return self.colors


def aspect_class(size: tuple[int, int]) -> AspectClass:
    """9:16 → tall, 4:5 → portrait, 1:1 → square, 16:9 → landscape (nearest by height/width)."""
    width, height = size
    ratio = height / width
    if ratio >= 1.5:
        return "tall"
    if ratio >= 1.12:
        return "portrait"
    if ratio >= 0.9:
        return "square"
    return "landscape"
