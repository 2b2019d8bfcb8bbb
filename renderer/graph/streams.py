"""Filter chains every part of the graph shares: colour conversion, cover fitting, a blurred
backdrop, a constant frame rate, one frame repeated, a stream split."""

from __future__ import annotations

from typing import Any

import ffmpeg

Stream = Any  # an ffmpeg-python stream; the library has no type hints

# Blurred backgrounds are blurred at this fraction of the size: cheap, and just as soft.
BLUR_SCALE = 8
# The colour conversions every layer goes through: HD matrix, limited range (what players expect).
YUV = {"out_color_matrix": "bt709", "out_range": "tv"}
# The tags of those frames (and of the output).
BT709_TAGS = {
    "range": "tv",
    "color_primaries": "bt709",
    "color_trc": "bt709",
    "colorspace": "bt709",
}
# Clip frames keep their own matrix (HD video is bt709 already, and converting every frame
# costs a third of the scaling); full-range phone video is still brought to limited range.
CLIP_YUV = {"out_range": "tv"}


def to_yuv(stream: Stream, width: int, height: int, **scale: Any) -> Stream:
    return (
        stream.filter("scale", w=width, h=height, **YUV, **scale)
        .filter("setsar", sar="1")
        .filter("format", pix_fmts="yuv420p")
    )


def cfr(stream: Stream, fps: int) -> Stream:
    """Time base 1/fps and pts = frame number: what xfade, overlay and concat line up on."""
    return stream.filter("settb", expr=f"1/{fps}").filter("setpts", expr="N")


def repeat(frame: Stream, frames: int, fps: int) -> Stream:
    """A single frame repeated `frames` times (references, not copies)."""
    if frames > 1:
        frame = frame.filter("loop", loop=frames - 1, size=1, start=0)
    return cfr(frame, fps)


def cover(
    stream: Stream, width: int, height: int, flags: str, colour: dict[str, str] = YUV
) -> Stream:
    return (
        stream.filter(
            "scale",
            w=width,
            h=height,
            force_original_aspect_ratio="increase",
            flags=flags,
            **colour,
        )
        .filter("crop", w=width, h=height)
        .filter("setsar", sar="1")
        .filter("format", pix_fmts="yuv420p")
    )


def blurred(stream: Stream, width: int, height: int) -> Stream:
    small_w = max(2, 2 * round(width / BLUR_SCALE / 2))
    small_h = max(2, 2 * round(height / BLUR_SCALE / 2))
    radius = max(1, min(small_w, small_h) // 12)
    return (
        stream.filter("scale", w=small_w, h=small_h, flags="bilinear")
        .filter("boxblur", luma_radius=radius, luma_power=2)
        .filter("scale", w=width, h=height, flags="bilinear")
        .filter("eq", brightness=-0.08)
    )


def split(stream: Stream, count: int) -> list[Stream]:
    node = stream.split()
    return [node[i] for i in range(count)]


def merged_planes(luma: Stream, blue: Stream, red: Stream) -> Stream:
    """One yuv420p stream of three grey ones, each a plane (full, half, half size): the
    planes are referenced, not converted."""
    return ffmpeg.filter(
        [luma, blue, red],
        "mergeplanes",
        map0s=0,
        map0p=0,
        map1s=1,
        map1p=0,
        map2s=2,
        map2p=0,
        format="yuv420p",
    )


def tagged(stream: Stream) -> Stream:
    """`stream` with the colour tags the output carries anyway: an FFmpeg that negotiates
    colour spaces would otherwise convert an input of a blend whose tags differ (a mask, a
    noise field: untagged) every frame, which would also change its values."""
    return stream.filter("setparams", **BT709_TAGS)
