"""Side (c): the benchmark reel as a MoviePy 2 user writes it, one clip per scene,
crossfaded and composited, written with the codec, preset and threads Reelfarm uses.

    python bench/moviepy_reel.py SPEC OUT SECONDS THREADS

It writes SECONDS of the reel in short windows spread evenly over the whole timeline (2N + 1 of
them for N scenes, so they fall on scenes and crossfades alike), since the first seconds alone
are the title card, MoviePy's cheapest scene. It prints the wall and CPU seconds (its own and
its FFmpeg readers' and writer's) that composing and writing took, and the frames written:
Python's and MoviePy's imports are left out, as a warm Reelfarm worker leaves its own out.

It takes what a user would copy from the spec's theme: its colours (a solid or a gradient
background, drawn once with numpy), its title font and its transition's length, always as a
crossfade. It draws no effect layer (snow, sparkles, grain...) and no text entrance: a naive
composition would not, and each would only make MoviePy slower.
MoviePy comes with the `bench` extra; only this process imports it.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
from moviepy import (
    AudioFileClip,
    CompositeVideoClip,
    ImageClip,
    VideoClip,
    VideoFileClip,
    afx,
    concatenate_videoclips,
    vfx,
)
from PIL import Image, ImageDraw, ImageFont

from themes import load_theme
from themes.fonts import family_path
from themes.model import Theme, rgb


def background_image(theme: Theme, width: int, height: int) -> np.ndarray:
    """The theme's background colour, or its two colours blended vertically, diagonally or
    from the centre out."""
    start = np.array(rgb(theme.colors.background), np.float32)
    end = np.array(rgb(theme.colors.background2), np.float32)
    if theme.background != "gradient":
        return np.broadcast_to(start.astype(np.uint8), (height, width, 3)).copy()
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    if theme.gradient == "vertical":
        weight = y / (height - 1)
    elif theme.gradient == "diagonal":
        weight = (x / (width - 1) + y / (height - 1)) / 2
    else:
        radius = np.hypot(x - width / 2, y - height / 2)
        weight = radius / radius.max()
    return (start + (end - start) * weight[..., None]).astype(np.uint8)


def text_image(lines: list[tuple[str, int]], theme: Theme, size: tuple[int, int]) -> np.ndarray:
    """Centred lines of (text, size) in the theme's title font and text colour, with a drop
    shadow, on a transparent frame."""
    width, height = size
    found = family_path(theme.fonts.title.family)
    card = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(card)
    y = height // 2 - height // 19
    for text, points in lines:
        if theme.fonts.title.uppercase:
            text = text.upper()
        font = ImageFont.truetype(str(found), points) if found else ImageFont.load_default()
        left = (width - draw.textlength(text, font=font)) / 2
        draw.text((left + 3, y + 3), text, font=font, fill=(0, 0, 0, 160))
        draw.text((left, y), text, font=font, fill=(*rgb(theme.colors.text), 255))
        y += int(points * 1.4)
    return np.asarray(card)


def scene_layers(scene: dict, background: np.ndarray, theme: Theme, sources: list) -> list:
    """The clips stacked for one scene: a card, a photo with its motion, or the video (added
    to `sources`, to be closed when written)."""
    height, width = background.shape[:2]
    duration, unit = scene["duration"], width / 1080
    if scene["type"] in ("title", "outro"):
        lines = [(scene.get("title", ""), round(110 * unit)),
                 (scene.get("subtitle") or scene.get("text") or "", round(56 * unit))]  # fmt: skip
        return [
            ImageClip(background, duration=duration),
            ImageClip(text_image(lines, theme, (width, height)), duration=duration),
        ]
    caption = ImageClip(
        text_image([(scene["caption"], round(56 * unit))], theme, (width, height)),
        duration=duration,
    ).with_position(("center", 0.3), relative=True)
    if scene["type"] == "image":
        photo = ImageClip(scene["src"], duration=duration)
        photo = photo.resized(max(width / photo.w, height / photo.h) * 1.15)
        if scene["motion"] == "zoom-in":
            photo = photo.resized(lambda t, d=duration: 1 + 0.15 * t / d)
        elif scene["motion"] == "zoom-out":
            photo = photo.resized(lambda t, d=duration: 1.15 - 0.15 * t / d)
        return [photo.with_position("center"), caption]
    source = VideoFileClip(scene["src"], audio=False)
    sources.append(source)
    video = source.subclipped(0, min(duration, source.duration))
    video = video.resized(max(width / video.w, height / video.h)).with_position("center")
    return [video, caption]


def compose(spec: dict, theme: Theme, sources: list) -> CompositeVideoClip:
    """Every scene, each crossfading into the next over the fade's length centred on their
    boundary (as Reelfarm's timeline has it), over the music."""
    size = (spec["width"], spec["height"])
    fade = theme.transition.duration
    background = background_image(theme, *size)
    total = sum(scene["duration"] for scene in spec["scenes"])
    clips, start = [], 0.0
    for scene in spec["scenes"]:
        layers = scene_layers(scene, background, theme, sources)
        begin, end = max(0.0, start - fade / 2), min(total, start + scene["duration"] + fade / 2)
        clip = CompositeVideoClip(layers, size=size).with_duration(end - begin).with_start(begin)
        if clips:
            clip = clip.with_effects([vfx.CrossFadeIn(fade)])
        clips.append(clip)
        start += scene["duration"]
    music = AudioFileClip(spec["audio"]["music"])
    sources.append(music)
    music = music.with_effects([afx.AudioLoop(duration=total), afx.MultiplyVolume(0.35)])
    return CompositeVideoClip(clips, size=size).with_duration(total).with_audio(music)


def sampled(reel: CompositeVideoClip, scenes: int, seconds: float, fps: int) -> VideoClip:
    """About `seconds` of `reel` as 2 * scenes + 1 windows of whole frames, one centred in each
    of as many equal stretches of the reel."""
    if seconds >= reel.duration:
        return reel
    count = 2 * scenes + 1
    frames = max(1, round(seconds * fps / count))
    last_start = int(reel.duration * fps) - frames
    windows = []
    for index in range(count):
        centre = (index + 0.5) * reel.duration / count
        first = min(last_start, max(0, round(centre * fps - frames / 2)))
        windows.append(reel.subclipped(first / fps, (first + frames) / fps))
    return concatenate_videoclips(windows)


def write_reel(spec_path: Path, out: Path, seconds: float, threads: int) -> int:
    """Compose and write the sample, then close its sources; the frames written."""
    spec, sources = json.loads(spec_path.read_text()), []
    reel = compose(spec, load_theme(spec["theme"]), sources)
    reel = sampled(reel, len(spec["scenes"]), seconds, spec["fps"])
    reel.write_videofile(
        str(out),
        fps=spec["fps"],
        codec="libx264",
        preset="veryfast",
        threads=threads or None,
        audio_codec="aac",
        ffmpeg_params=["-crf", "23"],
        logger=None,
    )
    for source in sources:  # their FFmpeg readers end and are waited for: their CPU counts
        source.close()
    return int(round(reel.duration * spec["fps"], 6))


def cpu_s() -> float:
    """User + system CPU of this process and of the children it has waited for (FFmpeg)."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


if __name__ == "__main__":
    spec, out, seconds, threads = sys.argv[1:]
    started, cpu_before = time.perf_counter(), cpu_s()
    frames = write_reel(Path(spec), Path(out), float(seconds), int(threads))
    print(f"{time.perf_counter() - started:.3f} {cpu_s() - cpu_before:.3f} {frames}")
