"""Rendering a long video as segments: one FFmpeg process after another, then one join.

Only one segment's graph is alive at a time, so memory stays that of a few scenes however long
the video is. Progress adds up across the segments; a cancel kills the running segment's
FFmpeg. Every file lives in the render's temporary directory.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from renderer.ffmpeg import run_ffmpeg
from renderer.graph.segment import build_join_command, build_segment_command, write_segment_list
from renderer.graph.sources import GraphSources
from renderer.plan import RenderPlan
from renderer.segments import SegmentPlan
from renderer.types import ProgressCallback, RenderCancelled


def render_segment(
    ffmpeg_path: str,
    plan: RenderPlan,
    segment: SegmentPlan,
    sources: GraphSources,
    tmp_dir: Path,
    poster: Path,
    encoder_args: list[str],
    threads: int = 0,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Encode `segment` into tmp_dir (and the poster, when it holds it); returns its file.

    `progress` gets frames done and the total of the whole video, counting the segments
    before this one as done. Segments do not depend on one another: any may run first."""
    output = tmp_dir / f"segment-{segment.index:04d}.ts"
    args = build_segment_command(
        ffmpeg_path,
        plan,
        segment,
        sources,
        tmp_dir,
        output,
        poster if segment.poster_frame is not None else None,
        encoder_args,
        threads,
    )
    reported = None
    if progress is not None:
        callback = progress

        def reported(done: int, _frames: int) -> None:
            callback(segment.first_frame + done, plan.total_frames)

    run_ffmpeg(args, total_frames=segment.frames, progress=reported, cancel=cancel)
    return output


def render_in_segments(
    ffmpeg_path: str,
    plan: RenderPlan,
    segments: Sequence[SegmentPlan],
    sources: GraphSources,
    tmp_dir: Path,
    output: Path,
    poster: Path,
    encoder_args: list[str],
    threads: int = 0,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> None:
    """Every segment in order, then the join: `output` (MP4 with the sound) and `poster`."""
    files = []
    for segment in segments:
        if cancel is not None and cancel.is_set():
            raise RenderCancelled()
        files.append(
            render_segment(
                ffmpeg_path,
                plan,
                segment,
                sources,
                tmp_dir,
                poster,
                encoder_args,
                threads,
                progress,
                cancel,
            )
        )
    segment_list = write_segment_list(plan, segments, files, tmp_dir / "segments.ffconcat")
    args = build_join_command(ffmpeg_path, plan, sources, tmp_dir, segment_list, output, threads)
    run_ffmpeg(args, cancel=cancel)
