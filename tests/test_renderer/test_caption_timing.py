"""Caption timing in frames, pure: words lit on exactly their frames, pages broken where a
reader expects, states in order, and the list the graph reads for a window of the video."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from renderer.captions.timing import (
    PageState,
    TimedWord,
    page_states,
    paginate,
    word_frames,
    words_from_cues,
)
from renderer.graph.captions import listing_entries, write_listing
from renderer.graph.sources import CaptionPictures
from scenes.subtitles import Cue

FPS = 30


@pytest.mark.parametrize(
    ("start", "end", "first", "last"),
    [
        (0.0, 0.1, 0, 2),  # [0, 0.1): frames 0, 1, 2 (frame 3 shows 0.1, when it has ended)
        (0.1, 0.2, 3, 5),  # starts exactly on frame 3
        (0.11, 0.21, 3, 6),  # 0.21 falls inside frame 6
        (0.5, 0.5, 15, 15),  # a zero-length word still shows for one frame
        (0.999, 1.001, 29, 30),
    ],
)
def test_a_word_is_lit_from_the_frame_its_start_falls_in_to_the_frame_its_end_falls_in(
    start: float, end: float, first: int, last: int
) -> None:
    frames = word_frames(TimedWord("w", start, end), FPS, 1_000)
    assert (frames.first, frames.last) == (first, last)


def test_word_frames_stay_inside_the_video() -> None:
    frames = word_frames(TimedWord("w", 3.9, 4.5), FPS, 120)
    assert (frames.first, frames.last) == (117, 119)


def _words(*spans: tuple[str, float, float]) -> list[TimedWord]:
    return [TimedWord(text, start, end) for text, start, end in spans]


def test_pages_hold_at_most_max_words_and_break_at_pauses_and_sentence_ends() -> None:
    words = _words(
        ("one", 0.0, 0.2), ("two", 0.25, 0.4), ("three", 0.45, 0.6),  # a full page of 3
        ("four", 0.65, 0.8),
        ("five.", 0.85, 1.0),  # a sentence ends
        ("six", 1.05, 1.2),
        ("seven", 2.0, 2.2),  # after a long pause
    )  # fmt: skip
    pages = paginate([words], fps=FPS, total_frames=300, max_words=3)
    assert [[w.text for w in page.words] for page in pages] == [
        ["one", "two", "three"],
        ["four", "five."],
        ["six"],
        ["seven"],
    ]


def test_a_page_is_held_over_a_short_gap_but_never_shown_after_its_last_word_at_a_pause() -> None:
    words = _words(("a", 0.0, 0.3), ("b.", 0.3, 0.6), ("c", 0.7, 1.0), ("d", 3.0, 3.3))
    pages = paginate([words], fps=FPS, total_frames=300, max_words=4)
    first, second, third = pages
    assert (first.first, first.last) == (0, 20)  # held to the frame before "c" starts
    assert (second.first, second.last) == (21, 29)  # not held across the long pause
    assert (third.first, third.last) == (90, 98)


def test_whole_groups_keep_each_cue_on_one_page() -> None:
    groups = words_from_cues([Cue(1.0, 3.0, "one two three four five six"), Cue(3.0, 4.0, "x")], 0)
    pages = paginate(groups, fps=FPS, total_frames=300, max_words=2, whole_groups=True)
    assert [page.text for page in pages] == ["one two three four five six", "x"]
    assert (pages[0].first, pages[0].last, pages[1].first, pages[1].last) == (30, 89, 90, 119)


def test_cue_words_share_the_cue_time_in_order_and_keep_its_line_breaks() -> None:
    (words,) = words_from_cues([Cue(2.0, 4.0, "short\nlonger words")], offset_s=1.0)
    assert [w.text for w in words] == ["short", "longer", "words"]
    assert words[0].start_s == pytest.approx(3.0) and words[-1].end_s == pytest.approx(5.0)
    assert all(a.end_s == pytest.approx(b.start_s) for a, b in itertools.pairwise(words))
    assert [w.breaks_line for w in words] == [True, False, True]


def test_karaoke_states_follow_the_spoken_word_with_gaps_unlit() -> None:
    words = _words(("a", 0.0, 0.1), ("b", 0.2, 0.3))
    (page,) = paginate([words], fps=FPS, total_frames=300, max_words=4)
    assert page_states(page, "karaoke") == [
        PageState(0, 2, 2, 0),
        PageState(3, 5, 2, None),
        PageState(6, 8, 2, 1),
    ]


def test_pop_shows_words_as_they_are_said_each_popping_in() -> None:
    words = _words(("a", 0.0, 0.3), ("b", 0.3, 0.6))
    (page,) = paginate([words], fps=FPS, total_frames=300, max_words=2)
    states = page_states(page, "pop")
    assert [(s.first, s.last, s.visible, s.pop_step) for s in states] == [
        (0, 0, 1, 0), (1, 1, 1, 1), (2, 2, 1, 2), (3, 3, 1, 3), (4, 8, 1, None),
        (9, 9, 2, 0), (10, 10, 2, 1), (11, 11, 2, 2), (12, 12, 2, 3), (13, 17, 2, None),
    ]  # fmt: skip


def test_plain_pages_have_one_state() -> None:
    (page,) = paginate([_words(("a", 0.0, 0.3), ("b", 0.3, 0.6))], fps=FPS, total_frames=90,
                       max_words=8)  # fmt: skip
    assert page_states(page, "plain") == [PageState(0, 17, 2, None)]


def _track(tmp_path: Path, *pictures: tuple[int, int, str]) -> CaptionPictures:
    return CaptionPictures(
        0, 0, tmp_path / "blank.png", tuple((a, b, tmp_path / name) for a, b, name in pictures)
    )


def test_a_window_lists_its_pictures_from_its_own_start_with_the_blank_between(
    tmp_path: Path,
) -> None:
    track = _track(tmp_path, (10, 19, "a.png"), (20, 24, "b.png"), (40, 59, "c.png"))
    names = [(start, path.name) for start, path in listing_entries(track, 0, 100)]
    assert names == [(0, "blank.png"), (10, "a.png"), (20, "b.png"), (25, "blank.png"),
                     (40, "c.png"), (60, "blank.png")]  # fmt: skip
    # A window starting inside "a" shows it from its first frame, and ends on the blank.
    names = [(start, path.name) for start, path in listing_entries(track, 15, 10)]
    assert names == [(0, "a.png"), (5, "b.png"), (10, "blank.png")]


def test_the_listing_starts_each_picture_half_a_frame_early_on_a_clock_of_twice_the_rate(
    tmp_path: Path,
) -> None:
    track = _track(tmp_path, (10, 19, "a.png"))
    listing = write_listing(track, FPS, 0, 60, 0).read_text().splitlines()
    assert listing == [
        "ffconcat version 1.0",
        "file blank.png", "option framerate 60", f"duration {9.5 / FPS:.6f}",
        "file a.png", "option framerate 60", f"duration {10 / FPS:.6f}",
        "file blank.png", "option framerate 60",
    ]  # fmt: skip
