"""What a scene kind says about its text card: its blocks in the theme's styles, and where it sits.

A kind names styles, never concrete fonts or colours: `font="title"` is the theme's title face,
`size="heading"` its heading size, `colour="accent"` its accent. The renderer resolves them
against the theme, wraps and fits the blocks into the format's safe area, and draws them; so
one recipe looks right in every theme and every format.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FontStyle = Literal["title", "body", "strong", "quote"]  # strong: the body face, bolder
SizeStyle = Literal["title", "subtitle", "heading", "body", "caption", "quote", "author"]
ColourStyle = Literal["text", "muted", "accent", "on_accent"]  # on_accent: legible on accent
Placement = Literal["centre", "caption"]


@dataclass(frozen=True)
class CardBlock:
    """One element of a card: a title, a subtitle, one bullet...

    `role` names the block's ink in the finished layout (the main text, the poster's focus,
    tests). How the block behaves when the card must shrink, wrap or be decorated is said by
    its flags, so the layout engine never needs to know which kind it serves.
    """

    role: str
    text: str | None  # None or blank: the block is left out of the card
    font: FontStyle
    size: SizeStyle
    colour: ColourStyle
    max_lines: int
    scale: float = 1.0  # times the theme's size
    gap_before: float = 0.0  # in this block's em
    keeps_size: bool = False  # display text: shrinks last when the card must fit
    greedy_wrap: bool = False  # prose: wrapped greedily, not balanced into even lines
    ornament: bool = False  # a decorative glyph (a quotation mark): tight line, never the main text
    accent_rule: bool = False  # the theme's accent rule goes under it, where the theme has one
    bullet: bool = False
    pill: bool = False  # drawn on a rounded plate in the accent colour (calls to action)


@dataclass(frozen=True)
class Card:
    """A scene's text, as blocks stacked in order.

    `placement`: "centre" sets the card in the safe area as the theme aligns it (with a scrim
    when it sits over a photo); "caption" sets it in the lower third, on the theme's plate.
    """

    blocks: tuple[CardBlock, ...]
    placement: Placement = "centre"


def card_of(*blocks: CardBlock | None, placement: Placement = "centre") -> Card | None:
    """The blocks that have text, as a card; None when none has (the scene shows no card)."""
    kept = tuple(block for block in blocks if block is not None and (block.text or "").strip())
    return Card(kept, placement) if kept else None
