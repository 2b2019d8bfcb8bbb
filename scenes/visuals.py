"""What a scene shows under its text: the theme's background, a still picture or a clip.

A scene kind names its visual (`SceneBase.visual`); the renderer draws each of these three
the same way whatever kind asked for it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ThemeVisual:
    """The theme's background (solid, gradient or blurred) behind a text card."""


@dataclass(frozen=True)
class StillVisual:
    """A photo: fitted once, then moved (Ken Burns) frame by frame."""

    src: str
    field: str  # the spec field naming `src`, for errors
    motion: str = "none"
    fit: str = "cover"


@dataclass(frozen=True)
class ClipVisual:
    """A video clip trimmed from `start_s`, fitted, looped or frozen when short."""

    src: str
    field: str
    start_s: float
    fit: str
    muted: bool
    volume: float
    when_short: str


Visual = ThemeVisual | StillVisual | ClipVisual
