"""SubRip (.srt) and WebVTT (.vtt) cues: parsing with the failing cue named, and writing.

cues = parse_srt(text)          # raises SubtitleError("cue 3: end ... is before start ...")
vtt = to_vtt(cues)

Pure: strings in, strings out. Times are seconds on whatever timeline the caller means; both
formats keep milliseconds, so a parse/write round trip is exact to the millisecond.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

MAX_CUES = 2000
MAX_CUE_TEXT = 500


@dataclass(frozen=True)
class Cue:
    start_s: float
    end_s: float
    text: str  # lines joined by "\n", markup removed


class SubtitleError(ValueError):
    """A subtitle file that cannot be used; names the cue (1-based, in file order) at fault."""

    def __init__(self, cue: int, message: str):
        self.cue = cue
        self.message = message
        super().__init__(f"cue {cue}: {message}")


# Hours are optional only in WebVTT; SRT writers that drop leading zeros ("0:00:01,000") are
# common enough to accept. Minutes and seconds are always two digits, milliseconds three.
_SRT_TIME = re.compile(r"(?P<h>\d+):(?P<m>\d{2}):(?P<s>\d{2})[,.](?P<ms>\d{3})")
_VTT_TIME = re.compile(r"(?:(?P<h>\d+):)?(?P<m>\d{2}):(?P<s>\d{2})\.(?P<ms>\d{3})")
# SubRip has no escaping, so only the tags players actually honour are markup; any other "<"
# is text. {\an8}-style overrides come from files converted from ASS.
_SRT_MARKUP = re.compile(r"</?(?:b|i|u|s|font)\b[^>]*>|\{\\[^}]*\}", re.IGNORECASE)
# In WebVTT a literal "<" must be written &lt;, so every <...> is a tag: <b>, <c.x>, <v Name>,
# <00:00:01.000>.
_VTT_TAG = re.compile(r"<[^>]*>")
_VTT_SKIPPED_BLOCKS = ("NOTE", "STYLE", "REGION")


def parse_srt(text: str) -> list[Cue]:
    """Cues of a SubRip file; cue numbers are read past, not checked."""
    return _collect(_srt_cues(_blocks(_normalise(text))))


def parse_vtt(text: str) -> list[Cue]:
    """Cues of a WebVTT file; NOTE, STYLE and REGION blocks and cue settings are ignored."""
    blocks = _blocks(_normalise(text))
    if not blocks:
        raise SubtitleError(1, "no cues")
    header = blocks[0]
    if not re.fullmatch(r"WEBVTT(?:[ \t].*)?", header[0]):
        raise SubtitleError(1, "the file must start with a WEBVTT line")
    if any("-->" in line for line in header):
        raise SubtitleError(1, "a blank line must follow the WEBVTT header")
    body = [b for b in blocks[1:] if not _is_skipped_vtt_block(b[0])]
    return _collect(_vtt_cues(body))


def to_srt(cues: Sequence[Cue]) -> str:
    """A SubRip file, cues numbered from 1."""
    blocks = (
        f"{number}\n{_stamp(c.start_s, ',')} --> {_stamp(c.end_s, ',')}\n{_lines(c.text)}"
        for number, c in enumerate(cues, start=1)
    )
    return "".join(f"{block}\n\n" for block in blocks).removesuffix("\n")


def to_vtt(cues: Sequence[Cue]) -> str:
    """A WebVTT file; &, < and > in text are escaped so no text reads as a tag."""
    blocks = (
        f"{_stamp(c.start_s, '.')} --> {_stamp(c.end_s, '.')}\n{_lines(_escape_vtt(c.text))}"
        for c in cues
    )
    return "WEBVTT\n\n" + "".join(f"{block}\n\n" for block in blocks).removesuffix("\n")


def _normalise(text: str) -> str:
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _blocks(text: str) -> list[list[str]]:
    """Runs of non-blank lines; a blank (or all-whitespace) line ends a cue in both formats."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in text.split("\n"):
        if line.strip():
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _srt_cues(blocks: list[list[str]]) -> Iterator[tuple[int, float, float, str]]:
    for number, block in enumerate(blocks, start=1):
        timing_at = _timing_line_index(block, number, "00:00:01,000 --> 00:00:02,000")
        start_s, end_s = _timing(block[timing_at], number, _SRT_TIME)
        lines = (_SRT_MARKUP.sub("", line).rstrip() for line in block[timing_at + 1 :])
        yield number, start_s, end_s, "\n".join(line for line in lines if line.strip())


def _vtt_cues(blocks: list[list[str]]) -> Iterator[tuple[int, float, float, str]]:
    for number, block in enumerate(blocks, start=1):
        timing_at = _timing_line_index(block, number, "00:00:01.000 --> 00:00:02.000")
        start_s, end_s = _timing(block[timing_at], number, _VTT_TIME)
        lines = (html.unescape(_VTT_TAG.sub("", line)).rstrip() for line in block[timing_at + 1 :])
        yield number, start_s, end_s, "\n".join(line for line in lines if line.strip())


def _timing_line_index(block: list[str], number: int, example: str) -> int:
    """0 when the block opens with its timing line, 1 after a cue number or identifier."""
    for index in range(min(2, len(block))):
        if "-->" in block[index]:
            return index
    raise SubtitleError(number, f"expected a timing line like {example}, got {block[0]!r}")


def _timing(line: str, number: int, pattern: re.Pattern[str]) -> tuple[float, float]:
    raw_start, _, rest = line.partition("-->")
    # Whatever follows the end time is SRT coordinates or WebVTT cue settings; neither is used.
    raw_end = rest.split()[0] if rest.split() else ""
    start_s = _seconds(raw_start.strip(), number, pattern)
    end_s = _seconds(raw_end, number, pattern)
    if end_s < start_s:
        raise SubtitleError(number, f"end {raw_end} is before start {raw_start.strip()}")
    return start_s, end_s


def _seconds(raw: str, number: int, pattern: re.Pattern[str]) -> float:
    if raw.startswith("-"):
        raise SubtitleError(number, f"negative time {raw}")
    match = pattern.fullmatch(raw)
    if not match or int(match["m"]) > 59 or int(match["s"]) > 59:
        raise SubtitleError(number, f"timestamp {raw!r} does not parse")
    hours = int(match["h"] or 0)
    millis = ((hours * 60 + int(match["m"])) * 60 + int(match["s"])) * 1000 + int(match["ms"])
    return millis / 1000


def _collect(cues: Iterator[tuple[int, float, float, str]]) -> list[Cue]:
    parsed: list[Cue] = []
    for number, start_s, end_s, text in cues:
        if number > MAX_CUES:
            raise SubtitleError(number, f"more than {MAX_CUES} cues")
        if not text:
            raise SubtitleError(number, "the cue has no text")
        if len(text) > MAX_CUE_TEXT:
            raise SubtitleError(
                number, f"text is {len(text)} characters long, at most {MAX_CUE_TEXT}"
            )
        parsed.append(Cue(start_s, end_s, text))
    if not parsed:
        # The file-level failure still names a cue, the first one that should have been there.
        raise SubtitleError(1, "no cues")
    return parsed


def _is_skipped_vtt_block(first_line: str) -> bool:
    word = first_line.split(maxsplit=1)[0]
    return word in _VTT_SKIPPED_BLOCKS and "-->" not in first_line


def _stamp(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    if millis < 0:
        raise ValueError(f"negative cue time {seconds}")
    minutes, millis_in_minute = divmod(millis, 60_000)
    hours, minutes = divmod(minutes, 60)
    whole_s, millis = divmod(millis_in_minute, 1000)
    return f"{hours:02d}:{minutes:02d}:{whole_s:02d}{separator}{millis:03d}"


def _lines(text: str) -> str:
    # A blank line would end the cue early in both formats, so it cannot be written.
    return "\n".join(line for line in text.split("\n") if line.strip())


def _escape_vtt(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
