"""The complete FFmpeg command: the scenes joined, the effect over them, the sound, and two
outputs, the MP4 and its poster, written by the same run.

The poster is taken from the finished frames as they pass: no second decode later. An output
branch that never ends (select) keeps the graph running for it, so the poster branch is a
trim; a test fails if that comes back.

The pieces are shared with `renderer.graph.segment`, which renders a long video in parts.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import ffmpeg

from renderer.graph.audio import build_audio
from renderer.graph.captions import with_captions
from renderer.graph.effect_layer import with_effect
from renderer.graph.inputs import Inputs
from renderer.graph.joins import join
from renderer.graph.overlays import with_overlays
from renderer.graph.scene import scene_stream
from renderer.graph.sources import GraphSources
from renderer.graph.streams import Stream, split
from renderer.plan import RenderPlan

# FFmpeg AAC VBR quality per output quality; draft matches what a 96k target gave.
AAC_QUALITY = {"draft": 1.5, "standard": 3, "high": 3}
OUTPUT_COLOUR_TAGS = [
    "-colorspace",
    "bt709",
    "-color_primaries",
    "bt709",
    "-color_trc",
    "bt709",
    "-color_range",
    "tv",
]


def build_command(
    ffmpeg_path: str,
    plan: RenderPlan,
    sources: GraphSources,
    tmp_dir: Path,
    output: Path,
    poster: Path,
    encoder_args: list[str],
    threads: int = 0,
) -> list[str]:
    """The complete FFmpeg command: `plan` rendered into `output` (MP4), and frame
    `plan.poster_frame` into `poster` (JPEG) by the same run."""
    inputs = Inputs(tmp_dir)
    clip_sounds: list[Stream] = []
    streams = scene_streams(plan, range(len(plan.scenes)), sources, inputs, clip_sounds)
    video = finished(plan, join(plan, streams), sources, inputs)
    audio = build_audio(plan.audio, sources.audio, inputs.add, clip_sounds)
    video, still = split(video, 2)
    outputs = ffmpeg.merge_outputs(
        ffmpeg.output(
            video,
            audio,
            str(output),
            **video_options(plan, encoder_args),
            **audio_options(plan),
            movflags="+faststart",
        ),
        poster_output(still, plan.poster_frame, poster),
    )
    return [*command_head(ffmpeg_path, threads), *output_args(outputs)]


def scene_streams(
    plan: RenderPlan,
    indices: Iterable[int],
    sources: GraphSources,
    inputs: Inputs,
    clip_sounds: list[Stream],
) -> dict[int, Stream]:
    """The streams of scenes `indices`; unmuted clips add their sound to `clip_sounds`."""
    return {
        index: scene_stream(
            plan, plan.scenes[index], sources.scenes[index], sources, inputs, clip_sounds
        )
        for index in indices
    }


def finished(
    plan: RenderPlan,
    video: Stream,
    sources: GraphSources,
    inputs: Inputs,
    first_frame: int = 0,
    frames: int | None = None,
) -> Stream:
    """The joined scenes under the theme's effect, as the encoder takes them. `first_frame`
    is the output frame `video` starts on (a segment's), where the effect is to continue, and
    `frames` how many it holds (None: to the end of the video)."""
    # The layers over the scenes, bottom to top: the theme's effect, the caption track, the
    # brand overlays. Each takes the same window of the output timeline.
    window = {"first_frame": first_frame, "frames": frames}
    video = with_effect(plan, video, sources, inputs, **window)
    video = with_captions(plan, video, sources, inputs, **window)
    video = with_overlays(plan, video, sources, inputs, **window)
    # The graph ends the video itself (the effect layer loops without end): an output limit
    # (-frames:v) on a file that also carries sound makes FFmpeg 5.1 close it before the AAC
    # encoder is flushed, and the sound ends 35 ms early.
    length = plan.total_frames - first_frame if frames is None else frames
    video = video.filter("trim", end_frame=length)
    return video.filter("setsar", sar="1").filter("format", pix_fmts="yuv420p")


def poster_output(still: Stream, frame: int, poster: Path) -> Stream:
    """Frame `frame` of `still` written to `poster` as a JPEG."""
    # trim, not select: the branch must end right after its frame, or FFmpeg keeps asking
    # the finished poster output for more and the video's frames pile up unread.
    still = (
        still.filter("trim", start_frame=frame, end_frame=frame + 1)
        .filter("scale", out_range="pc")
        .filter("format", pix_fmts="yuvj420p")
    )
    return ffmpeg.output(still, str(poster), **{"frames:v": 1, "q:v": 3, "update": 1})


def output_args(outputs: Stream) -> list[str]:
    """ffmpeg-python's `get_args()`, also for a graph that has no FFmpeg input at all.

    The library folds the inputs' arguments with a reduce that has no start value, so a graph
    reading only `movie` sources (a segment of photos and cards, whose sound is rendered
    elsewhere) fails to compile there; this is the same compilation with that fold fixed."""
    nodes = ffmpeg.nodes.get_stream_spec_nodes(outputs)
    ordered, outgoing = ffmpeg.dag.topo_sort(nodes)
    inputs = [node for node in ordered if isinstance(node, ffmpeg.nodes.InputNode)]
    filters = [node for node in ordered if isinstance(node, ffmpeg.nodes.FilterNode)]
    names = {(node, None): str(i) for i, node in enumerate(inputs)}
    graph = ffmpeg._run._get_filter_arg(filters, outgoing, names)
    args = [arg for node in inputs for arg in ffmpeg._run._get_input_args(node)]
    if graph:
        args += ["-filter_complex", graph]
    for node in ordered:
        if isinstance(node, ffmpeg.nodes.OutputNode):
            args += ffmpeg._run._get_output_args(node, names)
    return args


def command_head(ffmpeg_path: str, threads: int) -> list[str]:
    head = [ffmpeg_path, "-hide_banner", "-loglevel", "error", "-y"]
    if threads > 0:
        head += ["-filter_complex_threads", str(threads), "-filter_threads", str(threads)]
    return head


def video_options(plan: RenderPlan, encoder_args: list[str]) -> dict[str, object]:
    """The encoder, its colour tags and a constant rate of `plan.fps` (the graph sets how many
    frames: `finished()`)."""
    return {**_pairs(encoder_args), **_pairs(OUTPUT_COLOUR_TAGS), "r": plan.fps}


def audio_options(plan: RenderPlan) -> dict[str, object]:
    return {
        "c:a": "aac",
        # The fast coder at a constant quality. A bitrate target makes FFmpeg's AAC encoder
        # quantize each frame again and again while it cannot reach the target (160k music
        # came out at 97k), for three times the CPU of VBR at the same SNR: 44 dB on the
        # sample music, 48 dB on the voiceover, at about 110 and 80 kb/s.
        "aac_coder": "fast",
        "q:a": AAC_QUALITY[plan.quality],
        "ar": 48000,
        "ac": 2,
    }


def colour_options() -> dict[str, str]:
    return _pairs(OUTPUT_COLOUR_TAGS)


def _pairs(args: list[str]) -> dict[str, str]:
    """["-c:v", "libx264", "-crf", "23"] → {"c:v": "libx264", "crf": "23"} for ffmpeg-python."""
    return {
        flag.removeprefix("-"): value for flag, value in zip(args[::2], args[1::2], strict=True)
    }
