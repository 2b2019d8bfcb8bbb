"""A video scene: the clip seeked, looped or frozen to the scene's length, fitted per frame,
and its own sound placed where the scene plays."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ffmpeg

from renderer.graph.audio import clip_sound
from renderer.graph.inputs import Inputs
from renderer.graph.sources import GraphSources
from renderer.graph.streams import CLIP_YUV, Stream, blurred, cfr, cover
from renderer.plan import RenderPlan, ScenePlan
from renderer.probe import MediaInfo
from scenes.visuals import ClipVisual


def clip(
    plan: RenderPlan,
    scene: ScenePlan,
    visual: ClipVisual,
    path: Path,
    info: MediaInfo,
    sources: GraphSources,
    inputs: Inputs,
    clip_sounds: list[Stream],
) -> Stream:
    width, height = plan.size
    frames = scene.timing.stream_frames
    needed_s = frames / plan.fps
    available_s = (info.duration_s or 0.0) - visual.start_s
    short = available_s < needed_s
    options: dict[str, Any] = {}
    if visual.start_s > 0:
        options["ss"] = f"{visual.start_s:.3f}"
    # Looping happens at the input, so nothing is buffered however long the scene is.
    looping = short and visual.when_short == "loop"
    if looping:
        options["stream_loop"] = -1
    source = inputs.add(path, **options)

    video = source.video.filter("setpts", expr="PTS-STARTPTS")
    sound = source.audio
    if looping and visual.start_s > 0 and info.duration_s:
        video, sound = _from_start_on_every_pass(
            video, sound, visual.start_s, info.duration_s, info.fps
        )
    video = video.filter("fps", fps=plan.fps)
    if visual.fit == "contain":
        video = _contain(video, width, height, sources)
    else:
        video = cover(video, width, height, flags="bilinear", colour=CLIP_YUV)
    if short and visual.when_short == "freeze":
        video = video.filter("tpad", stop=-1, stop_mode="clone")
    video = cfr(video.filter("trim", end_frame=frames), plan.fps)

    if not visual.muted and info.has_audio:
        fade_s = max(scene.timing.lead_frames, scene.timing.tail_frames, 1) / plan.fps
        clip_sounds.append(
            clip_sound(
                sound,
                delay_s=scene.timing.stream_start_frame / plan.fps,
                duration_s=needed_s,
                volume=visual.volume,
                fade_s=fade_s,
            )
        )
    return video


def _from_start_on_every_pass(
    video: Stream, sound: Stream, start_s: float, clip_s: float, clip_fps: float
) -> tuple[Stream, Stream]:
    """A looped clip played from `start_s` on every pass, not only the first.

    FFmpeg's input loop (-stream_loop) goes back to the file's beginning and keeps the time
    running on, so after -ss the n-th pass shows the clip's time (t + start) mod clip_s. What
    comes before `start_s` is dropped, and the time closed up by the start skipped on each
    earlier pass, so the frames stay evenly spaced for the fps filter after."""
    # Half a source frame of tolerance: a frame exactly at `start_s` never counts as before it.
    before = f"{start_s:.6f}-{0.5 / (clip_fps or 30):.6f}"
    shown = f"gte(mod(t+{start_s:.6f},{clip_s:.6f}),{before})"
    passes = f"floor((T+{start_s:.6f})/{clip_s:.6f})"
    video = video.filter("select", expr=shown).filter(
        "setpts", expr=f"PTS-{passes}*{start_s:.6f}/TB"
    )
    # Sound needs no times moved: clip_sound lays its samples end to end.
    sound = sound.filter("aselect", expr=shown).filter("asetpts", expr="N/SR/TB")
    return video, sound


def _contain(video: Stream, width: int, height: int, sources: GraphSources) -> Stream:
    fitted_options = {
        "w": width,
        "h": height,
        "force_original_aspect_ratio": "decrease",
        "force_divisible_by": 2,
        "flags": "bilinear",
        **CLIP_YUV,
    }
    if not sources.blur_contain:
        # Padding with the theme colour costs nothing per frame; a full background would.
        return (
            video.filter("scale", **fitted_options)
            .filter("format", pix_fmts="yuv420p")
            .filter(
                "pad",
                w=width,
                h=height,
                x="(ow-iw)/2",
                y="(oh-ih)/2",
                color=sources.background_colour,
            )
            .filter("setsar", sar="1")
        )
    split = video.split()
    backdrop = blurred(
        cover(split[1], width, height, flags="fast_bilinear", colour=CLIP_YUV), width, height
    )
    fitted = split[0].filter("scale", **fitted_options).filter("format", pix_fmts="yuv420p")
    return ffmpeg.filter([backdrop, fitted], "overlay", x="(W-w)/2", y="(H-h)/2").filter(
        "setsar", sar="1"
    )
