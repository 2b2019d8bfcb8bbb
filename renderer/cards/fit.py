"""Fitting a card's blocks into its area: every block wrapped at one scale, or cut to fit."""

from __future__ import annotations

from dataclasses import dataclass, replace

from renderer.cards.linebreak import Measure, balance, truncate, wrap
from renderer.cards.model import Area, Block, Size
from renderer.fonts import base_direction, chain_for
from themes import Theme

BULLET = "\u2022"


@dataclass(frozen=True)
class Laid:
    """A block wrapped at one scale: its lines and the vertical space it takes."""

    block: Block
    measure: Measure
    lines: tuple[str, ...]
    advance: float  # baseline to baseline
    gap: float  # space above
    after: float  # space below (the accent rule under a title)

    @property
    def height(self) -> float:
        return self.gap + self.advance * len(self.lines) + self.after


def fit_blocks(
    blocks: list[Block],
    theme: Theme,
    size: Size,
    area: Area,
    scale: tuple[float, float],
    caption: bool,
    raqm: bool,
    cut: bool,
) -> list[Laid] | None:
    """Wrap every block at `scale`; None when they do not fit (with `cut`, they always do)."""
    short_side = min(size)
    width, height = area[2] - area[0], area[3] - area[1]
    display_scale, body_scale = scale
    laid: list[Laid] = []
    for block in blocks:
        here = display_scale if block.keeps_size else body_scale
        # Never below ~1/60 of the frame: cutting lines beats text nobody can read.
        px = max(6, round(short_side / 60), round(block.size * short_side * here))
        measure = Measure(
            chain_for(block.font.family), px, block.font.weight, raqm, base_direction(block.text)
        )
        indent = measure.width(BULLET + "  ") if block.bullet else 0.0
        pad = px * 0.9 if block.pill or caption else 0.0  # room for the plate's padding
        line_width = width - indent - pad
        lines = wrap(block.text, measure, line_width, cut_words=cut)
        if lines is None:
            return None
        if 1 < len(lines) <= block.max_lines and not block.greedy_wrap:
            lines = balance(block.text, measure, line_width, lines)
        if len(lines) > block.max_lines:
            if not cut:
                return None
            lines = truncate(lines, block.max_lines, measure, line_width)
        if block.ornament:
            # A quotation mark sits high in its line: pull the quote up to it.
            advance = measure.line_advance(1.0) * 0.62
        else:
            advance = measure.line_advance(theme.layout.line_spacing)
        gap = block.gap_before * px if laid else 0.0
        rule = block.accent_rule and theme.layout.accent_rule and not caption
        laid.append(Laid(block, measure, tuple(lines), advance, gap, px * 0.45 if rule else 0.0))
    if sum(item.height for item in laid) <= height:
        return laid
    return drop_overflow(laid, height) if cut else None


def drop_overflow(laid: list[Laid], height: float) -> list[Laid]:
    """At the smallest scale, cut the longest block's lines until the card fits its area.

    The main block keeps at least one line; other blocks that cannot keep one are left out.
    """
    laid = list(laid)
    main = next(i for i, item in enumerate(laid) if not item.block.ornament)
    while sum(item.height for item in laid) > height:
        index = max(range(len(laid)), key=lambda i: len(laid[i].lines))
        item = laid[index]
        if len(item.lines) > 1:
            width = max(item.measure.width(line) for line in item.lines) + 1
            lines = truncate(list(item.lines), len(item.lines) - 1, item.measure, width)
            laid[index] = replace(item, lines=tuple(lines))
            continue
        removable = [i for i in range(len(laid)) if i != main]
        if not removable:
            break
        laid.pop(removable[-1])
        main = next(i for i, item in enumerate(laid) if not item.block.ornament)
    return laid
