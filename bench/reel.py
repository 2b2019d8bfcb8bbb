"""The benchmark reel: 1080x1920 at 30 fps, six equal scenes, fades and music."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSETS = (ROOT.parent / "shared" / "assets").resolve()
WIDTH, HEIGHT, FPS = 1080, 1920, 30


def reel_spec(length_s: float) -> dict:
    """Six scenes of equal length: title, three photos, the clip, outro; fades; music."""
    each = length_s / 6
    photos = [
        ("coffee.jpg", "zoom-in", "Fresh every morning"),
        ("rocket.jpg", "pan-left", "Launch day"),
        ("astronaut.jpg", "zoom-out", "The view from up there"),
    ]
    scenes = [
        {
            "type": "title",
            "title": "Reelfarm benchmark",
            "subtitle": "one filtergraph",
            "duration": each,
        }
    ]
    for name, motion, caption in photos:
        scenes.append(
            {
                "type": "image",
                "src": str(ASSETS / name),
                "motion": motion,
                "caption": caption,
                "duration": each,
            }
        )
    scenes.append(
        {
            "type": "video",
            "src": str(ASSETS / "clip-mandelbrot.mp4"),
            "caption": "And a clip",
            "duration": each,
        }
    )
    scenes.append(
        {
            "type": "outro",
            "title": "Thanks for watching",
            "text": "reelfarm.example",
            "duration": each,
        }
    )
    return {
        "theme": "default",
        "width": WIDTH,
        "height": HEIGHT,
        "fps": FPS,
        "transition": {"type": "fade", "duration": 0.5},
        "scenes": scenes,
        "audio": {"music": str(ASSETS / "music.m4a")},
        "output": {"quality": "standard"},
    }
