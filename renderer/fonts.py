"""Fonts for text cards: cached font objects, per-character fallback, right-to-left runs.

A line of text is split into runs, each drawn with the first font in the chain (the theme's
font, then Noto for Latin/Cyrillic/Greek, Arabic, Hebrew, CJK, Indic…, then symbols and emoji)
that has a glyph for it, so mixed-script text draws letters instead of boxes. Arabic and Hebrew
are shaped and ordered right-to-left by raqm when Pillow has it, else by `arabic-reshaper` and
`python-bidi`.

Emoji go to the emoji fonts (colour first) a whole sequence at a time: ZWJ sequences, skin tones,
flags and keycaps stay in one run, so HarfBuzz turns each into one glyph. The colour font is a
bitmap font FreeType opens only at its strike size: `load_font` gives it back as a `BitmapFont`,
measured at the strike and scaled to the text's size (`renderer.ink` draws it the same way).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, Literal

from fontTools.ttLib import TTFont
from PIL import ImageFont, features

from themes.fonts import emoji_paths, fallback_paths, family_path

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


@dataclass(frozen=True)
class BitmapFont:
    """A colour bitmap font shown at `px`: measured at its strike size, scaled by px / strike."""

    strike: ImageFont.FreeTypeFont  # the font opened at the one size FreeType accepts
    px: int

    @property
    def scale(self) -> float:
        return self.px / self.strike.size

    def getlength(self, text: str, **kwargs: Any) -> float:
        return self.strike.getlength(text, **kwargs) * self.scale

    def getbbox(self, text: str, **kwargs: Any) -> tuple[float, float, float, float]:
        x0, y0, x1, y1 = self.strike.getbbox(text, **kwargs)
        scale = self.scale
        return (x0 * scale, y0 * scale, x1 * scale, y1 * scale)


Font = ImageFont.FreeTypeFont | BitmapFont


@lru_cache(maxsize=64)
def bitmap_strike(path: str) -> int | None:
    """The pixel size of a colour bitmap (CBDT) font's largest strike; None for outline fonts."""
    with TTFont(path, lazy=True) as font:
        if "CBLC" not in font:
            return None
        # Read the strike headers from the raw table: decoding its glyph index takes 50 ms.
        # CBLC: version, strike count (uint32), then 48-byte BitmapSize records, ppemY at 45.
        table = font.reader["CBLC"]
        count = int.from_bytes(table[4:8], "big")
        return max(table[8 + 48 * index + 45] for index in range(count))


@lru_cache(maxsize=8)
def _strike_font(path: str, raqm: bool) -> ImageFont.FreeTypeFont:
    engine = ImageFont.Layout.RAQM if raqm else ImageFont.Layout.BASIC
    return ImageFont.truetype(path, size=bitmap_strike(path), layout_engine=engine)


@lru_cache(maxsize=256)
def load_font(path: str, size: int, weight: int, raqm: bool) -> Font:
    """A font object at `size` px; variable fonts are set to `weight` (clamped to their axis).

    `raqm` picks Pillow's layout engine; it must match what `shaped_text` was told. A colour
    bitmap font comes back as a `BitmapFont` (FreeType refuses it at any size but its strike's).
    """
    engine = ImageFont.Layout.RAQM if raqm else ImageFont.Layout.BASIC
    if bitmap_strike(path) is not None:
        return BitmapFont(_strike_font(path, raqm), max(1, size))
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


def forget_installed_fonts() -> None:
    """Look fonts up afresh on the next layout: one was installed or removed since."""
    chain_for.cache_clear()
    _emoji_fonts.cache_clear()


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


# Code points shown as emoji even without U+FE0F (Unicode's Emoji_Presentation=Yes): the
# symbols below U+1F300 one by one, then the pictograph blocks as a whole.
_EMOJI_PRESENTATION: tuple[tuple[int, int], ...] = (
    (0x231A, 0x231B), (0x23E9, 0x23EC), (0x23F0, 0x23F0), (0x23F3, 0x23F3), (0x25FD, 0x25FE),
    (0x2614, 0x2615), (0x2648, 0x2653), (0x267F, 0x267F), (0x2693, 0x2693), (0x26A1, 0x26A1),
    (0x26AA, 0x26AB), (0x26BD, 0x26BE), (0x26C4, 0x26C5), (0x26CE, 0x26CE), (0x26D4, 0x26D4),
    (0x26EA, 0x26EA), (0x26F2, 0x26F3), (0x26F5, 0x26F5), (0x26FA, 0x26FA), (0x26FD, 0x26FD),
    (0x2705, 0x2705), (0x270A, 0x270B), (0x2728, 0x2728), (0x274C, 0x274C), (0x274E, 0x274E),
    (0x2753, 0x2755), (0x2757, 0x2757), (0x2795, 0x2797), (0x27B0, 0x27B0), (0x27BF, 0x27BF),
    (0x2B1B, 0x2B1C), (0x2B50, 0x2B50), (0x2B55, 0x2B55), (0x1F004, 0x1F004),
    (0x1F0CF, 0x1F0CF), (0x1F18E, 0x1F18E), (0x1F191, 0x1F19A), (0x1F1E6, 0x1F1FF),
    (0x1F201, 0x1F201), (0x1F21A, 0x1F21A), (0x1F22F, 0x1F22F), (0x1F232, 0x1F236),
    (0x1F238, 0x1F23A), (0x1F250, 0x1F251), (0x1F300, 0x1FAFF),
)  # fmt: skip
_PRESENTATION_STARTS = tuple(start for start, _ in _EMOJI_PRESENTATION)
# Any emoji sequence holds one of these: a default emoji, U+FE0F or the keycap mark.
_MAY_BE_EMOJI = re.compile("[\u231a-\u2b55\ufe0f\u20e3\U0001f000-\U0001faff]")
_VS15, _VS16, _ZWJ, _KEYCAP = "\ufe0e", "\ufe0f", "\u200d", "\u20e3"


def _presented_as_emoji(char: str) -> bool:
    code = ord(char)
    index = bisect_right(_PRESENTATION_STARTS, code) - 1
    return index >= 0 and code <= _EMOJI_PRESENTATION[index][1]


def _is_regional(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def _extends_emoji(char: str) -> bool:
    """Part of the emoji before it: U+FE0F, a skin tone, or a tag (subdivision flags)."""
    code = ord(char)
    return char == _VS16 or 0x1F3FB <= code <= 0x1F3FF or 0xE0020 <= code <= 0xE007F


def emoji_sequence_length(text: str, start: int) -> int:
    """How many characters of `text` from `start` make one emoji, 0 when none starts there.

    An emoji is a default-emoji character or any symbol followed by U+FE0F or a skin tone,
    with its modifiers and ZWJ-joined partners (a family, a profession); a pair of regional
    indicators (a flag); or a digit, # or * with the keycap mark. U+FE0E asks for text.
    """
    first, following = text[start], text[start + 1 : start + 2]
    if _is_regional(first):
        return 2 if following and _is_regional(following) else 1
    if first in "0123456789#*":
        mark = start + 1 + (following == _VS16)
        return mark + 1 - start if text[mark : mark + 1] == _KEYCAP else 0
    if following == _VS15:
        return 0
    if not (_presented_as_emoji(first) or (following and _extends_emoji(following))):
        return 0
    end = start + 1
    while end < len(text):
        if _extends_emoji(text[end]):
            end += 1
        elif text[end] == _ZWJ and end + 1 < len(text) and _joins_emoji(text[end + 1]):
            end += 2
        else:
            break
    return end - start


def _joins_emoji(char: str) -> bool:
    return _presented_as_emoji(char) or unicodedata.category(char) == "So"


@lru_cache(maxsize=64)
def _emoji_fonts(chain: tuple[str, ...]) -> tuple[str, ...]:
    installed = {str(path) for path in emoji_paths()}
    return tuple(path for path in chain if path in installed)


def _pick_emoji(char: str, chain: tuple[str, ...]) -> str:
    """The first emoji font in `chain` with `char` (colour before monochrome), else any font."""
    code = ord(char)
    for path in _emoji_fonts(chain):
        if code in coverage(path):
            return path
    return _pick(char, chain) or chain[0]


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
    break shaping); an emoji sequence goes whole to the first emoji font that has it. Characters
    no font has fall back to the first font, which draws its missing-glyph box. `base` is the
    paragraph's direction (default: from `text`).
    """
    if not text:
        return []
    base = base or base_direction(text)
    primary = coverage(chain[0])
    if (
        base == "ltr"
        and not _MAY_BE_EMOJI.search(text)
        and all(
            ord(c) in primary and unicodedata.bidirectional(c) not in _RIGHT_TO_LEFT for c in text
        )
    ):
        return [Run(text, chain[0], 0)]  # the common case: one font, left to right
    levels = bidi_levels(text, base)
    pieces: list[tuple[str, str, int]] = []

    def add(chars: str, path: str, level: int) -> None:
        if pieces and pieces[-1][1:] == (path, level):
            pieces[-1] = (pieces[-1][0] + chars, path, level)
        else:
            pieces.append((chars, path, level))

    i = 0
    while i < len(text):
        char, level = text[i], levels[i]
        length = emoji_sequence_length(text, i)
        if length:
            add(text[i : i + length], _pick_emoji(char, chain), level)
            i += length
            continue
        i += 1
        if pieces and (char in _JOINERS or unicodedata.category(char).startswith("M")):
            chars, path, run_level = pieces[-1]
            pieces[-1] = (chars + char, path, run_level)
            continue
        # Spaces take the first font's space: an emoji font's space is five times as wide.
        add(char, chain[0] if char.isspace() else (_pick(char, chain) or chain[0]), level)
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
