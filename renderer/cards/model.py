"""The card layout's vocabulary: blocks in concrete styles, placed runs, shapes, the layout."""

from __future__ import annotations

from dataclasses import dataclass

from themes import FontSpec

Size = tuple[int, int]
Box = tuple[int, int, int, int]
Area = tuple[float, float, float, float]


@dataclass(frozen=True)
class Block:
    """One element of a card in the theme's concrete style: a title, a subtitle, one bullet...

    The flags are the kind's (`scenes.card.CardBlock`), unchanged."""

    role: str
    text: str
    font: FontSpec
    size: float  # fraction of the frame's shorter side
    colour: str
    max_lines: int
    gap_before: float = 0.0  # in this block's em
    keeps_size: bool = False
    greedy_wrap: bool = False
    ornament: bool = False
    accent_rule: bool = False
    bullet: bool = False
    pill: bool = False


@dataclass(frozen=True)
class PlacedRun:
    """A run of text at its final position, ready to draw."""

    x: float
    baseline: float
    text: str
    direction: str | None
    font: tuple[str, int, int]  # load_font key, less the engine
    colour: str
    on_pill: bool = False  # drawn over its own plate: no shadow or glow under it


@dataclass(frozen=True)
class Shape:
    """Something drawn with the text: a scrim, a band, a plate, a pill, a rule."""

    kind: str  # "scrim" | "band" | "box" | "pill" | "rule"
    box: tuple[float, float, float, float]
    colour: str
    opacity: float
    radius: float = 0.0


@dataclass(frozen=True)
class CardLayout:
    runs: tuple[PlacedRun, ...]
    ink: dict[str, Box]  # role -> bbox of its glyphs
    shapes: tuple[Shape, ...]  # behind the text effect
    rules: tuple[Shape, ...]  # drawn with the text (they get its shadow)
    main_role: str
    em: int  # the main block's font size, px
    raqm: bool
