"""Ken Burns motion, exact and cheap.

A pan is a `crop` moving a whole number of pixels per frame (no resampling at all); a zoom is
a `scale` to an even size that grows by 2 px steps, centre-cropped, so the centre never shakes
the way zoompan's rounding does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from renderer.graph.streams import Stream

# How far a Ken Burns move travels, as a fraction of the frame.
MOTION_TRAVEL = 0.15


@dataclass(frozen=True)
class Motion:
    """Ken Burns motion over a canvas a little larger than the frame.

    pan-left/right/up/down name the way the camera moves (pan-left reveals what is further
    left); zoom-in/out keep the centre fixed. Steps are whole pixels (pans) or whole 2-pixel
    sizes (zooms): when the scene is long enough every frame moves by the same amount, else
    the steps are spread evenly, never a jitter back and forth.
    """

    kind: str
    width: int
    height: int
    frames: int
    fps: int
    canvas: tuple[int, int]
    travel: int  # pixels (pans) or 2-pixel size steps (zooms)

    @classmethod
    def plan(cls, motion: str, width: int, height: int, frames: int, fps: int) -> Motion:
        if frames < 2 or motion == "none":
            return cls("none", width, height, frames, fps, (width, height), 0)
        if motion in ("zoom-in", "zoom-out"):
            steps = _steps(round(MOTION_TRAVEL * width / 2), frames)
            canvas_w = width + 2 * steps
            canvas_h = 2 * math.ceil(height * canvas_w / width / 2)
            return cls(motion, width, height, frames, fps, (canvas_w, canvas_h), steps)
        # Canvases stay even (yuv420p): an odd one would cost the last pixel of travel.
        if motion in ("pan-left", "pan-right"):
            travel = _steps(round(MOTION_TRAVEL * width), frames)
            canvas = (width + travel + travel % 2, height)
        else:
            travel = _steps(round(MOTION_TRAVEL * height), frames)
            canvas = (width, height + travel + travel % 2)
        return cls(motion, width, height, frames, fps, canvas, travel)

    def apply(
        self, stream: Stream, source: tuple[int, int] | None = None, flags: str = "bilinear"
    ) -> Stream:
        """Move `stream`, whose frames are the canvas, or for zooms any picture of at least
        the frame's height relative to its width (`source`), scaled with `flags`."""
        if self.kind == "none":
            return stream
        # The frame number from the timestamp, not `n`: scale counts frames from 1 and crop
        # from 0, while both see the same pts (frame number x 1/fps).
        frame = f"round(t*{self.fps})"
        moved = f"round({self.travel}*{frame}/{self.frames - 1})"
        if self.kind in ("pan-left", "pan-right", "pan-up", "pan-down"):
            return self._pan(stream, moved)
        return self._zoom(stream, moved, source or self.canvas, flags)

    def _pan(self, stream: Stream, moved: str) -> Stream:
        position = moved if self.kind in ("pan-right", "pan-down") else f"({self.travel}-{moved})"
        horizontal = self.kind in ("pan-left", "pan-right")
        return stream.filter(
            "crop",
            w=self.width,
            h=self.height,
            x=position if horizontal else 0,
            y=0 if horizontal else position,
            exact=1,
        )

    def _zoom(self, stream: Stream, moved: str, source: tuple[int, int], flags: str) -> Stream:
        source_w, source_h = source
        grown = moved if self.kind == "zoom-in" else f"({self.travel}-{moved})"
        size_w = f"({self.width}+2*{grown})"
        # The source's own shape, and never less than the frame's, which rounding could make.
        size_h = (
            f"max(2*round({size_w}*{source_h}/{source_w}/2),"
            f"2*ceil({size_w}*{self.height}/{self.width}/2))"
        )
        # Sizes change every frame; crop takes each frame's own size and centres on it. The
        # scaler is set up anew for every size, and with one thread it is set up once, not
        # once per thread: slicing a frame this size across threads saves less than that.
        return stream.filter(
            "scale",
            w=size_w,
            h=size_h,
            eval="frame",
            flags=flags,
            threads=1,
        ).filter(
            "crop",
            w=self.width,
            h=self.height,
            x=f"({size_w}-{self.width})/2",
            y=f"({size_h}-{self.height})/2",
            exact=1,
        )


def _steps(target: int, frames: int) -> int:
    """`target` moved to a whole multiple of the frame count when it is close to one, so the
    motion advances by the same number of pixels every frame."""
    per_frame = round(target / (frames - 1))
    return per_frame * (frames - 1) if per_frame >= 1 else max(1, target)
