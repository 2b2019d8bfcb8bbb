"""Card layout: a scene's text as blocks, wrapped, auto-fitted and placed in the safe area.

Every font size shrinks together (body text first, titles later) until the whole card fits the
theme's safe area for the frame's aspect ratio; only at the smallest size are lines cut with an
ellipsis. The result is a plan of positioned runs and shapes that `renderer.text` draws.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
from PIL import ImageFont

from renderer.fonts import (
    Direction,
    Run,
    base_direction,
    chain_for,
    has_raqm,
    load_font,
    shaped_text,
    split_runs,
    visual_order,
)
from scenes import SceneBase
from themes import FontSpec, Theme, rgb

Size = tuple[int, int]
Box = tuple[int, int, int, int]
Area = tuple[float, float, float, float]

# Scale steps tried by auto-fit, largest first; below the last one lines are cut instead.
FIT_SCALES = tuple(round(0.92**i, 4) for i in range(14))  # 1.0 down to ~0.34
ELLIPSIS = "\u2026"
BULLET = "\u2022"
_DISPLAY = frozenset({"title", "mark"})  # roles that keep their size longest when fitting
_PROSE = frozenset({"body", "bullets"})  # roles wrapped greedily, not balanced


@dataclass(frozen=True)
class Block:
    """One element of a card: a title, a subtitle, one bullet..."""

    role: str
    text: str
    font: FontSpec
    size: float  # fraction of the frame's shorter side
    colour: str
    max_lines: int
    gap_before: float = 0.0  # in this block's em
    bullet: bool = False
    pill: bool = False  # drawn on a rounded plate in the accent colour (calls to action)


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


def layout_card(scene: SceneBase, theme: Theme, size: Size) -> CardLayout | None:
    """The scene's text laid out for `size`, or None when it has none. Cached."""
    fields = scene.text_fields()
    key = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in fields.items())
    kind = getattr(scene, "type", "")
    return _layout(kind, key, scene.background is not None, theme, size, has_raqm())


# ---------------------------------------------------------------- scene -> blocks


def _blocks(kind: str, fields: dict, theme: Theme) -> list[Block]:
    fonts, sizes, colours = theme.fonts, theme.sizes, theme.colors
    strong_body = replace(fonts.body, weight=min(900, fonts.body.weight + 200))
    blocks: list[Block] = []

    def add(role, text, font, size, colour, max_lines, gap=0.0, **flags) -> None:
        if text and text.strip():
            text = text.upper() if font.uppercase else text
            blocks.append(Block(role, text.strip(), font, size, colour, max_lines, gap, **flags))

    if kind in ("image", "video"):
        add("caption", fields.get("caption"), strong_body, sizes.caption, colours.text, 3)
    elif kind == "quote":
        quote_font = fonts.quote or replace(fonts.title, uppercase=False)
        author = fields.get("author")
        add("mark", "\u201c", quote_font, sizes.quote * 2.4, colours.accent, 1)
        add("text", fields.get("text"), quote_font, sizes.quote, colours.text, 12)
        add(
            "author", author and f"\u2014 {author}", fonts.body, sizes.author, colours.muted, 2, 0.9
        )
    elif kind == "text":
        add("title", fields.get("title"), fonts.title, sizes.heading, colours.text, 3)
        add("body", fields.get("body"), fonts.body, sizes.body, colours.text, 22, 0.7)
        for i, bullet in enumerate(fields.get("bullets") or []):
            gap = 0.7 if i == 0 else 0.35
            add("bullets", bullet, fonts.body, sizes.body, colours.text, 3, gap, bullet=True)
    else:  # title, outro and any kind with a title
        scale = 0.85 if kind == "outro" else 1.0
        add("title", fields.get("title"), fonts.title, sizes.title * scale, colours.text, 4)
        add("subtitle", fields.get("subtitle"), fonts.body, sizes.subtitle, colours.muted, 3, 0.5)
        # The call to action sits on a pill in the accent colour.
        on_accent = on_colour(colours.accent)
        cta = fields.get("text") or fields.get("body")
        add("text", cta, strong_body, sizes.subtitle, on_accent, 2, 1.1, pill=True)
    return blocks


# ---------------------------------------------------------------- fitting


@lru_cache(maxsize=128)
def _layout(
    kind: str,
    fields: tuple[tuple[str, object], ...],
    over_photo: bool,
    theme: Theme,
    size: Size,
    raqm: bool,
) -> CardLayout | None:
    values = {k: list(v) if isinstance(v, tuple) else v for k, v in fields}
    blocks = _blocks(kind, values, theme)
    if not blocks:
        return None
    caption = kind in ("image", "video")
    area = _safe_area(theme, size, caption)

    def fit(scale: tuple[float, float], cut: bool = False) -> list[_Laid] | None:
        return _fit(blocks, theme, size, area, scale, caption, raqm, cut)

    # Body text gives way first: a heading keeps its size until the body is at 3/4 of its own.
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
    runs, ink, rules = _position(laid, theme, area, caption)
    em = laid[0].measure.px
    shapes = _backing(theme, size, ink, em, caption, over_photo, blocks)
    main_role = next(b.role for b in blocks if b.role != "mark")
    return CardLayout(runs, ink, shapes, rules, main_role, em, raqm)


def _safe_area(theme: Theme, size: Size, caption: bool) -> Area:
    width, height = size
    margins = theme.safe_areas.for_size(size)
    x0, x1 = width * margins.x, width * (1 - margins.x)
    y0, y1 = height * margins.top, height * (1 - margins.bottom)
    if caption:  # the lower third of the safe area, at most
        y0 = max(y0, y1 - height * 0.34)
    return x0, y0, x1, y1


_CJK = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\U00020000-\U0003ffff]")
# Closing punctuation (ideographic and fullwidth ones, then ASCII) never starts a line.
_CLOSING = (
    "\u3001\u3002\uff0c\uff0e\uff01\uff1f\uff1a\uff1b"
    "\uff09\u300d\u300f\u3011\u3009\u300b\u201d\u2019!?.,;:)]}"
)


def _tokens(text: str) -> list[str]:
    """Pieces a line may break after: words with their trailing spaces, single CJK characters."""
    pieces: list[str] = []
    for word in re.findall(r"\S+\s*|\s+", text):
        if not _CJK.search(word):
            pieces.append(word)
            continue
        current = ""
        for char in word:
            # CJK text breaks between characters, but never before closing punctuation.
            if current and _CJK.match(char) and char not in _CLOSING:
                pieces.append(current)
                current = ""
            current += char
        pieces.append(current)
    return pieces


class _Measure:
    """Widths of strings in one style, memoised for the duration of one layout."""

    def __init__(self, chain: tuple[str, ...], px: int, weight: int, raqm: bool, base: Direction):
        self.chain, self.px, self.weight, self.raqm, self.base = chain, px, weight, raqm, base
        self._cache: dict[str, float] = {}

    def runs(self, text: str) -> list[Run]:
        return split_runs(text, self.chain, self.base)

    def font(self, path: str) -> ImageFont.FreeTypeFont:
        return load_font(path, self.px, self.weight, self.raqm)

    def width(self, text: str) -> float:
        if text not in self._cache:
            total = 0.0
            for run in self.runs(text):
                shaped, direction = shaped_text(run, self.raqm)
                kwargs = {"direction": direction} if direction else {}
                total += self.font(run.path).getlength(shaped, **kwargs)
            self._cache[text] = total
        return self._cache[text]

    def line_advance(self, spacing: float) -> float:
        # Script and display faces reach far above and below their size: never let lines touch.
        _, top, _, bottom = self.font(self.chain[0]).getbbox("ÅHgjy", anchor="ls")
        return max(self.px * spacing, (bottom - top) * 1.04)

    def ascent(self) -> float:
        return -self.font(self.chain[0]).getbbox("H", anchor="ls")[1]


def _wrap(text: str, measure: _Measure, max_width: float, cut_words: bool) -> list[str] | None:
    """Greedy wrap; None when a single word is wider than the line (and may not be cut).

    Widths add up token by token (each token measured once), so wrapping is linear in the
    text; the few pixels of kerning this ignores are absorbed when lines are placed.
    """
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        current, current_width = "", 0.0  # current_width includes trailing spaces
        for token in _tokens(paragraph):
            if current and current_width + measure.width(token.rstrip()) <= max_width:
                current, current_width = current + token, current_width + measure.width(token)
                continue
            if current.strip():
                lines.append(current.rstrip())
            current = token.lstrip() if not current.strip() else token
            current_width = measure.width(current)
            if measure.width(current.rstrip()) > max_width:
                if not cut_words:
                    return None
                pieces = _cut_word(current, measure, max_width)
                lines.extend(pieces[:-1])
                current = pieces[-1]
                current_width = measure.width(current)
        if current.strip():
            lines.append(current.rstrip())
    return lines


def _balance(text: str, measure: _Measure, max_width: float, lines: list[str]) -> list[str]:
    """The same number of lines at the narrowest width: no lone word left on a title's last line."""
    low, high, best = max_width * 0.4, max_width, lines
    for _ in range(8):
        middle = (low + high) / 2
        attempt = _wrap(text, measure, middle, cut_words=False)
        if attempt is not None and len(attempt) <= len(lines):
            best, high = attempt, middle
        else:
            low = middle
    return best


def _cut_word(word: str, measure: _Measure, max_width: float) -> list[str]:
    pieces, current = [], ""
    for char in word:
        if current and measure.width(current + char) > max_width:
            pieces.append(current)
            current = ""
        current += char
    return [*pieces, current]


def _truncate(lines: list[str], keep: int, measure: _Measure, max_width: float) -> list[str]:
    if len(lines) <= keep:
        return lines
    kept = lines[:keep]
    last = kept[-1]
    while last and measure.width(last + ELLIPSIS) > max_width:
        last = last[:-1]
    kept[-1] = last.rstrip() + ELLIPSIS
    return kept


@dataclass(frozen=True)
class _Laid:
    """A block wrapped at one scale: its lines and the vertical space it takes."""

    block: Block
    measure: _Measure
    lines: tuple[str, ...]
    advance: float  # baseline to baseline
    gap: float  # space above
    after: float  # space below (the accent rule under a title)

    @property
    def height(self) -> float:
        return self.gap + self.advance * len(self.lines) + self.after


def _fit(
    blocks: list[Block],
    theme: Theme,
    size: Size,
    area: Area,
    scale: tuple[float, float],
    caption: bool,
    raqm: bool,
    cut: bool,
) -> list[_Laid] | None:
    """Wrap every block at `scale`; None when they do not fit (with `cut`, they always do)."""
    short_side = min(size)
    width, height = area[2] - area[0], area[3] - area[1]
    title_scale, body_scale = scale
    laid: list[_Laid] = []
    for block in blocks:
        here = title_scale if block.role in _DISPLAY else body_scale
        # Never below ~1/60 of the frame: cutting lines beats text nobody can read.
        px = max(6, round(short_side / 60), round(block.size * short_side * here))
        measure = _Measure(
            chain_for(block.font.family), px, block.font.weight, raqm, base_direction(block.text)
        )
        indent = measure.width(BULLET + "  ") if block.bullet else 0.0
        pad = px * 0.9 if block.pill or caption else 0.0  # room for the plate's padding
        line_width = width - indent - pad
        lines = _wrap(block.text, measure, line_width, cut_words=cut)
        if lines is None:
            return None
        if 1 < len(lines) <= block.max_lines and block.role not in _PROSE:
            lines = _balance(block.text, measure, line_width, lines)
        if len(lines) > block.max_lines:
            if not cut:
                return None
            lines = _truncate(lines, block.max_lines, measure, line_width)
        if block.role == "mark":
            # A quotation mark sits high in its line: pull the quote up to it.
            advance = measure.line_advance(1.0) * 0.62
        else:
            advance = measure.line_advance(theme.layout.line_spacing)
        gap = block.gap_before * px if laid else 0.0
        rule = block.role == "title" and theme.layout.accent_rule and not caption
        laid.append(_Laid(block, measure, tuple(lines), advance, gap, px * 0.45 if rule else 0.0))
    if sum(item.height for item in laid) <= height:
        return laid
    return _drop_overflow(laid, height) if cut else None


def _drop_overflow(laid: list[_Laid], height: float) -> list[_Laid]:
    """At the smallest scale, cut the longest block's lines until the card fits its area.

    The main block keeps at least one line; other blocks that cannot keep one are left out.
    """
    laid = list(laid)
    main = next(i for i, item in enumerate(laid) if item.block.role != "mark")
    while sum(item.height for item in laid) > height:
        index = max(range(len(laid)), key=lambda i: len(laid[i].lines))
        item = laid[index]
        if len(item.lines) > 1:
            width = max(item.measure.width(line) for line in item.lines) + 1
            lines = _truncate(list(item.lines), len(item.lines) - 1, item.measure, width)
            laid[index] = replace(item, lines=tuple(lines))
            continue
        removable = [i for i in range(len(laid)) if i != main]
        if not removable:
            break
        laid.pop(removable[-1])
        main = next(i for i, item in enumerate(laid) if item.block.role != "mark")
    return laid


# ---------------------------------------------------------------- positioning


def _position(
    laid: list[_Laid], theme: Theme, area: Area, caption: bool
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
            if block.role == "mark":
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
            rules.append(_rule(theme, ink["title"], y, measure.px, area))
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
    measure: _Measure
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


def _rule(theme: Theme, title_ink: list[float], y: float, px: int, area: Area) -> Shape:
    thickness = max(2.0, px * 0.07)
    length = max(px * 1.2, min(px * 2.4, title_ink[2] - title_ink[0]))
    top = y + px * 0.2
    x0 = area[0] if theme.layout.align == "left" else (area[0] + area[2]) / 2 - length / 2
    return Shape(
        "rule", (x0, top, x0 + length, top + thickness), theme.colors.accent, 1.0, thickness / 2
    )


def _backing(
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
    if caption and "caption" in ink and layout.caption_plate != "none":
        x0, y0, x1, y1 = ink["caption"]
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


# ---------------------------------------------------------------- colour


def on_colour(colour: str) -> str:
    """Near-black or white, whichever reads better on `colour` (text on an accent pill)."""
    return "#111111" if luminance(colour) > 0.3 else "#ffffff"


def luminance(colour: str) -> float:
    channels = [c / 255 for c in rgb(colour)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
