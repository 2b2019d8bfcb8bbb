"""Caption tracks as a viewer sees them: rendered at a small size and checked on the frames.

Each check renders the same reel with and without its captions; the difference between the
two is the caption, so where and when it shows is read from the frames themselves.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest
import support.media as mediatools

import renderer
import renderer.segments
import scenes
from renderer import render
from scenes.subtitles import parse_srt, parse_vtt
from themes.fonts import colour_emoji_path

SIZE = (216, 384)
FPS = 30
ACCENT = np.array([0x38, 0xBD, 0xF8])  # the default theme's accent
BUILDS = [
    pytest.param("/usr/bin/ffmpeg", id="system", marks=pytest.mark.skipif(
        shutil.which("/usr/bin/ffmpeg") is None, reason="no system FFmpeg")),
    pytest.param(mediatools.ffmpeg_exe(), id="bundled"),
]  # fmt: skip
# Three words at times that fall inside frames: lit on frames 6-14, 15-26 and 33-41.
WORDS = [
    {"text": "One", "start": 0.2, "end": 0.5},
    {"text": "two", "start": 0.5, "end": 0.9},
    {"text": "three", "start": 1.1, "end": 1.4},
]
LIT = [(6, 14), (15, 26), (33, 41)]
# The captions' band sits in the lower part of the frame, below the title and its accent rule.
LOWER = int(SIZE[1] * 0.6)


def reel(captions: dict | None = None, **extra: object) -> dict:
    data: dict = {
        "theme": "default",
        "fps": FPS,
        "scenes": [{"type": "title", "title": "Hi", "duration": 2}],
        **extra,
    }
    if captions is not None:
        data["captions"] = captions
    return data


@pytest.fixture
def options(tmp_path: Path) -> renderer.RenderOptions:
    return renderer.RenderOptions(
        prefer=("libx264",),
        quality="high",
        threads=2,
        size=SIZE,
        assets=renderer.AssetPolicy(allow_any_local=True, cache_dir=tmp_path / "cache"),
    )


def frames_of(data: dict, folder: Path, options: renderer.RenderOptions) -> np.ndarray:
    result = render(scenes.parse_spec(data), folder, options)
    return mediatools.all_frames(result.video_path).astype(np.int16)


def caption_frames(with_captions: np.ndarray, without: np.ndarray) -> list[int]:
    """Frames where the captioned render visibly differs from the plain one."""
    difference = np.abs(with_captions - without).max(axis=-1)
    return [i for i in range(len(difference)) if (difference[i] > 60).sum() > 20]


def spans(frames: list[int]) -> list[tuple[int, int]]:
    found: list[tuple[int, int]] = []
    for frame in frames:
        if found and found[-1][1] == frame - 1:
            found[-1] = (found[-1][0], frame)
        else:
            found.append((frame, frame))
    return found


def lit_centres(video: np.ndarray) -> list[float | None]:
    """Per frame, the x centre of the pixels in the accent colour (None: no word lit)."""
    centres: list[float | None] = []
    for picture in video:
        close = np.abs(picture - ACCENT).max(axis=-1) < 40
        _, xs = np.nonzero(close[LOWER:])
        centres.append(float(xs.mean()) if len(xs) > 15 else None)
    return centres


@pytest.mark.parametrize("ffmpeg", BUILDS)
def test_karaoke_lights_each_word_on_exactly_its_frames(ffmpeg, tmp_path, options) -> None:
    options = dataclasses.replace(options, ffmpeg=ffmpeg)
    plain = frames_of(reel(), tmp_path / "plain", options)
    captioned = frames_of(reel({"words": WORDS, "style": "karaoke"}), tmp_path / "cc", options)
    # Nothing before the first word or after the last; the page stays over the short gap.
    assert spans(caption_frames(captioned, plain)) == [(6, 41)]
    centres = lit_centres(captioned)
    assert all(centres[i] is None for i in [*range(0, 6), *range(27, 33), *range(42, 60)])
    for (first, last), side in zip(LIT, ("left", "middle", "right"), strict=True):
        lit = centres[first : last + 1]
        assert all(x is not None for x in lit), (first, last, lit)
        assert max(lit) - min(lit) < 2  # the same word all along
        # The words sit left to right across the frame, "two" near the middle.
        if side == "left":
            assert max(lit) < SIZE[0] * 0.45
        elif side == "right":
            assert min(lit) > SIZE[0] * 0.55
        else:
            assert SIZE[0] * 0.35 < lit[0] < SIZE[0] * 0.65
    # The caption region changes at each word boundary, and only there.
    band = np.abs(np.diff(captioned[:, LOWER:], axis=0)).max(axis=-1)
    changes = [i + 1 for i in range(len(band)) if (band[i] > 60).sum() > 20]
    assert changes == [6, 15, 27, 33, 42]


@pytest.mark.parametrize("style", ["pop", "highlight", "plain"])
def test_every_style_shows_its_page_from_the_first_word_to_the_last(
    style, tmp_path, options
) -> None:
    plain = frames_of(reel(), tmp_path / "plain", options)
    captioned = frames_of(reel({"words": WORDS, "style": style}), tmp_path / "cc", options)
    shown = spans(caption_frames(captioned, plain))
    assert shown == [(6, 41)]


def test_pop_grows_a_word_in_and_settles(tmp_path, options) -> None:
    captioned = frames_of(reel({"words": WORDS, "style": "pop"}), tmp_path / "cc", options)
    plain = frames_of(reel(), tmp_path / "plain", options)

    def width(index: int) -> int:
        xs = np.nonzero((np.abs(captioned[index] - plain[index]).max(axis=-1) > 60).any(axis=0))[0]
        return int(xs.max() - xs.min())

    # "One" pops in on frame 6 (its start) larger than it settles, shrinking back by frame 9.
    assert width(6) > width(7) > width(8) > width(9)
    assert width(6) > width(9) * 1.15
    assert width(9) == width(12)


def test_scene_captions_count_from_the_scene_start(tmp_path, options) -> None:
    two = {
        "theme": "default",
        "fps": FPS,
        "transition": {"type": "none"},
        "scenes": [
            {"type": "title", "title": "A", "duration": 1},
            {"type": "title", "title": "B", "duration": 1.5},
        ],
    }
    with_scene_captions = dict(two, scenes=[two["scenes"][0], {
        **two["scenes"][1], "captions": {"words": [{"text": "late", "start": 0.2, "end": 0.5}]},
    }])  # fmt: skip
    plain = frames_of(two, tmp_path / "plain", options)
    captioned = frames_of(with_scene_captions, tmp_path / "cc", options)
    assert spans(caption_frames(captioned, plain)) == [(36, 44)]


SUBTITLES = {
    "latin": "Hello there, friend",
    "cyrillic": "Привет, как дела",
    "cjk": "你好\uff0c世界。今天好吗",  # (an escaped full-width comma)
    "arabic": "مرحبا بكم في العالم",
}


@pytest.mark.parametrize("script", list(SUBTITLES))
@pytest.mark.parametrize("kind", ["srt", "vtt"])
def test_srt_and_vtt_render_in_every_script_and_their_sidecars_round_trip(
    kind, script, tmp_path, options
) -> None:
    text = SUBTITLES[script]
    if kind == "srt":
        source = (
            f"1\n00:00:00,300 --> 00:00:01,200\n{text}\n\n2\n00:00:01,400 --> 00:00:01,900\nok\n"
        )
    else:
        source = f"WEBVTT\n\n00:00.300 --> 00:01.200\n{text}\n\n00:01.400 --> 00:01.900\nok\n"
    data = reel({kind: source, "style": "plain"})
    result = render(scenes.parse_spec(data), tmp_path / "cc", options)
    plain = frames_of(reel(), tmp_path / "plain", options)
    captioned = mediatools.all_frames(result.video_path).astype(np.int16)
    assert spans(caption_frames(captioned, plain)) == [(9, 35), (42, 56)]
    vtt = parse_vtt(result.captions["vtt"].read_text(encoding="utf-8"))
    srt = parse_srt(result.captions["srt"].read_text(encoding="utf-8"))
    assert result.captions["vtt"].parent == result.video_path.parent
    for cues in (vtt, srt):
        assert [cue.text for cue in cues] == [text, "ok"]
        assert [(cue.start_s, cue.end_s) for cue in cues] == [(0.3, 1.2), (1.4, 1.9)]


def test_a_render_without_captions_writes_no_sidecars(tmp_path, options) -> None:
    result = render(scenes.parse_spec(reel()), tmp_path / "out", options)
    assert result.captions == {}
    assert not list((tmp_path / "out").glob("captions.*"))


def test_captions_continue_exactly_across_segment_joints(tmp_path, options) -> None:
    titles = [{"type": "title", "title": str(i), "duration": 0.5} for i in range(6)]
    words = [{"text": f"w{i}", "start": 0.13 + i * 0.2, "end": 0.13 + i * 0.2 + 0.15}
             for i in range(14)]  # fmt: skip
    data = {"theme": "default", "fps": FPS, "scenes": titles, "captions": {"words": words}}
    spec = scenes.parse_spec(data)
    single = render(spec, tmp_path / "single", options)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(renderer.segments, "SINGLE_GRAPH_MAX_SCENES", 1)
        patch.setattr(renderer.segments, "SCENES_PER_SEGMENT", 2)
        parts = render(spec, tmp_path / "segmented", options)
    one = mediatools.all_frames(single.video_path).astype(np.int16)
    other = mediatools.all_frames(parts.video_path).astype(np.int16)
    assert len(one) == len(other) == 90
    worst = max(
        float(np.abs(a[LOWER:] - b[LOWER:]).mean()) for a, b in zip(one, other, strict=True)
    )
    assert worst < 1.5
    assert lit_centres(one) == pytest.approx(lit_centres(other), abs=1.0)


@pytest.mark.skipif(colour_emoji_path() is None, reason="no colour emoji font installed")
def test_emoji_in_captions_are_drawn_in_colour(tmp_path, options) -> None:
    words = [
        {"text": "Party", "start": 0.2, "end": 0.6},
        {"text": "🎉🔥", "start": 0.6, "end": 1.2},
    ]
    captioned = frames_of(reel({"words": words, "style": "plain"}), tmp_path / "cc", options)
    plain = frames_of(reel(), tmp_path / "plain", options)
    picture, before = captioned[20], plain[20]
    changed = np.abs(picture - before).max(axis=-1) > 60
    rgb = picture[changed].astype(float)
    saturation = (rgb.max(axis=-1) - rgb.min(axis=-1)) / np.maximum(rgb.max(axis=-1), 1)
    # White words in a black outline have none; the emoji bring strong colour.
    assert (saturation > 0.5).sum() > 40


@pytest.mark.parametrize("theme", ["winter", "neon"])
def test_captions_leave_the_rest_of_an_effect_themes_picture_where_it_was(
    theme, tmp_path, options, shared_assets
) -> None:
    photos = [
        {"type": "image", "src": str(shared_assets / name), "duration": 1, "motion": motion}
        for name, motion in (("coffee.jpg", "zoom-in"), ("rocket.jpg", "pan-left"))
    ]
    data = {"theme": theme, "fps": FPS, "scenes": photos}
    plain = frames_of(data, tmp_path / "plain", options)
    words = [{"text": "moving", "start": 0.5, "end": 1.5}]
    captioned = frames_of({**data, "captions": {"words": words}}, tmp_path / "cc", options)
    assert len(plain) == len(captioned) == 60
    above = slice(0, int(SIZE[1] * 0.4))  # well above the captions' band

    def apart(i: int, j: int) -> float:
        return float(np.abs(captioned[i][above] - plain[j][above]).mean())

    for i in range(1, 59):
        # Every frame is the plain render's own frame, not a neighbour's (a still part of the
        # video may repeat one, which is then as close).
        assert apart(i, i) <= min(apart(i, i - 1), apart(i, i + 1)) + 0.5, i
        assert apart(i, i) < 8, i


def test_a_subtitle_file_is_read_as_media_and_its_problems_name_the_field(
    tmp_path, options
) -> None:
    subtitles = tmp_path / "lines.vtt"
    subtitles.write_text("WEBVTT\n\n00:00.300 --> 00:01.200\nfrom a file\n", encoding="utf-8")
    result = render(scenes.parse_spec(reel({"src": str(subtitles)})), tmp_path / "ok", options)
    plain = frames_of(reel(), tmp_path / "plain", options)
    captioned = mediatools.all_frames(result.video_path).astype(np.int16)
    assert spans(caption_frames(captioned, plain)) == [(9, 35)]
    assert [c.text for c in parse_vtt(result.captions["vtt"].read_text())] == ["from a file"]

    broken = tmp_path / "broken.srt"
    broken.write_text("1\n00:00:00,300 --> 00:00:00,100\nbackwards\n", encoding="utf-8")
    late = tmp_path / "late.srt"
    late.write_text("1\n00:00:00,300 --> 00:00:09,000\ntoo long\n", encoding="utf-8")
    for source, wording in ((broken, "cue 1: "), (late, "past the end of the video")):
        spec = scenes.parse_spec(reel({"src": str(source)}))
        with pytest.raises(renderer.RenderError) as failed:
            render(spec, tmp_path / source.stem, options)
        assert failed.value.field == "captions.src" and wording in failed.value.message
