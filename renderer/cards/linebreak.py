"""Breaking text into lines: break points for every script, widths measured once, greedy and
balanced wraps, cuts with an ellipsis."""

from __future__ import annotations

import re

from renderer.fonts import Direction, Font, Run, load_font, shaped_text, split_runs

ELLIPSIS = "\u2026"


_CJK = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\U00020000-\U0003ffff]")
# Closing punctuation (ideographic and fullwidth ones, then ASCII) never starts a line.
_CLOSING = (
    "\u3001\u3002\uff0c\uff0e\uff01\uff1f\uff1a\uff1b"
    "\uff09\u300d\u300f\u3011\u3009\u300b\u201d\u2019!?.,;:)]}"
)


def tokens(text: str) -> list[str]:
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


class Measure:
    """Widths of strings in one style, memoised for the duration of one layout."""

    def __init__(self, chain: tuple[str, ...], px: int, weight: int, raqm: bool, base: Direction):
        self.chain, self.px, self.weight, self.raqm, self.base = chain, px, weight, raqm, base
        self._cache: dict[str, float] = {}

    def runs(self, text: str) -> list[Run]:
        return split_runs(text, self.chain, self.base)

    def font(self, path: str) -> Font:
        """The run's font at this size: a colour emoji font measures at its strike, scaled."""
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


def wrap(text: str, measure: Measure, max_width: float, cut_words: bool) -> list[str] | None:
    """Greedy wrap; None when a single word is wider than the line (and may not be cut).

    Widths add up token by token (each token measured once), so wrapping is linear in the
    text; the few pixels of kerning this ignores are absorbed when lines are placed.
    """
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        current, current_width = "", 0.0  # current_width includes trailing spaces
        for token in tokens(paragraph):
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


def balance(text: str, measure: Measure, max_width: float, lines: list[str]) -> list[str]:
    """The same number of lines at the narrowest width: no lone word left on a title's last line."""
    low, high, best = max_width * 0.4, max_width, lines
    for _ in range(8):
        middle = (low + high) / 2
        attempt = wrap(text, measure, middle, cut_words=False)
        if attempt is not None and len(attempt) <= len(lines):
            best, high = attempt, middle
        else:
            low = middle
    return best


def _cut_word(word: str, measure: Measure, max_width: float) -> list[str]:
    pieces, current = [], ""
    for char in word:
        if current and measure.width(current + char) > max_width:
            pieces.append(current)
            current = ""
        current += char
    return [*pieces, current]


def truncate(lines: list[str], keep: int, measure: Measure, max_width: float) -> list[str]:
    if len(lines) <= keep:
        return lines
    kept = lines[:keep]
    last = kept[-1]
    while last and measure.width(last + ELLIPSIS) > max_width:
        last = last[:-1]
    kept[-1] = last.rstrip() + ELLIPSIS
    return kept
