"""Fonts for text cards: cached font objects, per-character fallback, right-to-left runs.

A line of text is split into runs, each drawn with the first font in the chain (the theme's
font, then Noto for Latin/Cyrillic/Greek, Arabic, Hebrew, CJK, Indic…, then symbols and emoji)
that has a glyph for it, so mixed-script text draws letters instead of boxes. Arabic and Hebrew
are shaped and ordered right-to-left by raqm when Pillow has it, else by `arabic-reshaper` and
`python-bidi`.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Literal

from fontTools.ttLib import TTFont
from PIL import ImageFont, features

from themes.fonts import fallback_paths, family_path

Direction = Literal["ltr", "rtl"]

_RTL_CLASSES = frozenset({"R", "AL"})
_LTR_CLASSES = frozenset({"L"})
_RIGHT_TO_LEFT = frozenset({"R", "AL", "AN"})
# Characters that belong to whatever run they are in: they never pick a font of their own.
_JOINERS = frozenset({"\u200d", "\u200c", "\ufe0e", "\ufe0f"})


@cache
def has_raqm() -> bool:
    """Whether Pillow can shape complex scripts itself (raqm with FriBiDi and HarfBuzz)."""
    return bool(features.check("raqm"))


@lru_cache(maxsize=256)
def load_font(path: str, size: int, weight: int, raqm: bool) -> ImageFont.FreeTypeFont:
    """A font object at `size` px; variable fonts are set to `weight` (clamped to their axis).

    `raqm` picks Pillow's layout engine; it must match what `shaped_text` was told.
    """
    engine = ImageFont.Layout.RAQM if raqm else ImageFont.Layout.BASIC
    font = ImageFont.truetype(path, size=max(1, size), layout_engine=engine)
    try:
        axes = font.get_variation_axes()
    except OSError:  # not a variable font
        return font
    values = []
    for axis in axes:
        name = axis.get("name")
        name = name.decode() if isinstance(name, bytes) else name
        value = float(weight) if str(name).lower() == "weight" else float(axis["default"])
        values.append(min(max(value, float(axis["minimum"])), float(axis["maximum"])))
    font.set_variation_by_axes(values)
    return font


@lru_cache(maxsize=64)
def coverage(path: str) -> frozenset[int]:
    """Code points the font has glyphs for."""
    with TTFont(path, lazy=True) as font:
        return frozenset(font.getBestCmap() or {})


@lru_cache(maxsize=64)
def chain_for(family: str) -> tuple[str, ...]:
    """The theme family's file, then every installed fallback not already in the chain."""
    primary = family_path(family)
    chain = [str(primary)] if primary else []
    chain += [str(p) for p in fallback_paths() if str(p) not in chain]
    return tuple(chain)


@dataclass(frozen=True)
class Run:
    """Consecutive characters drawn with one font at one bidi level, in logical order."""

    text: str
    path: str
    level: int = 0  # Unicode bidi embedding level: odd levels read right to left

    @property
    def direction(self) -> Direction:
        return "rtl" if self.level % 2 else "ltr"


def _pick(char: str, chain: tuple[str, ...]) -> str | None:
    code = ord(char)
    for path in chain:
        if code in coverage(path):
            return path
    return None


def base_direction(text: str) -> Direction:
    """A paragraph's direction: that of its first letter (Unicode bidi rules P2-P3)."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in _RTL_CLASSES:
            return "rtl"
        if kind in _LTR_CLASSES:
            return "ltr"
    return "ltr"


def bidi_levels(text: str, base: Direction) -> list[int]:
    """Embedding levels per character: the Unicode bidi algorithm without explicit embeddings.

    Letters are L or R; a number after R letters (or opening a right-to-left paragraph) reads
    as part of the right-to-left phrase (W2, W7); neutrals between two runs of the same
    direction take it, others the paragraph's (N1, N2); levels follow I1-I2.
    """
    paragraph = 1 if base == "rtl" else 0
    kinds: list[str | None] = []
    previous_strong = "R" if paragraph else "L"
    for char in text:
        bidi = unicodedata.bidirectional(char)
        if bidi in _RTL_CLASSES:
            kinds.append(previous_strong := "R")
        elif bidi in _LTR_CLASSES:
            kinds.append(previous_strong := "L")
        elif bidi in ("EN", "AN"):
            kinds.append("L" if previous_strong == "L" and bidi == "EN" else "N")
        else:
            kinds.append(None)
    # For neutrals, numbers count as right-to-left (N1).
    edge = "R" if paragraph else "L"
    strong = ["R" if k == "N" else k for k in kinds]
    before_of, after_of = [edge] * len(text), [edge] * len(text)
    last = edge
    for i, kind in enumerate(strong):
        before_of[i] = last
        last = kind or last
    last = edge
    for i in range(len(text) - 1, -1, -1):
        after_of[i] = last
        last = strong[i] or last
    levels: list[int] = []
    for i, kind in enumerate(kinds):
        if kind is None:
            kind = before_of[i] if before_of[i] == after_of[i] else edge
        if paragraph == 0:
            levels.append({"L": 0, "R": 1, "N": 2}[kind])
        else:
            levels.append({"L": 2, "R": 1, "N": 2}[kind])
    return levels


def split_runs(text: str, chain: tuple[str, ...], base: Direction | None = None) -> list[Run]:
    """Split `text` into runs by font (the first in `chain` with the glyph) and bidi level.

    Joiners and combining marks stay in the current run (switching fonts mid-cluster would
    break shaping). Characters no font has fall back to the first font, which draws its
    missing-glyph box. `base` is the paragraph's direction (default: from `text`).
    """
    if not text:
        return []
    base = base or base_direction(text)
    primary = coverage(chain[0])
    if base == "ltr" and all(
        ord(c) in primary and unicodedata.bidirectional(c) not in _RIGHT_TO_LEFT for c in text
    ):
        return [Run(text, chain[0], 0)]  # the common case: one font, left to right
    levels = bidi_levels(text, base)
    pieces: list[tuple[str, str, int]] = []
    for char, level in zip(text, levels, strict=True):
        if pieces and (char in _JOINERS or unicodedata.category(char).startswith("M")):
            chars, path, run_level = pieces[-1]
            pieces[-1] = (chars + char, path, run_level)
            continue
        # Spaces take the first font's space: an emoji font's space is five times as wide.
        path = chain[0] if char.isspace() else (_pick(char, chain) or chain[0])
        if pieces and pieces[-1][1:] == (path, level):
            pieces[-1] = (pieces[-1][0] + char, path, level)
        else:
            pieces.append((char, path, level))
    return [Run(chars, path, level) for chars, path, level in pieces]


def visual_order(runs: list[Run]) -> list[Run]:
    """Runs left to right on screen (Unicode bidi rule L2, at run level).

    From the highest level down to the lowest odd one, every maximal sequence at that level
    or above is reversed; each run's own characters are ordered by Pillow from its direction.
    """
    ordered = list(runs)
    if not ordered:
        return ordered
    highest = max(run.level for run in ordered)
    lowest_odd = min((run.level for run in ordered if run.level % 2), default=highest + 1)
    for level in range(highest, lowest_odd - 1, -1):
        i = 0
        while i < len(ordered):
            if ordered[i].level < level:
                i += 1
                continue
            j = i
            while j < len(ordered) and ordered[j].level >= level:
                j += 1
            ordered[i:j] = reversed(ordered[i:j])
            i = j
    return ordered


def shaped_text(run: Run, raqm: bool) -> tuple[str, Direction | None]:
    """The string to hand Pillow for `run`, and the direction to pass (None: leave it out).

    With raqm, Pillow shapes and reorders the run itself. Without it, Arabic letters are turned
    into their contextual presentation forms and the run is reordered into visual order here.
    """
    if run.direction != "rtl":
        return run.text, ("ltr" if raqm else None)
    if raqm:
        return run.text, "rtl"
    import arabic_reshaper  # only needed on installs where Pillow lacks raqm
    from bidi.algorithm import get_display

    return get_display(arabic_reshaper.reshape(run.text), base_dir="R"), None
