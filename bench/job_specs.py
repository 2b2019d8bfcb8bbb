"""The specs the server benchmark submits: tiny jobs, slot-filling long ones, small reels."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def tiny_spec(n: int) -> dict[str, Any]:
    return {
        "theme": "default",
        "width": 160,
        "height": 284,
        "fps": 10,
        "scenes": [{"type": "title", "title": f"Bench {n}", "duration": 1}],
        "output": {"quality": "draft"},
    }


def long_spec(photo: Path) -> dict[str, Any]:
    """Renders for well over a minute on a small box: keeps one slot busy throughout."""
    scene = {"type": "image", "src": str(photo), "duration": 120, "motion": "zoom-in"}
    return {
        "theme": "default",
        "width": 720,
        "height": 1280,
        "fps": 30,
        "scenes": [scene, {**scene, "motion": "zoom-out"}],
        "output": {"quality": "draft"},
    }


def reel_spec(photo: Path, n: int) -> dict[str, Any]:
    """A small but real reel: a photo with a slow zoom, a title card, a crossfade."""
    return {
        "theme": "default",
        "width": 360,
        "height": 640,
        "fps": 30,
        "scenes": [
            {"type": "image", "src": str(photo), "duration": 3, "motion": "zoom-in"},
            {"type": "title", "title": f"Reel {n}", "duration": 2},
        ],
        "transition": {"type": "fade", "duration": 0.5},
        "output": {"quality": "draft"},
    }
