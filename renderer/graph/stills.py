"""A photo scene: one frame, fitted once, repeated, and moved.

A photo is decoded, fitted (cover or contain, lanczos) and converted to yuv420p once, then
repeated by `loop` as references to that one frame; only the motion works per frame. A photo
smaller than the frame is zoomed straight from the part of it that shows.
"""

from __future__ import annotations

import math
from pathlib import Path

import ffmpeg

from renderer.graph.inputs import Inputs
from renderer.graph.motion import Motion
from renderer.graph.sources import GraphSources
from renderer.graph.streams import YUV, Stream, blurred, cover, repeat, to_yuv
from renderer.plan import RenderPlan
from renderer.probe import MediaInfo
from scenes.visuals import StillVisual

# Zooms scale straight from a small photo's visible part only when it has this many pixels
# a side; a smaller one is fitted to the frame first, so zooming it resamples a real picture.
MIN_REGION = 16


def still(
    plan: RenderPlan,
    visual: StillVisual,
    path: Path,
    info: MediaInfo | None,
    frames: int,
    sources: GraphSources,
    inputs: Inputs,
) -> Stream:
    width, height = plan.size
    move = Motion.plan(visual.motion, width, height, frames, plan.fps)
    canvas_w, canvas_h = move.canvas
    # One frame, even if the "image" is a video or an animated GIF.
    image = inputs.picture(path).filter("trim", end_frame=1)
    region = None
    if visual.fit == "contain":
        framed = _contain(image, canvas_w, canvas_h, sources, inputs)
    elif move.kind.startswith("zoom") and (region := visible_region(info, width, height)):
        # A photo with fewer pixels than the frame has no detail for a larger canvas to keep.
        # Each zoomed frame is scaled straight from the part of the photo that shows: the
        # scaler reads that part's few hundred lines per frame instead of an enlarged copy's
        # two thousand, and the picture is resampled once instead of twice.
        framed = to_yuv(image.filter("crop", w=region[0], h=region[1]), *region)
    else:
        framed = cover(image, canvas_w, canvas_h, flags="lanczos")
    repeated = repeat(framed, frames, plan.fps)
    if region is not None:
        return move.apply(repeated, source=region, flags="bicubic")
    return move.apply(repeated)


def visible_region(info: MediaInfo | None, width: int, height: int) -> tuple[int, int] | None:
    """The centred part of a picture that covers a `width` x `height` frame, in its own
    pixels and even sizes, when covering means enlarging it; else None.

    Of the two sides, the one that binds keeps the picture's full length and the other is
    rounded down, so the region is never wider (relative to its height) than the frame and
    its enlargement always covers the frame."""
    if info is None or not info.width or not info.height:
        return None
    widen, heighten = width / info.width, height / info.height
    if max(widen, heighten) <= 1:
        return None
    if widen >= heighten:  # the width binds
        region_w = info.width & ~1
        region_h = min(info.height & ~1, 2 * math.ceil(region_w * height / width / 2))
    else:
        region_h = info.height & ~1
        region_w = 2 * math.floor(region_h * width / height / 2)
    if min(region_w, region_h) < MIN_REGION:
        return None
    return region_w, region_h


def _contain(
    image: Stream, width: int, height: int, sources: GraphSources, inputs: Inputs
) -> Stream:
    if sources.blur_contain:
        split = image.split()
        image, copy = split[0], split[1]
        backdrop = blurred(cover(copy, width, height, flags="bilinear"), width, height)
    else:
        backdrop = to_yuv(inputs.picture(sources.background), width, height)
    fitted = image.filter(
        "scale",
        w=width,
        h=height,
        force_original_aspect_ratio="decrease",
        force_divisible_by=2,
        flags="lanczos",
        **YUV,
    ).filter("format", pix_fmts="yuv420p")
    return ffmpeg.filter([backdrop, fitted], "overlay", x="(W-w)/2", y="(H-h)/2").filter(
        "setsar", sar="1"
    )
