"""A "pop" entrance drawn by the graph from the one padded card picture (`renderer.pop`).

Drawing every pop frame in Pillow instead cost 15-40 ms a frame (resize, alpha, PNG) before
FFmpeg could start; scaling a card-sized picture in the graph costs a few ms a frame, on the
entrance's frames only.
"""

from __future__ import annotations

from renderer.graph.masks import lookup
from renderer.graph.streams import YUV, Stream
from renderer.pop import PopIn


def popped(picture: Stream, pop: PopIn, fps: int) -> Stream:
    """The padded card `picture` (RGBA, one frame) as the pop's frames then the settled card,
    yuva420p of the card's size, `pop.frames + 1` frames with pts 0, 1, ... at `fps`."""
    boxes = pop.boxes()
    frame = f"round(t*{fps})"

    def table(column: int) -> str:
        return lookup([box[column] for box in boxes], frame, default=boxes[-1][column])

    layer = picture.filter("loop", loop=pop.frames, size=1, start=0)
    layer = layer.filter("settb", expr=f"1/{fps}").filter("setpts", expr="N")
    # The size changes per frame; the crop right after the scale (which re-sizes its output
    # link as it goes) takes each frame's own size, and cuts it back to the card's, so
    # `overlay` never sees it change. The format comes after: a filter between the two would
    # hold the first frame's size, and the crop would clamp its place to that.
    layer = layer.filter("scale", eval="frame", w=table(0), h=table(1), flags="bilinear", **YUV)
    width, height = pop.size
    layer = layer.filter("crop", w=width, h=height, x=table(2), y=table(3), exact=1)
    layer = layer.filter("format", pix_fmts="yuva420p")
    fade_frames = max(1, round(pop.frames / 2))
    return layer.filter("fade", t="in", start_frame=0, nb_frames=fade_frames, alpha=1)
