"""The benchmark reel: title, three photos with motion and captions, the clip, outro; music.

Six scenes, repeated in order to make longer reels (`scene_count`). The spec names no
transition, so each theme's own transition, effect and text entrance apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSETS = (ROOT.parent / "shared" / "assets").resolve()
WIDTH, HEIGHT, FPS = 1080, 1920, 30
BASE_SCENES = 6

PHOTOS = [
    ("coffee.jpg", "zoom-in", "Fresh every morning"),
    ("rocket.jpg", "pan-left", "Launch day"),
    ("astronaut.jpg", "zoom-out", "The view from up there"),
]


@dataclass(frozen=True)
class Reel:
    """One benchmark reel: its theme, size, number of scenes and each scene's length."""

    theme: str = "default"
    scene_count: int = BASE_SCENES
    scene_s: float = 2.0
    width: int = WIDTH
    height: int = HEIGHT
    fps: int = FPS

    @property
    def length_s(self) -> float:
        return self.scene_count * self.scene_s

    @property
    def frames(self) -> int:
        return round(self.length_s * self.fps)

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"

    def spec(self) -> dict:
        return {
            "theme": self.theme,
            "width": self.width,
            "height": self.height,
            "fps": self.fps,
            "scenes": [_scene(i % BASE_SCENES, self.scene_s) for i in range(self.scene_count)],
            "audio": {"music": str(ASSETS / "music.m4a")},
            "output": {"quality": "standard"},
        }


def _scene(index: int, duration: float) -> dict:
    """Scene `index` (0-5) of the six: title, three photos, the clip, outro."""
    if index == 0:
        return {"type": "title", "title": "Reelfarm benchmark", "subtitle": "one filtergraph",
                "duration": duration}  # fmt: skip
    if index <= len(PHOTOS):
        name, motion, caption = PHOTOS[index - 1]
        return {"type": "image", "src": str(ASSETS / name), "motion": motion,
                "caption": caption, "duration": duration}  # fmt: skip
    if index == 4:
        return {"type": "video", "src": str(ASSETS / "clip-mandelbrot.mp4"),
                "caption": "And a clip", "duration": duration}  # fmt: skip
    return {"type": "outro", "title": "Thanks for watching", "text": "reelfarm.example",
            "duration": duration}  # fmt: skip


def reel_spec(length_s: float) -> dict:
    """The six-scene reel of `length_s` in the default theme (bench/instructions.py)."""
    return Reel(scene_s=length_s / BASE_SCENES).spec()
