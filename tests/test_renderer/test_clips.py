"""Clips shorter than their scene: looped from where they start, or frozen on their last frame."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import support.media as mediatools

# A 3 s clip, one grey a second, so a frame's brightness tells which second of it shows, and
# a 1 kHz tone that plays throughout.
GREYS = ("0x282828", "0x808080", "0xd8d8d8")


@pytest.fixture(scope="module")
def steps_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clips") / "steps.mp4"
    parts = ";".join(f"color=c={grey}:s=64x64:r=30:d=1[p{i}]" for i, grey in enumerate(GREYS))
    graph = f"{parts};[p0][p1][p2]concat=n=3[v];sine=frequency=1000:sample_rate=48000:d=3[a]"
    subprocess.run(
        [mediatools.ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
         "-filter_complex", graph, "-map", "[v]", "-map", "[a]",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
         "-c:a", "aac", str(path)],
        check=True, timeout=60,
    )  # fmt: skip
    return path


def _second_shown(frames: np.ndarray) -> list[int]:
    """Which second of the clip each frame shows, from its mean brightness."""
    levels = [int(grey, 16) & 0xFF for grey in GREYS]
    means = frames[..., 0].reshape(len(frames), -1).mean(axis=1)
    return [int(np.argmin([abs(mean - level) for level in levels])) for mean in means]


def test_a_short_clip_loops_from_its_start_on_every_pass(render_spec, steps_clip):
    scene = {"type": "video", "src": str(steps_clip), "start": 1, "duration": 5,
             "when_short": "loop", "muted": False}  # fmt: skip
    rendered = render_spec({"transition": {"type": "none"}, "scenes": [scene]})
    shown = _second_shown(mediatools.all_frames(rendered.video))
    assert len(shown) == 150
    # Seconds 1 and 2 of the clip, again and again: never its first second.
    expected = [1] * 30 + [2] * 30 + [1] * 30 + [2] * 30 + [1] * 30
    mismatched = [
        i for i, (got, want) in enumerate(zip(shown, expected, strict=True)) if got != want
    ]
    assert len(mismatched) <= 2, mismatched  # a frame at a seam, at most
    # Its sound plays on through every pass.
    samples = mediatools.pcm(rendered.video, 16_000)
    for start in (0.3, 1.3, 2.3, 3.3, 4.3):
        assert mediatools.band_rms(samples, 16_000, start, start + 0.4, (900.0, 1100.0)) > 0.05


def test_a_short_clip_can_freeze_on_its_last_frame(render_spec, steps_clip):
    scene = {"type": "video", "src": str(steps_clip), "start": 1, "duration": 4,
             "when_short": "freeze"}  # fmt: skip
    rendered = render_spec({"transition": {"type": "none"}, "scenes": [scene]})
    shown = _second_shown(mediatools.all_frames(rendered.video))
    assert shown[:30] == [1] * 30
    assert shown[30:] == [2] * 90
