"""Where a caption page's words sit: the track's band in the safe area, lines wrapped and
centred in it, each word's runs placed for `renderer.ink` to draw.

Every picture of a track is the band's size, so the graph overlays one stream of them at one
place. Words are laid out with the cards' font chain and measures, so every script, direction
and emoji is set as it is in cards; a right-to-left page reads its words right to left.
"""

from __future__ import annotations

from dataclasses import dataclass

from renderer.cards import PlacedRun
from renderer.cards.linebreak import Measure
from renderer.fonts import base_direction, chain_for, has_raqm, shaped_text, visual_order
from themes import Theme

# The font shrinks in these steps, down to the floor, until a page fits its lines.
SHRINK = 0.9
MIN_SCALE = 0.45
# Room around the text inside the band for the outline, the shadow and a pop's growth.
PAD_EM = 0.45
LINE_SPACING = 1.12


@dataclass(frozen=True)
class Band:
    """The track's place in the frame: x, y, width, height in px (all even)."""

    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class PlacedWord:
    runs: tuple[PlacedRun, ...]
    box: tuple[float, float, float, float]  # its em box in band px: x0, top, x1, bottom
    px: int


@dataclass(frozen=True)
class Style:
    """A track's resolved look."""

    chain: tuple[str, ...]
    px: int
    weight: int
    uppercase: bool
    max_lines: int

    def measure(self, px: int, text: str) -> Measure:
        return Measure(self.chain, px, self.weight, has_raqm(), base_direction(text))


def track_style(theme: Theme, size: tuple[int, int], max_lines: int) -> Style:
    look = theme.captions
    px = max(8, round(min(size) * look.size))
    family = look.family or theme.fonts.title.family
    return Style(chain_for(family), px, look.weight, look.uppercase, max_lines)


def band_for(theme: Theme, size: tuple[int, int], style: Style, position: str) -> Band:
    """Full safe-area width, tall enough for the track's lines at full size, at `position`."""
    width, height = size
    margins = theme.safe_areas.for_size(size)
    pad = round(style.px * PAD_EM)
    x0 = max(0, round(width * margins.x) - pad)
    band_w = width - 2 * x0
    line = style.measure(style.px, "Hg").line_advance(LINE_SPACING)
    band_h = min(height, round(line * style.max_lines) + 2 * pad)
    top, bottom = height * margins.top, height * (1 - margins.bottom)
    if position == "top":
        y = top - pad
    elif position == "center":
        y = (height - band_h) / 2
    else:
        y = bottom - band_h + pad
    y = min(max(0, round(y)), height - band_h)
    return Band(_even(x0), _even(y), _even(band_w, up=False), _even(band_h, up=False))


def layout_page(words: list[str], breaks: list[bool], style: Style, band: Band) -> list[PlacedWord]:
    """The page's words placed in the band, lines centred; the font shrinks until the page
    fits `style.max_lines` lines of the band's width."""
    if style.uppercase:
        words = [word.upper() for word in words]
    text = " ".join(words)
    px = style.px
    while True:
        measure = style.measure(px, text)
        pad = style.px * PAD_EM
        lines = _wrap(words, breaks, measure, band.width - 2 * pad)
        if len(lines) <= style.max_lines or px <= style.px * MIN_SCALE:
            break
        px = max(8, int(px * SHRINK))
    return _place(words, lines, measure, band, base_direction(text) == "rtl")


def _wrap(words: list[str], breaks: list[bool], measure: Measure, width: float) -> list[list[int]]:
    """Word indices per line, greedy, keeping forced breaks."""
    space = measure.width(" ")
    lines: list[list[int]] = [[]]
    used = 0.0
    for i, word in enumerate(words):
        needed = measure.width(word) + (space if lines[-1] else 0.0)
        if lines[-1] and used + needed > width:
            lines.append([])
            used, needed = 0.0, measure.width(word)
        lines[-1].append(i)
        used += needed
        if breaks[i] and i + 1 < len(words):
            lines.append([])
            used = 0.0
    return [line for line in lines if line]


def _place(
    words: list[str], lines: list[list[int]], measure: Measure, band: Band, rtl: bool
) -> list[PlacedWord]:
    advance = measure.line_advance(LINE_SPACING)
    block = advance * len(lines)
    # The first baseline: the block centred in the band, the cap height above each baseline.
    baseline = (band.height - block) / 2 + measure.ascent() + (advance - measure.px) / 2
    space = measure.width(" ")
    placed: dict[int, PlacedWord] = {}
    for number, line in enumerate(lines):
        y = baseline + number * advance
        order = list(reversed(line)) if rtl else line
        widths = [measure.width(words[i]) for i in order]
        x = (band.width - sum(widths) - space * (len(order) - 1)) / 2
        for index, width in zip(order, widths, strict=True):
            placed[index] = _word(words[index], x, y, width, measure)
            x += width + space
    return [placed[i] for i in range(len(words))]


def _word(word: str, x: float, baseline: float, width: float, measure: Measure) -> PlacedWord:
    runs = []
    at = x
    for run in visual_order(measure.runs(word)):
        shaped, direction = shaped_text(run, measure.raqm)
        kwargs = {"direction": direction} if direction else {}
        runs.append(
            PlacedRun(at, baseline, shaped, direction, (run.path, measure.px, measure.weight), "")
        )
        at += measure.font(run.path).getlength(shaped, **kwargs)
    top = baseline - measure.ascent() - measure.px * 0.12
    bottom = baseline + measure.px * 0.3
    return PlacedWord(tuple(runs), (x, top, x + width, bottom), measure.px)


def _even(value: float, up: bool = True) -> int:
    whole = int(value)
    return whole + (whole % 2 if up else -(whole % 2))
