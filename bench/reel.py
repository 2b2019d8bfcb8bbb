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
# A logo on a translucent plate, as brands give one.
LOGO = ROOT / "bench" / "assets" / "logo.png"
# Where the benchmark's media lives: the server-side renders may read these only.
MEDIA_DIRS = (ASSETS, LOGO.parent)

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
    captioned: bool = False  # karaoke captions, a word every 0.3 s, and a logo in a corner

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
            **(brand_layers(self.length_s) if self.captioned else {}),
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


SCRIPT = " ".join(
    [
        "Fresh coffee every morning, launch day at the pad, and the view from up there:",
        "a reel rendered on your own box, captioned word by word for phones watched muted.",
    ]
).split(" ")
WORD_EVERY_S = 0.3


def brand_layers(length_s: float) -> dict:
    """Karaoke captions with a word every 0.3 s over the whole reel, and a logo."""
    count = int((length_s - 0.2) / WORD_EVERY_S)
    words = [
        {"text": SCRIPT[i % len(SCRIPT)], "start": round(0.1 + i * WORD_EVERY_S, 3),
         "end": round(0.1 + i * WORD_EVERY_S + 0.27, 3)}
        for i in range(count)
    ]  # fmt: skip
    return {
        "captions": {"words": words, "style": "karaoke"},
        "overlays": [{"type": "logo", "src": str(LOGO), "corner": "top-right"}],
    }


def reel_spec(length_s: float) -> dict:
    """The six-scene reel of `length_s` in the default theme (bench/instructions.py)."""
    return Reel(scene_s=length_s / BASE_SCENES).spec()
