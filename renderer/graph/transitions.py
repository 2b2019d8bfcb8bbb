"""How one scene turns into the next: the frames a transition covers, blended.

The built-in transitions draw xfade's own looks from filters that do little per frame:
xfade works in 4:4:4 (the frames are converted there and back) and spends 10-50 ms a frame at
1080x1920, where a `maskedmerge` with a uniform mask, a `threshold` against a static noise
field, or a `crop` of two frames stacked side by side costs 0.3-2 ms. Every frame i of n
has xfade's progress 1 - i/n, so the first frame is the outgoing scene and the last is one
step short of the incoming one, as with xfade. Any other transition is an xfade.
"""

from __future__ import annotations

from collections.abc import Callable

import ffmpeg

from renderer.graph import masks
from renderer.graph.streams import Stream, split
from renderer.graph.zoom import zoom_in
from renderer.plan import RenderPlan

# Raw Y and U=V of xfade's black and white (the extremes of the range, as xfade uses).
BLACK = (0, 128)
WHITE = (255, 128)
# xfade's fadeblack/fadewhite: how far into each half the flat colour reaches.
FADE_PHASE = 0.2


def transition(plan: RenderPlan, after: int, outgoing: Stream, incoming: Stream) -> Stream:
    """`outgoing` (the last frames of scene `after`) into `incoming` (the first frames of the
    next), both `frames` long at plan.fps with pts from 0: `frames` frames."""
    planned = plan.transitions[after]
    drawn = _DRAWN.get(planned.xfade or "")
    if drawn is not None and planned.frames < 2:
        drawn = _crossfade  # a single frame is the outgoing one, whatever the transition
    if drawn is not None:
        return drawn(_Frames(plan, planned.frames), outgoing, incoming)
    # xfade insists on equal frame rates; a picture's rate is its file's, fps states ours.
    return ffmpeg.filter(
        [outgoing.filter("fps", fps=plan.fps), incoming.filter("fps", fps=plan.fps)],
        "xfade",
        transition=planned.xfade,
        duration=f"{planned.frames / plan.fps:.6f}",
        offset=0,
    )


class _Frames:
    """The transition's frames: their count, size and rate, and masks made to fit them."""

    def __init__(self, plan: RenderPlan, frames: int):
        self.frames = frames
        self.size = plan.size
        self.fps = plan.fps

    def progress(self, index: int) -> float:
        """xfade's progress at frame `index`: 1 on the first frame, falling by 1/frames."""
        return 1 - index / self.frames

    def mask(self, like: Stream, shares: list[float]) -> Stream:
        """A uniform maskedmerge mask per frame, in step with `like`: shares[i] of the second
        input in frame i (maskedmerge weighs by mask/256, so 256 x share, at most 255)."""
        values = [min(255, max(0, round(256 * share))) for share in shares]
        return masks.uniform_frames(like, values, self.size)


def smoothstep(edge0: float, edge1: float, x: float) -> float:
    t = min(1.0, max(0.0, (x - edge0) / (edge1 - edge0)))
    return t * t * (3 - 2 * t)


def _crossfade(frames: _Frames, outgoing: Stream, incoming: Stream) -> Stream:
    """xfade's fade: frame i is (1 - i/n) outgoing and i/n incoming, each frame its own step."""
    shares = [1 - frames.progress(i) for i in range(frames.frames)]
    outgoing, timing = split(outgoing, 2)
    return ffmpeg.filter([outgoing, incoming, frames.mask(timing, shares)], "maskedmerge")


def _fade_through(colour: tuple[int, int]) -> Callable[[_Frames, Stream, Stream], Stream]:
    def draw(frames: _Frames, outgoing: Stream, incoming: Stream) -> Stream:
        """xfade's fadeblack/fadewhite: each frame a sum of outgoing, incoming and a flat
        colour, made as outgoing with the colour merged in, then the incoming merged in."""
        colour_shares, incoming_shares = [], []
        for index in range(frames.frames):
            p = frames.progress(index)
            outgoing_weight = p * smoothstep(1 - FADE_PHASE, 1, p)
            incoming_weight = (1 - p) * (1 - smoothstep(FADE_PHASE, 1, p))
            rest = 1 - incoming_weight
            colour_shares.append(1 - outgoing_weight / rest if rest > 0 else 0.0)
            incoming_shares.append(incoming_weight)
        outgoing, corner, timing, timing_too = split(outgoing, 4)
        flat = masks.flat_frames(corner, *colour, frames.frames, frames.size, frames.fps)
        colour_mask = frames.mask(timing, colour_shares)
        through = ffmpeg.filter([outgoing, flat, colour_mask], "maskedmerge")
        incoming_mask = frames.mask(timing_too, incoming_shares)
        return ffmpeg.filter([through, incoming, incoming_mask], "maskedmerge")

    return draw


def _dissolve(frames: _Frames, outgoing: Stream, incoming: Stream) -> Stream:
    """xfade's dissolve: each sample turns to the incoming one once its noise falls below the
    frame's share, i/n: a static noise field against a uniform threshold per frame."""
    levels = [masks.noise_limit(1 - frames.progress(i)) for i in range(frames.frames)]
    outgoing, corner, timing = split(outgoing, 3)
    noise = masks.noise_frames(corner, frames.frames, frames.size, frames.fps)
    limits = masks.uniform_frames(timing, levels, frames.size)
    # threshold: noise below the limit takes the third input, else the fourth.
    return ffmpeg.filter([noise, limits, incoming, outgoing], "threshold")


def _slide(direction: str) -> Callable[[_Frames, Stream, Stream], Stream]:
    def draw(frames: _Frames, outgoing: Stream, incoming: Stream) -> Stream:
        """xfade's slides: both scenes side by side, a frame-sized window moving across them
        by xfade's whole-pixel offset, floor(progress x size), every frame."""
        horizontal = direction in ("left", "right")
        length = frames.size[0] if horizontal else frames.size[1]
        # The part of the outgoing scene still in view, frame n: floor((count - n)/count x size).
        shown = f"floor(({frames.frames}-n)*{length}/{frames.frames})"
        if direction in ("left", "up"):
            pair, offset = [outgoing, incoming], f"{length}-{shown}"
        else:
            pair, offset = [incoming, outgoing], shown
        stacked = ffmpeg.filter(pair, "hstack" if horizontal else "vstack", inputs=2)
        width, height = frames.size
        return stacked.filter(
            "crop",
            w=width,
            h=height,
            x=offset if horizontal else 0,
            y=0 if horizontal else offset,
            exact=1,
        )

    return draw


def _zoom(frames: _Frames, outgoing: Stream, incoming: Stream) -> Stream:
    """xfade's zoomin: the outgoing scene zooms into its centre over the first half, until one
    pixel fills the frame; that colour then fades into the incoming scene."""
    progress = [frames.progress(i) for i in range(frames.frames)]
    # Frames past halfway show no more of the outgoing scene than its centre pixel.
    scales = [smoothstep(0.5, 1, p) for p in progress if p > 0.5]
    shares = [1 - smoothstep(0, 0.5, p) for p in progress[len(scales) :]]
    outgoing, timing = split(outgoing, 2)
    # The fade's mask keeps time with the frames it covers: those after the zoom.
    timing = timing.filter("trim", start_frame=len(scales)).filter("setpts", expr="PTS-STARTPTS")
    fade = frames.mask(timing, shares)
    return zoom_in(outgoing, incoming, scales, fade, frames.size, frames.fps)


_DRAWN: dict[str, Callable[[_Frames, Stream, Stream], Stream]] = {
    "fade": _crossfade,
    "fadeblack": _fade_through(BLACK),
    "fadewhite": _fade_through(WHITE),
    "dissolve": _dissolve,
    "slideleft": _slide("left"),
    "slideright": _slide("right"),
    "slideup": _slide("up"),
    "slidedown": _slide("down"),
    "zoomin": _zoom,
}
