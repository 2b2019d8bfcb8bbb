"""`render()`: a Spec becomes video.mp4 and poster.jpg in one FFmpeg run (a few, if it is long).

Order of work: theme → plan (pure arithmetic) → sources resolved and probed (every problem
named by its spec field) while the text cards are drawn → background and effect (cached) → one
FFmpeg command, which writes the poster too; a video of many scenes is rendered in segments
instead, one command each, joined by one more (`renderer.segmented`). Everything temporary
lives in one directory inside `output_dir` that is removed however the render ends; the video
and poster appear under their final names only when both are complete.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import scenes
import themes
from renderer import effects
from renderer.assets import resolve
from renderer.backgrounds import theme_background
from renderer.captions.files import prepare_captions
from renderer.card_files import draw_card
from renderer.encoder import FALLBACK_ENCODER, encoder_args, is_session_limit, working_encoders
from renderer.ffmpeg import FFmpegFailed, find_ffmpeg, run_ffmpeg
from renderer.graph import AudioSources, GraphSources, SceneSources, build_command
from renderer.overlay_files import prepare_overlays
from renderer.plan import RenderPlan, ScenePlan, build_plan
from renderer.probe import MediaInfo, media_info
from renderer.segmented import render_in_segments
from renderer.segments import plan_segments
from renderer.sidecars import write_sidecars
from renderer.types import (
    AssetError,
    AssetPolicy,
    ProgressCallback,
    RenderCancelled,
    RenderError,
    RenderOptions,
    RenderResult,
)
from scenes.subtitles import Cue
from scenes.visuals import ClipVisual, StillVisual

VIDEO_NAME = "video.mp4"
POSTER_NAME = "poster.jpg"
# Media fetched and probed at once: downloads wait on the network, probes on FFmpeg.
MEDIA_THREADS = 4


def render(
    spec: scenes.Spec,
    output_dir: Path,
    options: RenderOptions,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> RenderResult:
    """Render `spec` to `output_dir/video.mp4` and `output_dir/poster.jpg`.

    Progress is reported as (frames done, total frames). Setting `cancel` kills FFmpeg within a
    poll interval and raises RenderCancelled. Problems raise RenderError (AssetError for media)
    whose `field` names the spec field at fault, e.g. "scenes[2].src".
    """
    started = time.monotonic()
    output_dir = Path(output_dir)
    ffmpeg_path = find_ffmpeg(options.ffmpeg or "auto").path
    theme = _load_theme(spec, options)
    plan = build_plan(
        spec, theme, size=options.size, preview=options.preview, quality=options.quality
    )
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        tmp_dir = Path(tempfile.mkdtemp(prefix=".render-", dir=output_dir))
    except OSError as exc:
        raise RenderError(f"cannot write to {output_dir}: {exc.strerror or exc}") from None
    try:
        _check_cancel(cancel)
        sources, cues = _prepare(plan, theme, options, ffmpeg_path, tmp_dir, cancel)
        _check_cancel(cancel)
        encoder = _choose_encoder(ffmpeg_path, options)
        encoder = _encode(ffmpeg_path, plan, sources, tmp_dir, encoder, options, progress, cancel)
        video_path, poster_path, subtitles = _publish(plan, tmp_dir, output_dir, cues)
    except OSError as exc:  # a full disk, a vanished directory: a failed render, not a crash
        raise RenderError(f"cannot write the render: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    if progress is not None:
        with contextlib.suppress(Exception):  # the caller's bookkeeping cannot fail the render
            progress(plan.total_frames, plan.total_frames)
    return RenderResult(
        video_path=video_path,
        poster_path=poster_path,
        duration_s=plan.duration_s,
        width=plan.width,
        height=plan.height,
        fps=plan.fps,
        frames=plan.total_frames,
        size_bytes=video_path.stat().st_size,
        encoder=encoder,
        render_s=round(time.monotonic() - started, 3),
        captions=subtitles,
    )


def _publish(
    plan: RenderPlan, tmp_dir: Path, output_dir: Path, cues: tuple[Cue, ...]
) -> tuple[Path, Path, dict[str, Path]]:
    """The finished files under their final names: the video, its poster and, for a video
    with captions, its sidecar subtitles."""
    if not (tmp_dir / POSTER_NAME).is_file():
        raise RenderError("ffmpeg finished without writing the poster")
    # Sidecars first: whoever finds the video finds its subtitles.
    subtitles = write_sidecars(cues, output_dir) if plan.captions else {}
    video_path, poster_path = output_dir / VIDEO_NAME, output_dir / POSTER_NAME
    (tmp_dir / VIDEO_NAME).replace(video_path)
    (tmp_dir / POSTER_NAME).replace(poster_path)
    return video_path, poster_path, subtitles


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise RenderCancelled()


def _load_theme(spec: scenes.Spec, options: RenderOptions) -> themes.Theme:
    try:
        return themes.load_theme(spec.theme, dirs=options.theme_dirs)
    except themes.ThemeError as exc:
        raise RenderError(str(exc), "theme") from None


# --- sources ------------------------------------------------------------------------------


def _prepare(
    plan: RenderPlan,
    theme: themes.Theme,
    options: RenderOptions,
    ffmpeg_path: str,
    tmp_dir: Path,
    cancel: threading.Event | None,
) -> tuple[GraphSources, tuple[Cue, ...]]:
    """What the graph reads, and the caption cues for the sidecar subtitles."""
    policy = options.assets
    # Fetching and probing media waits on the network and on FFmpeg: done in threads while
    # this one draws the text cards. Problems are raised in spec order, whichever came first.
    pool = ThreadPoolExecutor(MEDIA_THREADS, thread_name_prefix="media")
    try:
        visuals = {
            scene.index: pool.submit(_visual_source, scene, policy, ffmpeg_path)
            for scene in plan.scenes
            if isinstance(scene.visual, StillVisual | ClipVisual)
        }
        audio = pool.submit(_audio_sources, plan, policy, ffmpeg_path)
        captions = pool.submit(prepare_captions, plan, theme, policy, tmp_dir)
        overlays = pool.submit(prepare_overlays, plan, theme, policy, tmp_dir)
        cards = []
        for scene in plan.scenes:
            _check_cancel(cancel)
            cards.append(draw_card(plan, scene, theme, tmp_dir))
        scene_sources = []
        for scene, card in zip(plan.scenes, cards, strict=True):
            found = visuals[scene.index].result() if scene.index in visuals else (None, None)
            scene_sources.append(SceneSources(found[0], found[1], card))
        audio_sources = audio.result()
        caption_files = captions.result()
        overlay_files = overlays.result()
    finally:
        # On failure or cancel, do not wait: a download still running ends by its own
        # deadline, and its file only ever lands in the cache.
        pool.shutdown(wait=False, cancel_futures=True)
    _check_cancel(cancel)
    return GraphSources(
        scenes=tuple(scene_sources),
        background=theme_background(theme, plan.size, Path(policy.cache_dir)),
        background_colour=theme.colors.background,
        blur_contain=theme.background == "blur",
        audio=audio_sources,
        effect_clip=_effect_clip(theme, plan, policy, ffmpeg_path),
        effect_filter=effects.effect_filter(theme),
        captions=caption_files.tracks,
        overlays=overlay_files,
    ), caption_files.cues


def _visual_source(
    scene: ScenePlan, policy: AssetPolicy, ffmpeg_path: str
) -> tuple[Path, MediaInfo]:
    visual = scene.visual
    assert isinstance(visual, StillVisual | ClipVisual)
    media = resolve(visual.src, visual.field, policy)
    info = _probe(ffmpeg_path, media, visual.field)
    if not info.has_video:
        kind = "an image" if isinstance(visual, StillVisual) else "a video"
        raise AssetError(f"not {kind}: {visual.src[:200]}", visual.field)
    clip_s = info.duration_s if isinstance(visual, ClipVisual) else None
    if isinstance(visual, ClipVisual) and clip_s is not None and visual.start_s >= clip_s:
        raise RenderError(
            f"starts at {visual.start_s:g}s but the clip is {clip_s:g}s long",
            f"{scene.field}.start",
        )
    return media, info


def _probe(ffmpeg_path: str, path: Path, field: str) -> MediaInfo:
    try:
        return media_info(ffmpeg_path, path)
    except RenderError as exc:
        raise AssetError(exc.message, field) from None


def _audio_sources(plan: RenderPlan, policy: AssetPolicy, ffmpeg_path: str) -> AudioSources:
    music = None
    if plan.audio.music is not None:
        music_policy = policy
        if plan.audio.music.base_dir is not None:
            # Theme music belongs to whoever installed the theme, next to its file.
            music_policy = dataclasses.replace(
                policy, allow_any_local=True, base_dir=plan.audio.music.base_dir
            )
        music = _audio_file(plan.audio.music.src, plan.audio.music.field, music_policy, ffmpeg_path)
    voices = tuple(
        _audio_file(voice.src, voice.field, policy, ffmpeg_path) for voice in plan.audio.voices
    )
    return AudioSources(music, voices)


def _audio_file(src: str, field: str, policy: AssetPolicy, ffmpeg_path: str) -> Path:
    path = resolve(src, field, policy)
    if not _probe(ffmpeg_path, path, field).has_audio:
        raise AssetError(f"has no audio: {src[:200]}", field)
    return path


def _effect_clip(
    theme: themes.Theme, plan: RenderPlan, policy: AssetPolicy, ffmpeg_path: str
) -> effects.EffectClip | None:
    try:
        return effects.effect_clip(
            theme, plan.size, plan.fps, Path(policy.cache_dir) / "effects", ffmpeg_path
        )
    except RenderError:
        raise
    except OSError as exc:
        raise RenderError(f"cannot make the {theme.effect} effect: {exc}", "theme") from None


# --- encoding -----------------------------------------------------------------------------


def _choose_encoder(ffmpeg_path: str, options: RenderOptions) -> str:
    if options.encoder:
        return options.encoder
    working = working_encoders(ffmpeg_path, options.prefer)
    if working:
        return working[0]
    if FALLBACK_ENCODER not in options.prefer and working_encoders(
        ffmpeg_path, (FALLBACK_ENCODER,)
    ):
        return FALLBACK_ENCODER
    raise RenderError(f"no working H.264 encoder among {', '.join(options.prefer)}")


def _encode(
    ffmpeg_path: str,
    plan: RenderPlan,
    sources: GraphSources,
    tmp_dir: Path,
    encoder: str,
    options: RenderOptions,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
) -> str:
    """Run the render; returns the encoder that made it (NVENC may hand over to libx264).

    A video of a few scenes is one FFmpeg run; a longer one is rendered in segments (flat
    memory), every one of them by the same encoder: a hand-over starts them all again."""
    segments = plan_segments(plan)
    while True:
        chosen = encoder_args(encoder, plan.quality, options.threads)
        video, poster = tmp_dir / VIDEO_NAME, tmp_dir / POSTER_NAME
        try:
            if len(segments) > 1:
                render_in_segments(
                    ffmpeg_path, plan, segments, sources, tmp_dir, video, poster, chosen,
                    options.threads, progress, cancel,
                )  # fmt: skip
                return encoder
            args = build_command(
                ffmpeg_path, plan, sources, tmp_dir, video, poster, chosen, options.threads
            )
            run_ffmpeg(args, total_frames=plan.total_frames, progress=progress, cancel=cancel)
            return encoder
        except FFmpegFailed as exc:
            # Every NVENC session taken (consumer cards cap them): this render goes to the CPU.
            if encoder != FALLBACK_ENCODER and is_session_limit(exc.stderr):
                encoder = FALLBACK_ENCODER
                continue
            raise RenderError(exc.message) from None
