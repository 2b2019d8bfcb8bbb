"""Everything on disk the graph reads, prepared by the render before the command is built."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from renderer.effects import EffectClip
from renderer.overlay_plan import OverlayPicture
from renderer.pop import PopIn
from renderer.probe import MediaInfo


@dataclass(frozen=True)
class CardLayer:
    """A text card cropped to its ink, and how it enters.

    Every entrance is done by FFmpeg on the one picture: `fade_frames` of alpha ramp,
    `slide_px` of rise over the same frames, or a `pop` (then the picture is the card on
    the pop's margin, see `renderer.graph.pop`).
    """

    path: Path
    x: int
    y: int
    fade_frames: int = 0
    slide_px: int = 0
    pop: PopIn | None = None


@dataclass(frozen=True)
class CaptionPictures:
    """A caption track as pictures of its band: which one shows over which output frames.

    `pictures` holds (first frame, last frame inclusive, file), in order, never overlapping;
    `blank` (fully transparent) shows between them."""

    x: int
    y: int
    blank: Path
    pictures: tuple[tuple[int, int, Path], ...]


@dataclass(frozen=True)
class SceneSources:
    media: Path | None = None
    info: MediaInfo | None = None
    card: CardLayer | None = None


@dataclass(frozen=True)
class AudioSources:
    """The local files behind an AudioPlan's music and voices (same order as the plan)."""

    music: Path | None
    voices: tuple[Path, ...]


@dataclass(frozen=True)
class GraphSources:
    """Everything on disk the graph reads, prepared by the render."""

    scenes: tuple[SceneSources, ...]
    background: Path  # the theme background, full frame
    background_colour: str  # "#rrggbb", around contained clips
    blur_contain: bool  # theme background "blur": contained media sits on a blurred copy
    audio: AudioSources
    effect_clip: EffectClip | None = None  # a mask and its colour, composited by the graph
    effect_filter: str | None = None
    captions: tuple[CaptionPictures, ...] = ()
    overlays: tuple[OverlayPicture, ...] = ()  # the brand overlays' pictures, drawn once
