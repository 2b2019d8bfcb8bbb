"""Caption timing, pure: timed words → pages → the states a page goes through, in frames.

A word is lit from the frame its start falls in to the frame its end falls in: frame k shows
the instant k/fps, so a word said over [start, end) is lit on frames floor(start·fps) through
ceil(end·fps) - 1 (at least one frame, however short the word). A page is on screen from its
first word's first frame to its last word's last frame, held across a short pause to the next
page so captions do not flicker; nothing shows before the first word or after the last.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from scenes.subtitles import Cue

# A pause this long ends a page, and a page is held across a shorter gap to the next one.
PAUSE_S = 0.45
# A word popping in grows back to its size over these frames.
POP_FRAMES = 4
# Ends of sentences and clauses, in the scripts captions are written in.
# (Escapes: full-width CJK marks and the Arabic-script full stop look like ASCII ones.)
SENTENCE_END = (".", "!", "?", "…", "。", "\uff01", "\uff1f", "؟", "\u06d4", "।")
CLAUSE_END = (",", ";", ":", "،", "、", "\uff0c", "\uff1b", "\uff1a")
# Words per page where neither the spec nor the theme says.
DEFAULT_MAX_WORDS = {"karaoke": 4, "highlight": 4, "pop": 2, "plain": 8}


@dataclass(frozen=True)
class TimedWord:
    text: str
    start_s: float  # on the video's timeline
    end_s: float
    breaks_line: bool = False  # a cue's line ends after it


@dataclass(frozen=True)
class PageWord:
    text: str
    first: int  # first frame lit
    last: int  # last frame lit (inclusive)
    breaks_line: bool = False


@dataclass(frozen=True)
class Page:
    words: tuple[PageWord, ...]
    first: int  # first frame on screen
    last: int  # last frame on screen (inclusive)

    @property
    def text(self) -> str:
        """The page as a subtitle cue: its words, with the cue's own line breaks."""
        parts = []
        for word in self.words:
            parts.append(word.text + ("\n" if word.breaks_line else " "))
        return "".join(parts).strip()


@dataclass(frozen=True)
class PageState:
    """What a page shows over frames [first, last]: `visible` words from the start (pop shows
    them as they are said), the lit word (None between words) and the frame of a pop."""

    first: int
    last: int
    visible: int
    active: int | None
    pop_step: int | None = None

    @property
    def key(self) -> tuple[int, int | None, int | None]:
        return self.visible, self.active, self.pop_step


def words_from_cues(cues: Sequence[Cue], offset_s: float) -> list[list[TimedWord]]:
    """Each cue's words, timed by sharing the cue's time in proportion to their length (a
    subtitle file says when a line is spoken, not each word); one list per cue."""
    grouped = []
    for cue in cues:
        lines = [line.split() for line in cue.text.splitlines()]
        tokens = [(word, i == len(line) - 1) for line in lines for i, word in enumerate(line)]
        if not tokens:
            continue
        weights = [len(word) + 1 for word, _ in tokens]
        span = cue.end_s - cue.start_s
        at = cue.start_s + offset_s
        words = []
        for (word, ends_line), weight in zip(tokens, weights, strict=True):
            length = span * weight / sum(weights)
            words.append(TimedWord(word, at, at + length, ends_line))
            at += length
        grouped.append(words)
    return grouped


def word_frames(word: TimedWord, fps: int, total_frames: int) -> PageWord:
    first = min(math.floor(word.start_s * fps + 1e-6), total_frames - 1)
    last = math.ceil(word.end_s * fps - 1e-6) - 1
    return PageWord(word.text, first, min(max(first, last), total_frames - 1), word.breaks_line)


def paginate(
    groups: Sequence[Sequence[TimedWord]],
    *,
    fps: int,
    total_frames: int,
    max_words: int,
    whole_groups: bool = False,
    hold: bool = True,
) -> tuple[Page, ...]:
    """Pages of at most `max_words` words, broken at pauses and punctuation, never across two
    groups (cues); with `whole_groups`, one page per group (subtitle lines as written). With
    `hold`, a page stays over a short gap to the next (cues say when they end: no hold)."""
    pages: list[list[PageWord]] = []
    for group in groups:
        current: list[PageWord] = []
        for i, word in enumerate(group):
            current.append(word_frames(word, fps, total_frames))
            following = group[i + 1] if i + 1 < len(group) else None
            ends = following is not None and _page_ends(word, following, len(current), max_words)
            if ends and not whole_groups:
                pages.append(current)
                current = []
        if current:
            pages.append(current)
    return _held(pages, round(PAUSE_S * fps) if hold else -1)


def _page_ends(word: TimedWord, following: TimedWord, count: int, max_words: int) -> bool:
    if count >= max_words or following.start_s - word.end_s >= PAUSE_S:
        return True
    if word.text.endswith(SENTENCE_END):
        return True
    return word.text.endswith(CLAUSE_END) and count * 2 >= max_words


def _held(pages: list[list[PageWord]], hold_frames: int) -> tuple[Page, ...]:
    """Pages with their frames on screen: to the next page's start across a short gap, and
    never over the next page."""
    placed = []
    for i, words in enumerate(pages):
        first = words[0].first
        last = max(word.last for word in words)
        if i + 1 < len(pages):
            following = pages[i + 1][0].first
            if following - last - 1 <= hold_frames:
                last = following - 1
            last = max(first, min(last, following - 1))
        placed.append(Page(tuple(words), first, last))
    return tuple(placed)


def page_states(page: Page, style: str) -> list[PageState]:
    """The page's frames [first, last] as runs of identical states, in order."""
    if style == "plain":
        return [PageState(page.first, page.last, len(page.words), None)]
    states: list[PageState] = []
    for frame, state in _frame_states(page, style):
        if states and states[-1].key == state.key and states[-1].last == frame - 1:
            states[-1] = PageState(states[-1].first, frame, *state.key)
        else:
            states.append(state)
    return states


def _frame_states(page: Page, style: str) -> Iterator[tuple[int, PageState]]:
    for frame in range(page.first, page.last + 1):
        started = [i for i, word in enumerate(page.words) if word.first <= frame]
        lit = [i for i in started if page.words[i].last >= frame]
        active = lit[-1] if lit else None
        visible = len(page.words)
        pop_step = None
        if style == "pop":
            visible = max(1, len(started))
            step = frame - page.words[visible - 1].first
            pop_step = step if 0 <= step < POP_FRAMES else None
        yield frame, PageState(frame, frame, visible, active, pop_step)
