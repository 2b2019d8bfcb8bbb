"""The caption track over the finished picture: one overlay per track, of its band only.

A track's pictures reach the graph as one stream through FFmpeg's concat demuxer, each
picture decoded and converted once, however long it stays: the list says when each one
starts. Overlay shows, on every frame, the latest picture that has started, so a picture
meant from frame a is listed from half a frame before a (no rounding puts it a frame late),
on a clock of twice the frame rate, where every such half frame is exact. A graph rendering
a window of the video (a segment) gets a list of the pictures in its window, from its start.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import ffmpeg

from renderer.graph.inputs import Inputs
from renderer.graph.sources import CaptionPictures, GraphSources
from renderer.graph.streams import YUV, Stream
from renderer.plan import RenderPlan


def with_captions(
    plan: RenderPlan,
    video: Stream,
    sources: GraphSources,
    inputs: Inputs,
    first_frame: int = 0,
    frames: int | None = None,
) -> Stream:
    """`video` (output frames [first_frame, first_frame + frames)) with the caption track."""
    frames = plan.total_frames - first_frame if frames is None else frames
    tracks = [
        (number, track)
        for number, track in enumerate(sources.captions)
        if any(_shown(track, first_frame, frames))
    ]
    if not tracks:
        return video
    # Overlay lines the pictures up with the video by timestamp, and the video keeps its own:
    # frame n of the window is shown at n/fps, whatever time base carries it.
    for number, track in tracks:
        listing = write_listing(track, plan.fps, first_frame, frames, number)
        # Our own list, naming our own files: `safe=0` only lets it set the clock (`option`).
        pictures = inputs.add(listing, f="concat", safe=0)
        pictures = pictures.filter("scale", **YUV).filter("format", pix_fmts="yuva420p")
        video = ffmpeg.filter(
            [video, pictures], "overlay", x=track.x, y=track.y, eof_action="repeat"
        )
    return video


def _shown(
    track: CaptionPictures, first_frame: int, frames: int
) -> Iterator[tuple[int, int, Path]]:
    """The track's pictures in the window, frames counted from the window's start."""
    end = first_frame + frames
    for first, last, path in track.pictures:
        if last >= first_frame and first < end:
            yield max(first, first_frame) - first_frame, min(last, end - 1) - first_frame, path


def listing_entries(
    track: CaptionPictures, first_frame: int, frames: int
) -> list[tuple[int, Path]]:
    """(start frame in the window, picture) in order: the blank wherever nothing shows, and
    the blank last, so the stream ends on it."""
    entries: list[tuple[int, Path]] = [(0, track.blank)]
    for first, last, path in _shown(track, first_frame, frames):
        entries += [(first, path), (last + 1, track.blank)]
    return _merged(entries)


def _merged(entries: list[tuple[int, Path]]) -> list[tuple[int, Path]]:
    """Neighbours showing the same picture as one entry; a later start at the same frame wins."""
    merged: list[tuple[int, Path]] = []
    for start, path in entries:
        if merged and merged[-1][0] == start:
            merged[-1] = (start, path)
        elif merged and merged[-1][1] == path:
            continue
        else:
            merged.append((start, path))
    return merged


def write_listing(
    track: CaptionPictures, fps: int, first_frame: int, frames: int, number: int
) -> Path:
    entries = listing_entries(track, first_frame, frames)
    path = track.blank.with_name(f"captions-{number}-{first_frame}.ffconcat")
    lines = ["ffconcat version 1.0"]
    for i, (start, picture) in enumerate(entries):
        lines += [f"file {picture.name}", f"option framerate {2 * fps}"]
        if i + 1 < len(entries):
            lines.append(
                f"duration {_starts_at(entries[i + 1][0], fps) - _starts_at(start, fps):.6f}"
            )
    path.write_text("\n".join(lines) + "\n")
    return path


def _starts_at(frame: int, fps: int) -> float:
    return 0.0 if frame == 0 else (frame - 0.5) / fps
