"""SubRip and WebVTT as clients hand them in: tolerated quirks, refusals naming the cue, and
round trips that keep every millisecond and every script."""

from __future__ import annotations

import pytest

from scenes.subtitles import (
    MAX_CUE_TEXT,
    MAX_CUES,
    Cue,
    SubtitleError,
    parse_srt,
    parse_vtt,
    to_srt,
    to_vtt,
)

SRT = """1
00:00:01,000 --> 00:00:02,500
Hello
world

2
00:01:02,003 --> 01:00:00,999
<i>second</i> <font color="red">cue</font>
"""

VTT = """WEBVTT - a title

NOTE a comment
spanning lines

STYLE
::cue { color: yellow }

intro
00:01.000 --> 00:02.500 align:start position:10%
<v Ann>Hello</v> <b>bold</b> <c.loud>class</c>
<00:00:01.500>karaoke &amp; &lt;tags&gt;

01:00:00.000 --> 01:00:01.001
last
"""

SCRIPTS = [
    "Plain Latin, déjà vu",
    "Привет, мир",
    "你好世界。日本語のテキスト",
    "مرحبا بالعالم",
    "שלום עולם",
    "mixed: A < B & C > D -- arrows -->",
]


def test_srt_cues_have_times_and_text_without_markup() -> None:
    assert parse_srt(SRT) == [
        Cue(1.0, 2.5, "Hello\nworld"),
        Cue(62.003, 3600.999, "second cue"),
    ]


def test_vtt_skips_notes_styles_settings_and_tags_and_decodes_entities() -> None:
    assert parse_vtt(VTT) == [
        Cue(1.0, 2.5, "Hello bold class\nkaraoke & <tags>"),
        Cue(3600.0, 3601.001, "last"),
    ]


@pytest.mark.parametrize("parse, text", [(parse_srt, SRT), (parse_vtt, VTT)])
def test_bom_crlf_and_missing_final_newline_read_the_same(parse, text) -> None:
    quirky = "\ufeff" + text.rstrip("\n").replace("\n", "\r\n")
    assert parse(quirky) == parse(text)


def test_srt_numbers_missing_or_wrong_and_dot_milliseconds_are_tolerated() -> None:
    text = "00:00:01.000 --> 00:00:02.000\nno number\n\n7\n0:00:03,000 --> 00:00:04,000\nseven\n"
    assert parse_srt(text) == [Cue(1.0, 2.0, "no number"), Cue(3.0, 4.0, "seven")]


@pytest.mark.parametrize(
    "text, message",
    [
        ("1\n00:00:02,000 --> 00:00:01,000\nx\n", "end 00:00:01,000 is before start 00:00:02,000"),
        ("1\n00:00:01 --> 00:00:02,000\nx\n", "timestamp '00:00:01' does not parse"),
        ("1\n00:00:61,000 --> 00:00:62,000\nx\n", "timestamp '00:00:61,000' does not parse"),
        ("1\n-00:00:01,000 --> 00:00:02,000\nx\n", "negative time -00:00:01,000"),
        ("1\n00:00:01,000 -->\nx\n", "timestamp '' does not parse"),
        ("1\n00:00:01,000 --> 00:00:02,000\n<i></i>\n", "the cue has no text"),
        ("hello\nthere\n", "expected a timing line"),
    ],
)
def test_srt_refusals_name_the_cue(text: str, message: str) -> None:
    good = "1\n00:00:00,000 --> 00:00:00,500\nok\n\n"
    with pytest.raises(SubtitleError) as caught:
        parse_srt(good + good + text)
    assert caught.value.cue == 3
    assert str(caught.value).startswith(f"cue 3: {message}")


def test_a_cue_with_no_text_at_all_is_refused() -> None:
    with pytest.raises(SubtitleError, match=r"^cue 2: the cue has no text$"):
        parse_srt("1\n00:00:00,000 --> 00:00:01,000\na\n\n2\n00:00:01,000 --> 00:00:02,000\n")


@pytest.mark.parametrize(
    "body, message",
    [
        ("00:02.000 --> 00:01.000\nx", "cue 2: end 00:01.000 is before start 00:02.000"),
        ("00:01,000 --> 00:02.000\nx", "cue 2: timestamp '00:01,000' does not parse"),
        ("00:01.000 --> 00:02.000\n<b></b>", "cue 2: the cue has no text"),
    ],
)
def test_vtt_refusals_name_the_cue_skipping_notes(body: str, message: str) -> None:
    text = f"WEBVTT\n\nNOTE not a cue\n\n00:00.000 --> 00:01.000\nok\n\n{body}\n"
    with pytest.raises(SubtitleError, match=f"^{message}$"):
        parse_vtt(text)


@pytest.mark.parametrize(
    "text, message",
    [
        ("00:00.000 --> 00:01.000\nx\n", "cue 1: the file must start with a WEBVTT line"),
        ("WEBVTTX\n\n00:00.000 --> 00:01.000\nx\n", "cue 1: the file must start with a WEBVTT"),
        ("WEBVTT\n00:00.000 --> 00:01.000\nx\n", "cue 1: a blank line must follow the WEBVTT"),
        ("WEBVTT\n\nNOTE only a note\n", "cue 1: no cues"),
    ],
)
def test_vtt_header_is_required(text: str, message: str) -> None:
    with pytest.raises(SubtitleError, match=f"^{message}"):
        parse_vtt(text)


@pytest.mark.parametrize("parse", [parse_srt, parse_vtt])
@pytest.mark.parametrize("text", ["", "\ufeff", "\r\n\n  \n"])
def test_an_empty_file_has_no_cues(parse, text: str) -> None:
    with pytest.raises(SubtitleError, match=r"^cue 1: no cues$"):
        parse(text)


@pytest.mark.parametrize("write, parse", [(to_srt, parse_srt), (to_vtt, parse_vtt)])
def test_cue_count_and_text_length_are_bounded(write, parse) -> None:
    at_limit = [Cue(i, i + 0.5, "x") for i in range(MAX_CUES)]
    assert len(parse(write(at_limit))) == MAX_CUES
    with pytest.raises(SubtitleError, match=rf"^cue {MAX_CUES + 1}: more than {MAX_CUES} cues"):
        parse(write([*at_limit, Cue(MAX_CUES, MAX_CUES + 1, "x")]))
    assert parse(write([Cue(0, 1, "y" * MAX_CUE_TEXT)]))[0].text == "y" * MAX_CUE_TEXT
    with pytest.raises(SubtitleError, match=rf"^cue 2: text is {MAX_CUE_TEXT + 1} characters"):
        parse(write([Cue(0, 1, "ok"), Cue(1, 2, "y" * (MAX_CUE_TEXT + 1))]))


def test_written_files_read_back_byte_for_byte() -> None:
    srt = "1\n00:00:01,000 --> 00:00:02,500\nHello\nworld\n\n2\n12:34:56,789 --> 12:34:57,001\nx\n"
    vtt = "WEBVTT\n\n00:00:01.000 --> 00:00:02.500\nA &amp; B &lt;i&gt;\n"
    assert to_srt(parse_srt(srt)) == srt
    assert to_vtt(parse_vtt(vtt)) == vtt


@pytest.mark.parametrize("write, parse", [(to_srt, parse_srt), (to_vtt, parse_vtt)])
def test_round_trip_keeps_milliseconds_and_every_script(write, parse) -> None:
    # Times that are not exact in binary (0.001, 1.005, ...) are where float formatting slips.
    cues = [
        Cue(round(i * 1.001 + 0.005, 3), round(i * 1.001 + 0.999, 3), f"{text}\nline two {i}")
        for i, text in enumerate(SCRIPTS * 3)
    ]
    first = parse(write(cues))
    assert first == cues
    assert parse(write(first)) == first
    assert write(first) == write(cues)


def test_files_from_other_tools_round_trip_to_the_millisecond() -> None:
    srt_cues, vtt_cues = parse_srt(SRT), parse_vtt(VTT)
    assert parse_srt(to_srt(srt_cues)) == srt_cues
    assert parse_vtt(to_vtt(vtt_cues)) == vtt_cues
    assert parse_vtt(to_vtt(srt_cues)) == srt_cues
    assert parse_srt(to_srt(vtt_cues)) == vtt_cues


def test_writers_drop_blank_lines_that_would_end_a_cue_early() -> None:
    cues = [Cue(0, 1, "top\n\n  \nbottom"), Cue(1, 2, "next")]
    expected = [Cue(0, 1, "top\nbottom"), Cue(1, 2, "next")]
    assert parse_srt(to_srt(cues)) == expected
    assert parse_vtt(to_vtt(cues)) == expected
