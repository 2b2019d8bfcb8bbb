"""Brand overlays over the finished picture: logos, a progress bar, lower thirds.

Each is overlaid only on its own box and only over its range: a picture converted to
yuva420p once and repeated as references (never converted again per frame), timed on the
video's own timestamps, with `enable` off outside its range. The bar is a one-frame colour source
of the bar's size that the overlay slides in from the left, so its per-frame cost is the
bar's visible pixels. Times are frames of the whole video: a graph rendering a window of it
(a segment, frames [first_frame, first_frame + frames)) shows exactly that window's part, so
a bar grows on across a segment joint and an entrance continues where it was.
"""

from __future__ import annotations

import ffmpeg

from renderer.graph.inputs import Inputs
from renderer.graph.pop import popped
from renderer.graph.sources import GraphSources
from renderer.graph.streams import YUV, Stream
from renderer.overlay_plan import LowerThirdPlan, OverlayPicture, OverlayPlan, ProgressPlan
from renderer.plan import RenderPlan


def with_overlays(
    plan: RenderPlan,
    video: Stream,
    sources: GraphSources,
    inputs: Inputs,
    first_frame: int = 0,
    frames: int | None = None,
) -> Stream:
    """`video` (output frames [first_frame, first_frame + frames)) with the spec's overlays."""
    end = plan.total_frames if frames is None else first_frame + frames
    pictures = {picture.index: picture for picture in sources.overlays}
    shown = []
    for index, overlay in enumerate(plan.overlays):
        span = (max(overlay.start_frame, first_frame), min(overlay.end_frame, end))
        needs_picture = not isinstance(overlay, ProgressPlan)
        if span[1] > span[0] and (index in pictures or not needs_picture):
            shown.append((overlay, pictures.get(index), span))
    if not shown:
        return video
    window = _Window(plan.fps, first_frame)
    for overlay, picture, span in shown:
        if isinstance(overlay, ProgressPlan):
            video = _bar(video, overlay, span, window, inputs)
        elif isinstance(overlay, LowerThirdPlan):
            assert picture is not None
            video = _plate(video, overlay, picture, span, window, inputs)
        else:
            assert picture is not None
            video = _logo(video, overlay, picture, span, window, inputs)
    return video


class _Window:
    """The graph's place on the video's timeline, and expressions over it."""

    def __init__(self, fps: int, first_frame: int):
        self.fps, self.first_frame = fps, first_frame

    def frame(self) -> str:
        """The output frame being drawn, as an overlay expression: from the frame's time, not
        from a count of frames (`n`), which the two FFmpeg builds start differently and which
        a blend upstream may have padded with near-duplicates that the encoder drops."""
        return f"(floor(t*{self.fps}+0.5)+{self.first_frame})"

    def during(self, span: tuple[int, int]) -> str:
        """`enable` for output frames [span): half a frame of slack either side of a tick."""
        start = (span[0] - self.first_frame - 0.5) / self.fps
        stop = (span[1] - self.first_frame - 0.5) / self.fps
        return f"between(t,{start:.6f},{stop:.6f})"

    def timed(self, layer: Stream, span: tuple[int, int]) -> Stream:
        """`layer`'s frames on the window's timeline, its first one for frame `span[0]`.

        The video keeps its own timestamps; overlay shows, on each of its frames, the latest
        layer frame that has started. So each layer frame starts half a frame early, on a
        clock of twice the frame rate: a video frame stamped a hair before its tick still gets
        its own layer frame, never the one before."""
        half_frames = 2 * (span[0] - self.first_frame) - 1
        return layer.filter("settb", expr=f"1/{2 * self.fps}").filter(
            "setpts", expr=f"max(2*N+{half_frames},0)"
        )


def _overlaid(
    video: Stream, layer: Stream, span: tuple[int, int], window: _Window, **place: object
) -> Stream:
    moving = any(isinstance(value, str) for value in place.values())
    return ffmpeg.filter(
        [video, layer],
        "overlay",
        **place,
        eval="frame" if moving else "init",
        eof_action="repeat",  # `enable` ends it, exactly; a layer EOF ends it a frame early
        enable=window.during(span),
    )


def _picture(picture: OverlayPicture, inputs: Inputs, fps: int) -> Stream:
    """The picture as yuva420p, converted once (a pop: its entrance's frames, then it)."""
    layer = inputs.picture(picture.path)
    if picture.pop is not None:
        return popped(layer, picture.pop, fps)
    return layer.filter("scale", **YUV).filter("format", pix_fmts="yuva420p")


def _held(layer: Stream, pictures: int, frames: int) -> Stream:
    """`layer` (of `pictures` frames) with its last frame repeated up to `frames` in all."""
    if frames > pictures:
        layer = layer.filter("loop", loop=frames - pictures, size=1, start=pictures - 1)
    return layer


def _logo(
    video: Stream,
    overlay: OverlayPlan,
    picture: OverlayPicture,
    span: tuple[int, int],
    window: _Window,
    inputs: Inputs,
) -> Stream:
    layer = _held(_picture(picture, inputs, window.fps), 1, span[1] - span[0])
    return _overlaid(video, window.timed(layer, span), span, window, x=picture.x, y=picture.y)


def _bar(
    video: Stream, bar: ProgressPlan, span: tuple[int, int], window: _Window, inputs: Inputs
) -> Stream:
    colour = bar.colour.removeprefix("#")
    source = (
        f"color=c=0x{colour}:s={bar.width}x{bar.height}:r={window.fps},"
        "trim=end_frame=1,format=rgb24"
    )
    layer = inputs.add(source, f="lavfi")
    layer = layer.filter("scale", **YUV).filter("format", pix_fmts="yuva420p")
    layer = window.timed(_held(layer, 1, span[1] - span[0]), span)
    # The bar's filled width, as `ProgressPlan.filled_px` says, by where it starts: off the
    # frame to the left by the part not yet filled.
    done = f"({window.frame()}-{bar.start_frame - 1})"
    x = f"2*floor({bar.width}*{done}/{bar.frames}/2)-{bar.width}"
    return _overlaid(video, layer, span, window, x=x, y=bar.y)


def _plate(
    video: Stream,
    plate: LowerThirdPlan,
    picture: OverlayPicture,
    span: tuple[int, int],
    window: _Window,
    inputs: Inputs,
) -> Stream:
    """The lower third over its whole range, cut to the window: its entrance and exit are
    frames of the range, wherever the window starts."""
    layer = _held(_picture(picture, inputs, window.fps), picture.frames, plate.frames)
    if plate.animation in ("fade", "slide-up"):
        layer = layer.filter("fade", t="in", start_frame=0, nb_frames=plate.enter_frames, alpha=1)
    if plate.exit_frames:
        layer = layer.filter(
            "fade",
            t="out",
            start_frame=plate.frames - plate.exit_frames,
            nb_frames=plate.exit_frames,
            alpha=1,
        )
    skip = span[0] - plate.start_frame
    if skip or span[1] < plate.end_frame:
        layer = layer.filter("trim", start_frame=skip, end_frame=skip + span[1] - span[0])
    y: int | str = picture.y
    if picture.slide_px and plate.enter_frames:
        # Rises by slide_px with an ease-out as it fades in, as a card does.
        progress = f"clip(({window.frame()}-{plate.start_frame})/{plate.enter_frames},0,1)"
        y = f"{picture.y}+{picture.slide_px}*pow(1-{progress},3)"
    return _overlaid(video, window.timed(layer, span), span, window, x=picture.x, y=y)
