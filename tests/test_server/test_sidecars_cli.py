"""Sidecar subtitles on disk: `write_sidecars` writes both formats whole and in UTF-8, and
`reelfarm render` puts OUT.vtt and OUT.srt beside OUT.mp4 for a spec with captions."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import support.media as mediatools

from renderer.sidecars import write_sidecars
from scenes.subtitles import Cue, parse_srt, parse_vtt, to_srt

CUES = [Cue(0.1, 0.5, "déjà vu & <3"), Cue(1.25, 2.0, "Привет\n你好")]
# Words 0.1-0.5 s, a pause longer than a page is held across, then one more: two cues, each
# on the 10 fps frame grid, so the sidecars carry these times exactly.
WORDS = [
    {"text": "hi", "start": 0.1, "end": 0.3},
    {"text": "there", "start": 0.3, "end": 0.5},
    {"text": "again", "start": 1.2, "end": 1.6},
]
SPOKEN = [Cue(0.1, 0.5, "hi there"), Cue(1.2, 1.6, "again")]


def test_both_formats_are_written_in_utf8_and_read_back(tmp_path: Path) -> None:
    written = write_sidecars(CUES, tmp_path)
    assert written == {"vtt": tmp_path / "captions.vtt", "srt": tmp_path / "captions.srt"}
    assert parse_vtt(written["vtt"].read_bytes().decode("utf-8")) == CUES
    assert parse_srt(written["srt"].read_bytes().decode("utf-8")) == CUES
    assert b"\r\n" not in written["srt"].read_bytes()
    # Nothing but the two files: no partial file is left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["captions.srt", "captions.vtt"]


def test_a_reader_sees_the_old_file_or_the_new_one_never_half(tmp_path: Path) -> None:
    old = [Cue(0, 1, "old")]
    new = [Cue(i / 100, (10 * i + 5) / 1000, f"new cue {i}") for i in range(300)]
    write_sidecars(old, tmp_path)
    whole = {to_srt(old), to_srt(new)}
    # Many rewrites while reading as fast as possible: a file written in place is seen empty
    # or cut short in a good share of reads (hundreds of 1,000 here), a replaced one never.
    writing = threading.Thread(target=lambda: [write_sidecars(new, tmp_path) for _ in range(50)])
    writing.start()
    reads = torn = 0
    while writing.is_alive():
        reads += 1
        torn += (tmp_path / "captions.srt").read_text(encoding="utf-8") not in whole
    writing.join()
    assert reads > 10 and torn == 0


def test_a_directory_that_cannot_be_written_raises_and_leaves_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    with pytest.raises(OSError):
        write_sidecars(CUES, missing)
    assert not missing.exists()


def _spec(folder: Path, **extra) -> Path:
    data = {
        "width": 160,
        "height": 284,
        "fps": 10,
        "output": {"quality": "draft"},
        "scenes": [{"type": "title", "title": "Sidecars", "duration": 2.0}],
        **extra,
    }
    path = folder / f"spec-{len(extra)}.json"
    path.write_text(json.dumps(data))
    return path


def test_render_writes_the_sidecars_beside_the_video(cli, tmp_path: Path) -> None:
    captions = {"words": WORDS, "style": "plain", "max_words": 8}
    out = tmp_path / "out" / "reel.mp4"
    code, stdout, stderr = cli("render", str(_spec(tmp_path, captions=captions)), "-o", str(out))
    assert code == 0, stderr
    vtt, srt = out.with_suffix(".vtt"), out.with_suffix(".srt")
    assert parse_vtt(vtt.read_text(encoding="utf-8")) == SPOKEN
    assert parse_srt(srt.read_text(encoding="utf-8")) == SPOKEN
    assert str(vtt) in stdout and str(srt) in stdout
    assert mediatools.count_frames(out) == 20
    # Only the outputs are left beside it: no work directory, no partial file.
    assert sorted(p.name for p in out.parent.iterdir()) == [
        "reel.jpg",
        "reel.mp4",
        "reel.srt",
        "reel.vtt",
    ]

    # A render without captions to the same name takes the old sidecars away with the video
    # they described, so a player does not load them with the new one.
    code, stdout, stderr = cli("render", str(_spec(tmp_path)), "-o", str(out), "--quiet")
    assert code == 0, stderr
    assert not vtt.exists() and not srt.exists()
    assert ".vtt" not in stdout and ".srt" not in stdout
