"""A scene's card laid out for one theme and size: its blocks in the theme's styles, wrapped,
auto-fitted and placed in the safe area.

Every font size shrinks together (body text first, display text later) until the whole card
fits the theme's safe area for the frame's aspect ratio; only at the smallest size are lines
cut with an ellipsis. The result is a plan of positioned runs and shapes that `renderer.text`
draws.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

from renderer.cards.fit import Laid, fit_blocks
from renderer.cards.model import Area, Block, CardLayout, Size
from renderer.cards.place import backing, on_colour, position
from renderer.fonts import has_raqm
from scenes import SceneBase
from scenes.card import Card, CardBlock
from themes import FontSpec, Theme

# Scale steps tried by auto-fit, largest first; below the last one lines are cut instead.
FIT_SCALES = tuple(round(0.92**i, 4) for i in range(14))  # 1.0 down to ~0.34


def layout_card(scene: SceneBase, theme: Theme, size: Size) -> CardLayout | None:
    """The scene's text laid out for `size`, or None when it has none. Cached."""
    card = scene.card()
    if card is None:
        return None
    return _layout(card, scene.background is not None, theme, size, has_raqm())


def resolve(block: CardBlock, theme: Theme) -> Block:
    """A kind's block in this theme's fonts, sizes and colours."""
    fonts, colours = theme.fonts, theme.colors
    faces: dict[str, FontSpec] = {
        "title": fonts.title,
        "body": fonts.body,
        "strong": replace(fonts.body, weight=min(900, fonts.body.weight + 200)),
        "quote": fonts.quote or replace(fonts.title, uppercase=False),
    }
    font = faces[block.font]
    colour = on_colour(colours.accent) if block.colour == "on_accent" else None
    text = (block.text or "").strip()
    return Block(
        role=block.role,
        text=text.upper() if font.uppercase else text,
        font=font,
        size=getattr(theme.sizes, block.size) * block.scale,
        colour=colour or getattr(colours, block.colour),
        max_lines=block.max_lines,
        gap_before=block.gap_before,
        keeps_size=block.keeps_size,
        greedy_wrap=block.greedy_wrap,
        ornament=block.ornament,
        accent_rule=block.accent_rule,
        bullet=block.bullet,
        pill=block.pill,
    )


@lru_cache(maxsize=128)
def _layout(
    card: Card, over_photo: bool, theme: Theme, size: Size, raqm: bool
) -> CardLayout | None:
    blocks = [resolve(block, theme) for block in card.blocks]
    caption = card.placement == "caption"
    area = _safe_area(theme, size, caption)

    def fit(scale: tuple[float, float], cut: bool = False) -> list[Laid] | None:
        return fit_blocks(blocks, theme, size, area, scale, caption, raqm, cut)

    # Body text gives way first: display text keeps its size until the body is at 3/4 of its own.
    scales = [(min(1.0, s / 0.75), s) for s in FIT_SCALES]
    laid = fit(scales[0])
    if laid is None:
        # Binary search for the largest scale that fits (smaller text fits in more cases).
        low, high = 1, len(scales) - 1
        while low <= high:
            middle = (low + high) // 2
            attempt = fit(scales[middle])
            if attempt is not None:
                laid, high = attempt, middle - 1
            else:
                low = middle + 1
    if laid is None:
        laid = fit(scales[-1], cut=True) or []
    runs, ink, rules = position(laid, theme, area, caption)
    em = laid[0].measure.px
    shapes = backing(theme, size, ink, em, caption, over_photo, blocks)
    main_role = next(b.role for b in blocks if not b.ornament)
    return CardLayout(runs, ink, shapes, rules, main_role, em, raqm)


def _safe_area(theme: Theme, size: Size, caption: bool) -> Area:
    width, height = size
    margins = theme.safe_areas.for_size(size)
    x0, x1 = width * margins.x, width * (1 - margins.x)
    y0, y1 = height * margins.top, height * (1 - margins.bottom)
    if caption:  # the lower third of the safe area, at most
        y0 = max(y0, y1 - height * 0.34)
    return x0, y0, x1, y1
