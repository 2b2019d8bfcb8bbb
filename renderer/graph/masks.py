"""Frames made inside the graph for transitions: a uniform value per frame, a flat colour, a
static noise field of 2x2 cells.

Each is drawn on a 2x2 corner of a frame of the scene it goes with (`like`) and blown up to
the full size by nearest-neighbour scaling, so a frame costs a fill of its planes (about
0.5 ms at 1080x1920) whatever its value. The value comes from the frame's own number, so it
lands on exactly the frame it is meant for; and the frames carry the scene's own colour tags,
which builds that negotiate colour spaces (FFmpeg 7 and later) would otherwise "convert" a
mask to, changing its values.
"""

from __future__ import annotations

from collections.abc import Sequence

from renderer.graph.streams import Stream, merged_planes, repeat, split, tagged

Size = tuple[int, int]


def _corner(like: Stream) -> Stream:
    return like.filter("crop", w=2, h=2, x=0, y=0)


def _full(stream: Stream, size: Size) -> Stream:
    width, height = size
    return stream.filter("scale", w=width, h=height, flags="neighbor").filter("setsar", sar="1")


def lookup(values: Sequence[float], variable: str = "N", default: float = 0) -> str:
    """An FFmpeg expression worth values[i] when `variable` is i (runs of a value joined),
    `default` elsewhere."""
    terms = [] if default == 0 else [f"{default:g}"]
    start = 0
    for index in range(1, len(values) + 1):
        if index == len(values) or values[index] != values[start]:
            if values[start] != default:
                last = index - 1
                span = (
                    f"eq({variable},{start})"
                    if last == start
                    else f"between({variable},{start},{last})"
                )
                terms.append(f"{values[start] - default:g}*{span}")
            start = index
    return _balanced_sum(terms) if terms else "0"


def _balanced_sum(terms: list[str]) -> str:
    # FFmpeg's expression parser nests at most 100 deep, which a flat chain of sums exceeds.
    if len(terms) == 1:
        return terms[0]
    middle = len(terms) // 2
    return f"({_balanced_sum(terms[:middle])})+({_balanced_sum(terms[middle:])})"


def uniform_frames(like: Stream, values: Sequence[int], size: Size) -> Stream:
    """Frame i has every sample of every plane at values[i] (0..255), at frame i of `like`'s
    time: a mask for maskedmerge, or a per-frame threshold."""
    stream = _corner(like).filter("trim", end_frame=len(values))
    return _full(stream.filter("geq", lum=lookup(values)), size)


def flat_frames(like: Stream, luma: int, chroma: int, frames: int, size: Size, fps: int) -> Stream:
    """`frames` frames of one colour given as raw Y and U=V values: made once, repeated."""
    stream = _corner(like).filter("trim", end_frame=1)
    stream = stream.filter("geq", lum=luma, cb=chroma, cr=chroma)
    return repeat(_full(stream, size), frames, fps)


# The noise filter's uniform noise at full strength adds -50..49 to a sample; around 128 that
# is 100 levels from 78 on, stretched here to the odd values 1, 3 .. 199. A threshold at an
# even value then splits them the same way whether it is compared as < or as <= (builds
# differ on that).
NOISE_LEVELS = 100
_STRETCH = "2*(val-78)+1"


def noise_limit(share: float) -> int:
    """The even threshold below which `share` of the noise samples lie."""
    return 2 * round(NOISE_LEVELS * share)


def noise_frames(like: Stream, frames: int, size: Size, fps: int) -> Stream:
    """One frame of uniform noise (see NOISE_LEVELS), made once (a few ms at 1080x1920) and
    repeated `frames` times: one value per 2x2 cell, the same in the luma samples of the
    cell and in its chroma sample, so a cell turns over whole, in its own colour. (Noise per
    sample, each plane its own, turned luma and chroma apart, and made a dissolve's frames
    cost x264 twice the bits and a third more time.) The noise filter's seed is fixed, so
    every render draws the same field."""
    width, height = size
    cells = ((width + 1) // 2, (height + 1) // 2)
    stream = _corner(like).filter("trim", end_frame=1).filter("geq", lum=128)
    stream = _full(stream, cells).filter("format", pix_fmts="gray")
    stream = stream.filter("noise", alls=100, allf="u").filter("lut", c0=_STRETCH)
    luma, blue, red = split(stream, 3)
    luma = luma.filter("scale", w=width, h=height, flags="neighbor")
    merged = merged_planes(luma, blue, red)
    return repeat(tagged(merged).filter("setsar", sar="1"), frames, fps)
