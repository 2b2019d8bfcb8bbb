"""Sidecar subtitles: the caption track written beside the video as captions.vtt and .srt.

Players and platforms that take a subtitle file (HTML <track>, YouTube, editors) get the same
cues the video has burned in, on the video's timeline.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from pathlib import Path

from scenes.subtitles import Cue, to_srt, to_vtt

VTT_NAME = "captions.vtt"
SRT_NAME = "captions.srt"
SIDECAR_NAMES = {"vtt": VTT_NAME, "srt": SRT_NAME}


def write_sidecars(cues: Sequence[Cue], output_dir: Path) -> dict[str, Path]:
    """Write `output_dir/captions.vtt` and `captions.srt`; {"vtt": path, "srt": path}.

    Each file appears under its final name only when complete, so a reader (the server
    serving a job's files, a sweeper copying them) never sees half a file.
    """
    output_dir = Path(output_dir)
    texts = {"vtt": to_vtt(cues), "srt": to_srt(cues)}
    written: dict[str, Path] = {}
    for kind, name in SIDECAR_NAMES.items():
        path = output_dir / name
        _write_atomically(path, texts[kind])
        written[kind] = path
    return written


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        # newline="" keeps "\n" on every platform: both formats are read the same either way,
        # but byte-identical files make caching and comparison simple.
        with partial.open("w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
