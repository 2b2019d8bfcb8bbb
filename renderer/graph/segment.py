"""A long video in parts: one command per segment (pictures only), and one that joins them.

Each segment is encoded on its own into an MPEG-TS file: every encoder process starts on an
IDR frame with the same arguments, so the segments are parts of one H.264 stream and are
joined by copying their packets, never decoding them. The transport stream keeps each frame's
timestamps (B-frames included), and the concat demuxer, told each segment's exact length,
lays them end to end; the joining run renders the sound of the whole timeline once (music,
voiceovers, clip sound: nothing about it is cut) and muxes both into the MP4.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import ffmpeg

from renderer.graph.audio import build_audio
from renderer.graph.command import (
    audio_options,
    colour_options,
    command_head,
    finished,
    output_args,
    poster_output,
    scene_streams,
    video_options,
)
from renderer.graph.inputs import Inputs
from renderer.graph.joins import join
from renderer.graph.scene import clip_sounds
from renderer.graph.sources import GraphSources
from renderer.graph.streams import Stream, split
from renderer.plan import RenderPlan
from renderer.segments import SegmentPlan

SEGMENT_FORMAT = "mpegts"


def build_segment_command(
    ffmpeg_path: str,
    plan: RenderPlan,
    segment: SegmentPlan,
    sources: GraphSources,
    tmp_dir: Path,
    output: Path,
    poster: Path | None,
    encoder_args: list[str],
    threads: int = 0,
) -> list[str]:
    """Frames [segment.first_frame, segment.end_frame) of `plan` encoded into `output`
    (MPEG-TS, no sound), and the poster into `poster` when the segment holds it."""
    inputs = Inputs(tmp_dir)
    # The clips' sound is the joining run's: here it reaches no output and is left out.
    streams = scene_streams(plan, segment.scenes_read, sources, inputs, [])
    video = join(plan, streams, segment.first_scene, segment.stop_scene)
    video = finished(
        plan, video, sources, inputs, first_frame=segment.first_frame, frames=segment.frames
    )
    encoded = {**video_options(plan, encoder_args), "f": SEGMENT_FORMAT}
    if poster is None or segment.poster_frame is None:
        args = output_args(ffmpeg.output(video, str(output), **encoded))
    else:
        video, still = split(video, 2)
        args = output_args(
            ffmpeg.merge_outputs(
                ffmpeg.output(video, str(output), **encoded),
                poster_output(still, segment.poster_frame, poster),
            )
        )
    return [*command_head(ffmpeg_path, threads), *args]


def write_segment_list(
    plan: RenderPlan, segments: Sequence[SegmentPlan], files: Sequence[Path], path: Path
) -> Path:
    """The concat demuxer's list of `files`, each with its exact length.

    Given lengths, the demuxer places every segment at the sum of the ones before it instead
    of guessing each file's end from its last timestamp (a frame short: the last frame's
    duration is not stored). Names are relative to the list, so none needs `-safe 0`."""
    lines = ["ffconcat version 1.0"]
    for segment, file in zip(segments, files, strict=True):
        if file.parent != path.parent:
            raise ValueError(f"{file} is not beside {path}")
        lines += [f"file {file.name}", f"duration {segment.frames / plan.fps:.6f}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def build_join_command(
    ffmpeg_path: str,
    plan: RenderPlan,
    sources: GraphSources,
    tmp_dir: Path,
    segment_list: Path,
    output: Path,
    threads: int = 0,
) -> list[str]:
    """The segments listed in `segment_list` copied into `output` (MP4) with the sound of the
    whole timeline, rendered here once."""
    inputs = Inputs(tmp_dir)
    video: Stream = ffmpeg.input(str(segment_list), f="concat").video
    audio = build_audio(plan.audio, sources.audio, inputs.add, clip_sounds(plan, sources, inputs))
    options = {
        "c:v": "copy",
        **colour_options(),
        # The MP4's time base from the frame rate, as an encoded render has it, not the
        # transport stream's 90 kHz clock.
        "r": plan.fps,
        **audio_options(plan),
        "movflags": "+faststart",
    }
    args = output_args(ffmpeg.output(video, audio, str(output), **options))
    return [*command_head(ffmpeg_path, threads), *args]
