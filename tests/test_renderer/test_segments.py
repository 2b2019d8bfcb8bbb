"""A long video rendered in segments looks and sounds exactly like the same video in one graph.

Segmenting is forced on tiny reels by lowering the limits; each check renders the same spec
both ways and compares what a viewer gets, frame by frame and sample by sample, around the
joints especially.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import stat
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import support.media as mediatools
from PIL import Image

import renderer.segmented
import renderer.segments
import scenes
import themes
from renderer import RenderCancelled, render
from renderer.plan import build_plan
from renderer.segments import plan_segments

SIZE = (216, 384)
FPS = 30
BUNDLED = mediatools.ffmpeg_exe()
BUILDS = [
    pytest.param("/usr/bin/ffmpeg", id="system", marks=pytest.mark.skipif(
        shutil.which("/usr/bin/ffmpeg") is None, reason="no system FFmpeg")),
    pytest.param(BUNDLED, id="bundled"),
]  # fmt: skip


def _mad(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.abs(a.astype(np.int16) - b.astype(np.int16))))


@pytest.fixture
def segmented(monkeypatch):
    """Within the test, any video of more than one scene is rendered two scenes a segment."""

    def force(single_graph_max_scenes: int = 1, scenes_per_segment: int = 2) -> None:
        monkeypatch.setattr(renderer.segments, "SINGLE_GRAPH_MAX_SCENES", single_graph_max_scenes)
        monkeypatch.setattr(renderer.segments, "SCENES_PER_SEGMENT", scenes_per_segment)

    return force


@pytest.fixture(scope="module")
def pictures(tmp_path_factory) -> Path:
    """Soft stripes and rings: shapes with no sharp edge, which encode cleanly, so a frame one
    step out of place differs from the right one by far more than the encoding does."""
    folder = tmp_path_factory.mktemp("pictures")
    y, x = np.mgrid[0:1280, 0:720].astype(float)
    stripes = np.stack([np.sin(x / 16), np.sin(x / 27 + 1), np.sin(y / 40)], -1)
    Image.fromarray((128 + 90 * stripes).astype(np.uint8)).save(folder / "stripes.png")
    radius = np.hypot(x - 360, y - 640)
    rings = np.stack([np.sin(radius / 14), np.sin(radius / 23 + 2), np.cos(x / 60)], -1)
    Image.fromarray((128 + 90 * rings).astype(np.uint8)).save(folder / "rings.png")
    return folder


def moving_reel(pictures: Path, clip: Path, theme: str = "default") -> dict:
    """Six scenes that move on every frame, joined by a slide, fades and a cut."""

    def photo(name: str, motion: str, duration: float, **extra) -> dict:
        return {"type": "image", "src": str(pictures / name), "motion": motion,
                "duration": duration, **extra}  # fmt: skip

    return {
        "theme": theme,
        "fps": FPS,
        "transition": {"type": "fade", "duration": 0.3},
        "scenes": [
            {"type": "title", "title": "Joints", "duration": 0.5},
            photo("rings.png", "zoom-in", 0.6, caption="zoom",
                  transition={"type": "slide-left", "duration": 0.3}),
            photo("stripes.png", "pan-left", 0.5),
            {"type": "video", "src": str(clip), "duration": 0.5,
             "transition": {"type": "none"}},
            photo("rings.png", "zoom-out", 0.5, caption="out"),
            {"type": "outro", "title": "end", "duration": 0.4},
        ],
    }  # fmt: skip


@pytest.fixture(scope="module")
def reel(pictures: Path, shared_assets: Path) -> dict:
    return moving_reel(pictures, shared_assets / "clip-mandelbrot.mp4")


def joints(data: dict, single_graph_max_scenes: int = 1, scenes_per_segment: int = 2) -> list[int]:
    """The output frames where segments start (after the first), as planned for `data`."""
    spec = scenes.parse_spec(data)
    plan = build_plan(spec, themes.load_theme(spec.theme), size=SIZE)
    segments = plan_segments(
        plan,
        single_graph_max_scenes=single_graph_max_scenes,
        scenes_per_segment=scenes_per_segment,
    )
    return [segment.first_frame for segment in segments[1:]]


def packet_times(path: Path) -> list[int]:
    """Every video packet's presentation time, in its stream's time base, in display order."""
    done = mediatools._run(["-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "framecrc", "-"])
    lines = done.stdout.decode().splitlines()
    rows = [line.split(",") for line in lines if line and not line.startswith("#")]
    return sorted(int(row[2]) for row in rows)


@pytest.fixture(scope="module")
def both_ways(tmp_path_factory, reel):
    """The moving reel rendered as one graph and in three segments, with the bundled FFmpeg."""
    return _render_both(tmp_path_factory.mktemp("both"), reel, BUNDLED)


def _render_both(folder: Path, data: dict, ffmpeg: str) -> dict[str, Path]:
    options = renderer.RenderOptions(
        ffmpeg=ffmpeg,
        prefer=("libx264",),
        quality="high",
        threads=2,
        size=SIZE,
        assets=renderer.AssetPolicy(allow_any_local=True, cache_dir=folder / "cache"),
    )
    spec = scenes.parse_spec(data)
    single = render(spec, folder / "single", options)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(renderer.segments, "SINGLE_GRAPH_MAX_SCENES", 1)
        patch.setattr(renderer.segments, "SCENES_PER_SEGMENT", 2)
        parts = render(spec, folder / "segmented", options)
    return {"single": single.video_path, "segmented": parts.video_path,
            "single_poster": single.poster_path, "segmented_poster": parts.poster_path}  # fmt: skip


def test_segments_have_every_frame_at_evenly_spaced_times(both_ways):
    video = both_ways["segmented"]
    frames = mediatools.count_frames(video)
    assert frames == mediatools.count_frames(both_ways["single"]) == 90
    times = packet_times(video)
    assert len(times) == len(set(times)) == 90
    steps = set(np.diff(times).tolist())
    assert len(steps) == 1, steps  # constant frame rate: no gap or doubled time at a joint
    info, reference = mediatools.probe(video), mediatools.probe(both_ways["single"])
    assert info.fps == FPS
    assert info.duration_s == pytest.approx(3.0, abs=0.002)
    assert info.duration_s == pytest.approx(reference.duration_s, abs=0.001)


def test_every_frame_matches_the_single_graph_render(both_ways, reel):
    single = mediatools.all_frames(both_ways["single"])
    parts = mediatools.all_frames(both_ways["segmented"])
    assert parts.shape == single.shape
    errors = [_mad(a, b) for a, b in zip(single, parts, strict=True)]
    # Encoded apart, a segment's last frames are quantised a little differently (the encoder
    # looks ahead to where its stream ends): differences of encoding, not of picture.
    assert max(errors) < 3.5 and np.mean(errors) < 2.0, np.round(errors, 2)


def test_no_frame_is_doubled_or_dropped_at_a_joint(both_ways, reel):
    """The photos move on every frame, so a frame out of place at a joint would look like its
    neighbour in the single-graph render, not like itself."""
    single = mediatools.all_frames(both_ways["single"])
    parts = mediatools.all_frames(both_ways["segmented"])
    cuts = joints(reel)
    assert len(cuts) == 2
    for cut in cuts:
        telling = 0
        for index in range(cut - 3, cut + 4):
            own = _mad(parts[index], single[index])
            neighbours = [_mad(parts[index], single[index + step]) for step in (-1, 1)]
            assert own < 3.5, (cut, index, own)
            # Where the picture moves well beyond the encoding's noise (not the slow clip).
            if min(neighbours) > 6:
                telling += 1
                assert own < 0.5 * min(neighbours), (cut, index, own, neighbours)
            # The motion steps across the joint as it does in one graph.
            step = _mad(parts[index], parts[index - 1])
            assert step == pytest.approx(_mad(single[index], single[index - 1]), abs=1.0)
            assert step > 1.0
        assert telling >= 3, cut


def test_the_transition_before_a_joint_is_whole(both_ways, reel):
    """The slide into the panning photo ends just before the first joint: every frame of it is
    there, moving, in place."""
    spec = scenes.parse_spec(reel)
    plan = build_plan(spec, themes.load_theme("default"), size=SIZE)
    slide = plan.transitions[1]
    assert slide.xfade == "slideleft"
    assert slide.offset_frame + slide.frames == joints(reel)[0]
    single = mediatools.all_frames(both_ways["single"])
    parts = mediatools.all_frames(both_ways["segmented"])
    window = range(slide.offset_frame - 1, slide.offset_frame + slide.frames + 1)
    for index in window:
        assert _mad(parts[index], single[index]) < 3.5, index
    steps = [_mad(parts[i], parts[i - 1]) for i in window[1:]]
    assert min(steps) > 1.0, steps


def test_the_poster_is_the_planned_frame(both_ways):
    poster = np.asarray(Image.open(both_ways["segmented_poster"]))
    reference = np.asarray(Image.open(both_ways["single_poster"]))
    assert poster.shape == reference.shape
    assert _mad(poster, reference) < 2.5


@pytest.mark.parametrize("ffmpeg", BUILDS)
def test_both_ffmpeg_builds_join_exactly(tmp_path, reel, ffmpeg):
    data = {**reel, "scenes": reel["scenes"][:4]}  # two joints are enough; keep it quick
    rendered = _render_both(tmp_path, data, ffmpeg)
    expected = sum(round(scene["duration"] * FPS) for scene in data["scenes"])
    assert mediatools.count_frames(rendered["segmented"]) == expected
    times = packet_times(rendered["segmented"])
    assert len(set(np.diff(times).tolist())) == 1
    parts = mediatools.all_frames(rendered["segmented"])
    single = mediatools.all_frames(rendered["single"])
    assert max(_mad(a, b) for a, b in zip(single, parts, strict=True)) < 3.5
    info = mediatools.probe(rendered["segmented"])
    assert info.duration_s == pytest.approx(expected / FPS, abs=0.002)
    assert (info.video_codec, info.pix_fmt, info.audio_codec) == ("h264", "yuv420p", "aac")
    assert mediatools.is_faststart(rendered["segmented"])


def test_sound_is_rendered_once_across_the_joints(render_spec, segmented, shared_assets, tmp_path):
    """Music, a voiceover and a clip's own sound run straight through the joints: the samples
    are those of the single-graph render."""
    clip = tmp_path / "tone-clip.mp4"
    mediatools._run([
        "-f", "lavfi", "-i", "testsrc2=s=320x240:r=30:d=2", "-f", "lavfi",
        "-i", "sine=frequency=1000:sample_rate=48000:duration=2", "-c:v", "libx264",
        "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(clip),
    ])  # fmt: skip
    titles = [{"type": "title", "title": str(i), "duration": 0.5} for i in range(5)]
    titles[1]["voiceover"] = str(shared_assets / "voiceover.m4a")
    titles.insert(3, {"type": "video", "src": str(clip), "muted": False, "duration": 0.5})
    data = {
        "transition": {"type": "fade", "duration": 0.2},
        "scenes": titles,
        "audio": {"music": str(shared_assets / "music.m4a")},
    }
    single = mediatools.pcm(render_spec(data).video)
    segmented()
    rendered = render_spec(data)
    sound = mediatools.pcm(rendered.video)
    assert mediatools.probe(rendered.video).duration_s == pytest.approx(3.0, abs=0.03)
    assert abs(len(sound) - len(single)) <= 16
    length = min(len(sound), len(single))
    assert np.max(np.abs(sound[:length] - single[:length])) < 0.02
    # The clip's tone plays where its scene does (1.5-2.0 s), in a later segment, and only there.
    tone = mediatools.band_rms(sound, 16_000, 1.6, 1.9, (900, 1100))
    before = mediatools.band_rms(sound, 16_000, 0.6, 1.2, (900, 1100))
    assert tone > 0.05 and before < 0.2 * tone


def test_progress_adds_up_across_segments(render_spec, segmented, reel):
    segmented()
    rendered = render_spec(reel)
    done = [d for d, _ in rendered.progress]
    assert {t for _, t in rendered.progress} == {90}
    assert done == sorted(done) and done[-1] == 90
    # Frames were counted inside later segments, not only at their ends.
    later = joints(reel)[0]
    assert any(later < d < 90 for d in done)


def test_only_the_video_and_poster_are_left(render_spec, segmented, reel):
    segmented()
    rendered = render_spec(reel)
    assert sorted(p.name for p in rendered.out_dir.iterdir()) == ["poster.jpg", "video.mp4"]


def test_cancel_kills_the_running_segment(options, segmented, reel, tmp_path,
                                         ffmpeg_children):  # fmt: skip
    segmented()
    cancel = threading.Event()
    first_joint = joints(reel)[0]
    past_first = threading.Event()
    failure: list[BaseException] = []

    def progress(done: int, total: int) -> None:
        if done > first_joint:
            past_first.set()
            cancel.set()

    out_dir = tmp_path / "cancelled"
    spec = scenes.parse_spec(reel)
    with pytest.raises(RenderCancelled):
        try:
            render(spec, out_dir, options, progress=progress, cancel=cancel)
        except BaseException as exc:
            failure.append(exc)
            raise
    assert past_first.is_set()
    assert not ffmpeg_children()
    assert not out_dir.exists() or not any(out_dir.iterdir())


def test_nvenc_session_limit_falls_back_for_every_segment(render_spec, segmented, tmp_path,
                                                         reel):  # fmt: skip
    """A busy GPU refuses the first segment: every segment is then encoded by libx264, so the
    stream is one encoder's and the join still holds."""
    log = tmp_path / "encoders.log"
    wrapper = tmp_path / "ffmpeg-busy-gpu"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'case " $* " in *" h264_nvenc "*) echo nvenc >> "{log}"\n'
        '  echo "[h264_nvenc @ 0x1] OpenEncodeSessionEx failed: out of memory (10)" >&2\n'
        "  exit 1;;\n"
        f'*" libx264 "*) echo libx264 >> "{log}";;\n'
        "esac\n"
        f'exec "{BUNDLED}" "$@"\n'
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    segmented()
    rendered = render_spec(reel, ffmpeg=str(wrapper), encoder="h264_nvenc")
    assert rendered.result.encoder == "libx264"
    assert log.read_text().split() == ["nvenc", "libx264", "libx264", "libx264"]
    assert mediatools.count_frames(rendered.video) == 90


@pytest.mark.parametrize("theme", ["winter"])
def test_an_effect_runs_on_across_the_joints(tmp_path, shared_assets, theme):
    """Falling snow continues where it was: frames at a joint match the single-graph render."""
    data = {
        "theme": theme,
        "fps": FPS,
        "transition": {"type": "none"},
        "scenes": [{"type": "title", "title": str(i), "duration": 0.4} for i in range(4)],
    }
    rendered = _render_both(tmp_path, data, BUNDLED)
    single = mediatools.all_frames(rendered["single"])
    parts = mediatools.all_frames(rendered["segmented"])
    for cut in joints(data):
        for index in (cut - 1, cut, cut + 1):
            assert _mad(parts[index], single[index]) < 1.5, (cut, index)
    assert _mad(single[13], single[19]) > 0.3  # the snow does move


def test_single_graph_limit_keeps_short_videos_in_one_run(render_spec, reel, tmp_path):
    """Up to the limit a video is one FFmpeg run, the poster written by it: no join."""
    data = reel
    assert len(data["scenes"]) <= renderer.segments.SINGLE_GRAPH_MAX_SCENES
    runs: list[list[str]] = []
    original = sys.modules["renderer.render"].run_ffmpeg

    def counted(args, **kwargs):
        runs.append(list(args))
        return original(args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys.modules["renderer.render"], "run_ffmpeg", counted)
        render_spec(data)
    assert len(runs) == 1 and any(re.search(r"video\.mp4$", arg) for arg in runs[0])


def test_segments_are_written_as_transport_streams_in_the_render_dir(
    options, segmented, reel, tmp_path
):
    segmented()
    seen: list[list[str]] = []
    original = renderer.segmented.run_ffmpeg

    def spy(args, **kwargs):
        seen.append(list(args))
        return original(args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(renderer.segmented, "run_ffmpeg", spy)
        render(scenes.parse_spec(reel), tmp_path / "out",
               dataclasses.replace(options))  # fmt: skip
    *parts, joined = seen
    assert len(parts) == 3
    written = [Path(arg) for args in parts for arg in args if arg.endswith(".ts")]
    assert len(written) == 3 and all(path.parent.parent == tmp_path / "out" for path in written)
    assert "copy" in joined and joined[-1].endswith("video.mp4")
    # The joining run reads them all from a list beside them.
    assert any(arg.endswith(".ffconcat") for arg in joined)
