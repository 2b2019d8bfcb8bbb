"""The spec's brand overlays in whole frames and pixels: pure planning, no media touched.

Every overlay covers output frames [start_frame, end_frame) of the whole video's timeline; a
graph rendering a window of it (a segment) shows the part inside its window, so a progress
bar or an entrance continues across a segment joint exactly as in one graph.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import scenes
from renderer.pop import PopIn
from scenes.overlays import LogoOverlay, LowerThirdOverlay, ProgressOverlay
from themes import Theme

# A lower third leaves with a short fade: at most this long, and at most a quarter of its range.
EXIT_FADE_S = 0.3


@dataclass(frozen=True)
class LogoPlan:
    """A logo `width` px wide in `corner` of the safe area `safe` (x0, y0, x1, y1, in px)."""

    field: str
    start_frame: int
    end_frame: int
    src: str
    width: int
    opacity: float
    corner: str
    safe: tuple[int, int, int, int]

    def origin(self, height: int) -> tuple[int, int]:
        """Where the logo's top-left corner sits once its height is known (from its file).

        Even, like every overlay on yuv420p: an odd origin would land a pixel off."""
        x0, y0, x1, y1 = self.safe
        x = x1 - self.width if self.corner.endswith("right") else x0
        y = y1 - height if self.corner.startswith("bottom") else y0
        return max(0, x) & ~1, max(0, y) & ~1


@dataclass(frozen=True)
class ProgressPlan:
    """A bar `height` px tall at row `y`, over the frame's full `width` at the range's end."""

    field: str
    start_frame: int
    end_frame: int
    width: int
    height: int
    y: int
    colour: str  # "#rrggbb"

    @property
    def frames(self) -> int:
        return self.end_frame - self.start_frame

    def filled_px(self, frame: int) -> int:
        """The bar's width on output frame `frame`: (frame - start + 1) / frames of the full
        width, in even pixels (what an overlay on yuv420p can place), 0 outside the range."""
        if not self.start_frame <= frame < self.end_frame:
            return 0
        return 2 * (self.width * (frame - self.start_frame + 1) // (2 * self.frames))


@dataclass(frozen=True)
class LowerThirdPlan:
    """A name plate that enters with the theme's text animation over `enter_frames` and
    leaves with a fade over `exit_frames`, within its range."""

    field: str
    start_frame: int
    end_frame: int
    overlay: LowerThirdOverlay
    animation: str  # none | fade | slide-up | pop
    enter_frames: int
    exit_frames: int

    @property
    def frames(self) -> int:
        return self.end_frame - self.start_frame


OverlayPlan = LogoPlan | ProgressPlan | LowerThirdPlan


@dataclass(frozen=True)
class OverlayPicture:
    """What the render drew for overlay `index` of the plan: a picture at (x, y); with a
    `pop`, the picture is the plate on the pop's margin (see `renderer.pop`)."""

    index: int
    path: Path
    x: int
    y: int
    slide_px: int = 0  # a slide-up entrance rises by this much
    pop: PopIn | None = None

    @property
    def frames(self) -> int:
        """How many frames the picture's layer has: the pop's, then the settled one."""
        return 1 if self.pop is None else self.pop.frames + 1


def plan_overlays(
    spec: scenes.Spec,
    theme: Theme,
    size: tuple[int, int],
    fps: int,
    total_frames: int,
    animation_s: float,
) -> tuple[OverlayPlan, ...]:
    """The spec's overlays for a video of `total_frames` at `size` and `fps`; `animation_s`
    is the theme's text entrance, already capped as cards cap it."""
    planned: list[OverlayPlan] = []
    for i, overlay in enumerate(spec.overlays):
        field = f"overlays[{i}]"
        start = min(_frame(overlay.start, fps), total_frames - 1)
        end = total_frames if overlay.end is None else min(_frame(overlay.end, fps), total_frames)
        span = (field, start, max(end, start + 1))
        if isinstance(overlay, LogoOverlay):
            planned.append(_logo(overlay, span, theme, size))
        elif isinstance(overlay, ProgressOverlay):
            planned.append(_progress(overlay, span, theme, size))
        else:
            planned.append(_lower_third(overlay, span, theme, fps, animation_s))
    return tuple(planned)


def _frame(seconds: float, fps: int) -> int:
    return math.floor(seconds * fps + 0.5)


def _even(value: float) -> int:
    return max(2, 2 * round(value / 2))


def _logo(
    logo: LogoOverlay, span: tuple[str, int, int], theme: Theme, size: tuple[int, int]
) -> LogoPlan:
    width, height = size
    margins = theme.safe_areas.for_size(size)
    safe = (
        round(width * margins.x),
        round(height * margins.top),
        round(width * (1 - margins.x)),
        round(height * (1 - margins.bottom)),
    )
    box_width = min(_even(width * logo.width_percent / 100), width & ~1)
    return LogoPlan(*span, logo.src, box_width, logo.opacity, logo.corner, safe)


def _progress(
    bar: ProgressOverlay, span: tuple[str, int, int], theme: Theme, size: tuple[int, int]
) -> ProgressPlan:
    width, height = size
    thickness = _even(height * bar.height_percent / 100)
    y = 0 if bar.position == "top" else height - thickness
    return ProgressPlan(*span, width, thickness, y, bar.colour or theme.colors.accent)


def _lower_third(
    plate: LowerThirdOverlay,
    span: tuple[str, int, int],
    theme: Theme,
    fps: int,
    animation_s: float,
) -> LowerThirdPlan:
    frames = span[2] - span[1]
    animation = theme.text_animation
    # As a card's entrance: at most half of the time on screen.
    enter = 0 if animation == "none" else max(0, min(round(animation_s * fps), frames // 2))
    leave = min(round(EXIT_FADE_S * fps), frames // 4)
    return LowerThirdPlan(*span, plate, animation if enter else "none", enter, leave)
