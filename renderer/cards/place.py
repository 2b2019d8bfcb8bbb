"""Placing a fitted card: every line at its baseline in the safe area, ink boxes, the accent rule,
and what goes behind the text (scrims, plates, pills)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from renderer.cards.fit import BULLET, Laid
from renderer.cards.linebreak import Measure
from renderer.cards.model import Area, Block, Box, PlacedRun, Shape, Size
from renderer.fonts import shaped_text, visual_order
from themes import Theme, rgb


def position(
    laid: list[Laid], theme: Theme, area: Area, caption: bool
) -> tuple[tuple[PlacedRun, ...], dict[str, Box], tuple[Shape, ...]]:
    """Place every line: the block stack aligned in the area, each line aligned in its column."""
    ax0, ay0, ax1, ay1 = area
    width, height = ax1 - ax0, ay1 - ay0
    total = sum(item.height for item in laid)
    if caption or theme.layout.vertical == "lower":
        y = ay1 - total
    elif theme.layout.vertical == "upper":
        y = ay0
    else:
        y = ay0 + (height - total) / 2
    # A list is aligned as a whole (its widest item sets its width); markers lead each item.
    list_width = max(
        (i.measure.width(BULLET + "  ") + max(map(i.measure.width, i.lines)) for i in laid
         if i.block.bullet),
        default=0.0,
    )  # fmt: skip
    runs: list[PlacedRun] = []
    rules: list[Shape] = []
    ink: dict[str, list[float]] = {}
    align = theme.layout.align
    for item in laid:
        block, measure = item.block, item.measure
        y += item.gap
        rtl = measure.base == "rtl"
        # Plates and pills reach past their text: keep them inside the safe area too.
        inset = measure.px * 0.45 if block.pill or caption else 0.0
        for line in item.lines:
            if block.ornament:
                baseline = y + measure.ascent() * 0.55 + item.advance * 0.45
            else:
                baseline = y + (item.advance - measure.px) / 2 + measure.ascent()
            line_width = measure.width(line)
            place = _LinePlacer(runs, ink, measure, baseline)
            if block.bullet:
                left = _aligned(align, ax0, width, list_width, rtl)
                marker = measure.width(BULLET + "  ")
                if rtl:
                    marker_x = left + list_width - measure.width(BULLET)
                    text_x = left + list_width - marker - line_width
                else:
                    marker_x, text_x = left, left + marker
                place("bullets-marker", BULLET, marker_x, theme.colors.accent)
                place(block.role, line, text_x, block.colour, bounds=(ax0, ax1))
            else:
                left = _aligned(align, ax0 + inset, width - 2 * inset, line_width, rtl)
                bounds = (ax0 + inset, ax1 - inset)
                place(block.role, line, left, block.colour, on_pill=block.pill, bounds=bounds)
            y += item.advance
        if item.after:
            rules.append(_rule(theme, ink[block.role], y, measure.px, area))
            y += item.after
    return tuple(runs), {role: _int_box(b) for role, b in ink.items()}, tuple(rules)


def _aligned(align: str, x0: float, width: float, content: float, rtl: bool) -> float:
    """Left edge of `content` in a column: centred, or flush to where the script starts."""
    if align == "center":
        return x0 + (width - content) / 2
    return x0 + width - content if rtl else x0


@dataclass
class _LinePlacer:
    """Places lines at one baseline into the shared run list and ink boxes."""

    runs: list[PlacedRun]
    ink: dict[str, list[float]]
    measure: Measure
    baseline: float

    def __call__(
        self,
        role: str,
        line: str,
        left: float,
        colour: str,
        on_pill: bool = False,
        bounds: tuple[float, float] | None = None,
    ) -> None:
        """Place `line` from `left`; with `bounds`, nudge it so its ink stays inside them."""
        measure, baseline = self.measure, self.baseline
        placed: list[PlacedRun] = []
        boxes: list[tuple[float, float, float, float]] = []
        x = left
        for run in visual_order(measure.runs(line)):
            shaped, direction = shaped_text(run, measure.raqm)
            kwargs = {"direction": direction} if direction else {}
            font = measure.font(run.path)
            if shaped.strip():
                bx0, by0, bx1, by1 = font.getbbox(shaped, anchor="ls", **kwargs)
                boxes.append((x + bx0, baseline + by0, x + bx1, baseline + by1))
            font_key = (run.path, measure.px, measure.weight)
            placed.append(PlacedRun(x, baseline, shaped, direction, font_key, colour, on_pill))
            x += font.getlength(shaped, **kwargs)
        if not boxes:
            return
        x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
        x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
        shift = 0.0
        if bounds is not None:
            # Glyphs may reach past their advance (italic and display faces overhang a little).
            if x1 > bounds[1]:
                shift = bounds[1] - x1
            if x0 + shift < bounds[0]:
                shift = bounds[0] - x0
        self.runs.extend(replace(run, x=run.x + shift) for run in placed)
        box = [x0 + shift, y0, x1 + shift, y1]
        if role in self.ink:
            old = self.ink[role]
            box = [
                min(old[0], box[0]),
                min(old[1], box[1]),
                max(old[2], box[2]),
                max(old[3], box[3]),
            ]
        self.ink[role] = box


def _int_box(box: list[float]) -> Box:
    return (int(box[0]), int(box[1]), int(np.ceil(box[2])), int(np.ceil(box[3])))


def _rule(theme: Theme, above: list[float], y: float, px: int, area: Area) -> Shape:
    thickness = max(2.0, px * 0.07)
    length = max(px * 1.2, min(px * 2.4, above[2] - above[0]))
    top = y + px * 0.2
    x0 = area[0] if theme.layout.align == "left" else (area[0] + area[2]) / 2 - length / 2
    return Shape(
        "rule", (x0, top, x0 + length, top + thickness), theme.colors.accent, 1.0, thickness / 2
    )


def backing(
    theme: Theme,
    size: Size,
    ink: dict[str, Box],
    em: int,
    caption: bool,
    over_photo: bool,
    blocks: list[Block],
) -> tuple[Shape, ...]:
    """Scrims, plates and pills behind the text, from the theme's layout settings."""
    width, height = size
    colours, layout = theme.colors, theme.layout
    shapes: list[Shape] = []
    if over_photo and not caption:
        shapes.append(Shape("scrim", (0, 0, width, height), colours.background, 0.45))
    if caption and ink and layout.caption_plate != "none":
        # One plate behind the whole caption.
        x0, y0 = min(b[0] for b in ink.values()), min(b[1] for b in ink.values())
        x1, y1 = max(b[2] for b in ink.values()), max(b[3] for b in ink.values())
        pad_x, pad_y = em * 0.45, em * 0.35
        if layout.caption_plate == "box":
            shapes.append(
                Shape(
                    "box",
                    (x0 - pad_x, y0 - pad_y, x1 + pad_x, y1 + pad_y),
                    colours.background,
                    layout.plate_opacity,
                    em * 0.3,
                )
            )
        else:
            band_top = max(0.0, y0 - (y1 - y0) - em * 2)
            shapes.append(
                Shape(
                    "band", (0, band_top, width, height), colours.background, layout.plate_opacity
                )
            )
    pill_roles = {b.role for b in blocks if b.pill}
    for role in pill_roles & set(ink):
        x0, y0, x1, y1 = ink[role]
        pad_x, pad_y = em * 0.35, em * 0.2
        shapes.append(
            Shape(
                "pill",
                (x0 - pad_x, y0 - pad_y, x1 + pad_x, y1 + pad_y),
                colours.accent,
                1.0,
                (y1 - y0) / 2 + pad_y,
            )
        )
    return tuple(shapes)


def on_colour(colour: str) -> str:
    """Near-black or white, whichever reads better on `colour` (text on an accent pill)."""
    return "#111111" if luminance(colour) > 0.3 else "#ffffff"


def luminance(colour: str) -> float:
    channels = [c / 255 for c in rgb(colour)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
