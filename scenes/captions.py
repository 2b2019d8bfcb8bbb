"""A caption track: timed words or subtitle cues, drawn over the video in a style.

On the spec (times on the video's timeline) or on a scene (times from the scene's start, e.g.
for its `voiceover`). The source is one of `words` (what TTS engines return as word
boundaries), `srt` or `vtt` text inline, or `src`, a subtitle file or URL under the same asset
rules as media. Inline sources are checked here, so a bad cue is refused at submit.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, PrivateAttr, model_validator

from scenes.fields import Src, StrictModel
from scenes.subtitles import Cue, SubtitleError, parse_srt, parse_vtt

# Bounds: a five-minute video at a fast 200 words a minute is 1,000 words.
MAX_CAPTION_WORDS = 3_000
MAX_WORD_CHARS = 100
MAX_SUBTITLE_CHARS = 200_000
MAX_CAPTION_TIME_S = 3_600.0
MAX_WORDS_PER_PAGE = 12
MAX_LINES_PER_PAGE = 3

CaptionStyle = Literal["karaoke", "pop", "highlight", "plain"]
CAPTION_STYLES: tuple[str, ...] = CaptionStyle.__args__
CaptionPosition = Literal["bottom", "center", "top"]
Seconds = Annotated[float, Field(ge=0, le=MAX_CAPTION_TIME_S)]


class CaptionWord(StrictModel):
    """One spoken word and when it is said, in seconds."""

    text: Annotated[str, Field(min_length=1, max_length=MAX_WORD_CHARS)]
    start: Seconds
    end: Seconds


class Captions(StrictModel):
    """Give exactly one of `words`, `srt`, `vtt` or `src`. Unset options are the theme's."""

    words: (
        Annotated[list[CaptionWord], Field(min_length=1, max_length=MAX_CAPTION_WORDS)] | None
    ) = None
    srt: Annotated[str, Field(min_length=1, max_length=MAX_SUBTITLE_CHARS)] | None = None
    vtt: Annotated[str, Field(min_length=1, max_length=MAX_SUBTITLE_CHARS)] | None = None
    src: Src | None = Field(default=None, description="an .srt or .vtt file or URL")
    style: CaptionStyle | None = Field(
        default=None,
        description="karaoke: the spoken word lit in the accent; pop: a word or a short group "
        "at a time, popping in; highlight: a box behind the spoken word; plain: subtitle lines",
    )
    position: CaptionPosition | None = Field(
        default=None, description="inside the format's safe area"
    )
    max_words: int | None = Field(
        default=None, ge=1, le=MAX_WORDS_PER_PAGE, description="words per page, at most"
    )
    max_lines: int | None = Field(
        default=None, ge=1, le=MAX_LINES_PER_PAGE, description="lines per page, at most"
    )
    _cues: list[Cue] | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check_source(self) -> Captions:
        given = [name for name in ("words", "srt", "vtt", "src") if getattr(self, name)]
        if len(given) != 1:
            found = f" (got {', '.join(given)})" if given else ""
            raise ValueError(f"give exactly one of words, srt, vtt or src{found}")
        if self.words:
            _check_word_order(self.words)
        elif self.srt:
            self._cues = _parsed("srt", self.srt)
        elif self.vtt:
            self._cues = _parsed("vtt", self.vtt)
        return self

    def inline_cues(self) -> list[Cue] | None:
        """The inline srt/vtt cues, parsed once when the spec was checked; None for `words`
        and `src`."""
        return self._cues

    def last_time_s(self) -> tuple[str, float] | None:
        """The field and time of the latest end among inline words or cues (None for `src`)."""
        words = self.words
        if words:
            index = max(range(len(words)), key=lambda i: words[i].end)
            return f"words[{index}].end", words[index].end
        cues = self._cues
        if cues:
            index = max(range(len(cues)), key=lambda i: cues[i].end_s)
            return ("srt" if self.srt else "vtt"), cues[index].end_s
        return None


def _check_word_order(words: list[CaptionWord]) -> None:
    previous = 0.0
    for i, word in enumerate(words):
        if word.end < word.start:
            raise ValueError(
                f"words[{i}].end: {word.end:g}s is before the word's start ({word.start:g}s)"
            )
        if word.start < previous:
            raise ValueError(
                f"words[{i}].start: {word.start:g}s is before the previous word's start "
                f"({previous:g}s); words must be in spoken order"
            )
        previous = word.start


def _parsed(kind: Literal["srt", "vtt"], text: str) -> list[Cue]:
    try:
        return parse_srt(text) if kind == "srt" else parse_vtt(text)
    except SubtitleError as exc:
        raise ValueError(f"{kind}: {exc}") from None


def check_within(captions: Captions, limit_s: float, what: str) -> None:
    """Refuse inline words or cues that end after `limit_s` (the video's or scene's length)."""
    last = captions.last_time_s()
    # Half a millisecond of slack: subtitle times are written to the millisecond.
    if last is not None and last[1] > limit_s + 5e-4:
        field, end = last
        raise ValueError(f"{field}: {end:g}s is past the end of the {what} ({limit_s:g}s)")
