"""Side (c): the benchmark reel as a MoviePy 2 user writes it, one clip per scene,
crossfaded and composited, written with the codec, preset and threads Reelfarm uses.

    python bench/moviepy_reel.py SPEC OUT SECONDS THREADS

MoviePy comes with the `bench` extra; only this process imports it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from moviepy import AudioFileClip, CompositeVideoClip, ImageClip, VideoFileClip, afx, vfx
from PIL import Image, ImageDraw, ImageFont
from reel import FPS, HEIGHT, WIDTH

from themes.fonts import family_path


def text_image(lines: list[tuple[str, int]], font_path: str | None) -> np.ndarray:
    """Centred lines of (text, size) with a drop shadow, on a transparent frame."""
    card = Image.new("RGBA", (WIDTH, HEIGHT), (0, 0, 0, 0))
    draw = ImageDraw.Draw(card)
    y = HEIGHT // 2 - 100
    for text, size in lines:
        font = ImageFont.truetype(font_path, size) if font_path else ImageFont.load_default()
        width = draw.textlength(text, font=font)
        draw.text(((WIDTH - width) / 2 + 3, y + 3), text, font=font, fill=(0, 0, 0, 160))
        draw.text(((WIDTH - width) / 2, y), text, font=font, fill=(255, 255, 255, 255))
        y += int(size * 1.4)
    return np.asarray(card)


def caption(text: str, duration: float, font_path: str | None) -> ImageClip:
    arr = text_image([(text, 56)], font_path)
    return ImageClip(arr, duration=duration).with_position(("center", 0.3), relative=True)


def scene_layers(scene: dict, background: np.ndarray, font_path: str | None) -> list:
    """The clips stacked for one scene: a card, a photo with its motion, or the video."""
    duration = scene["duration"]
    if scene["type"] in ("title", "outro"):
        lines = [
            (scene.get("title", ""), 110),
            (scene.get("subtitle") or scene.get("text") or "", 56),
        ]
        return [
            ImageClip(background, duration=duration),
            ImageClip(text_image(lines, font_path), duration=duration),
        ]
    if scene["type"] == "image":
        photo = ImageClip(scene["src"], duration=duration)
        cover = max(WIDTH / photo.w, HEIGHT / photo.h) * 1.15
        photo = photo.resized(cover)
        if scene["motion"] == "zoom-in":
            photo = photo.resized(lambda t, d=duration: 1 + 0.15 * t / d)
        elif scene["motion"] == "zoom-out":
            photo = photo.resized(lambda t, d=duration: 1.15 - 0.15 * t / d)
        photo = photo.with_position("center")
        return [photo, caption(scene["caption"], duration, font_path)]
    video = VideoFileClip(scene["src"]).subclipped(0, duration).without_audio()
    video = video.resized(max(WIDTH / video.w, HEIGHT / video.h)).with_position("center")
    return [video, caption(scene["caption"], duration, font_path)]


def compose(spec: dict, font_path: str | None) -> CompositeVideoClip:
    """Every scene, each starting half a fade before the last one ends, over the music."""
    fade = spec["transition"]["duration"]
    clips = []
    start = 0.0
    background = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    background[:] = (17, 24, 39)
    for scene in spec["scenes"]:
        duration = scene["duration"]
        layers = scene_layers(scene, background, font_path)
        clip = CompositeVideoClip(layers, size=(WIDTH, HEIGHT)).with_duration(duration)
        clip = clip.with_start(max(0.0, start - fade / 2))
        if clips:
            clip = clip.with_effects([vfx.CrossFadeIn(fade)])
        clips.append(clip)
        start += duration
    total = start
    reel = CompositeVideoClip(clips, size=(WIDTH, HEIGHT)).with_duration(total)
    music = AudioFileClip(spec["audio"]["music"]).with_effects(
        [afx.AudioLoop(duration=total), afx.MultiplyVolume(0.35)]
    )
    return reel.with_audio(music)


def write_reel(spec_path: Path, out: Path, seconds: float, threads: int) -> None:
    spec = json.loads(spec_path.read_text())
    found = family_path("noto-sans")
    reel = compose(spec, str(found) if found else None)
    reel = reel.subclipped(0, min(seconds, reel.duration))
    reel.write_videofile(
        str(out),
        fps=FPS,
        codec="libx264",
        preset="veryfast",
        threads=threads or None,
        audio_codec="aac",
        ffmpeg_params=["-crf", "23"],
        logger=None,
    )


if __name__ == "__main__":
    spec, out, seconds, threads = sys.argv[1:]
    write_reel(Path(spec), Path(out), float(seconds), int(threads))
