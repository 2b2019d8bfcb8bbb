"""xfade's zoomin, drawn cheaply: the outgoing scene zooms into its centre while the zoom lasts
(zoompan, 2-3 ms a frame), then the one colour it ends on fades into the incoming scene (a
2x2 crop blown up, and a maskedmerge: about 1.5 ms a frame), where xfade spends ~40 ms.
"""

from __future__ import annotations

import ffmpeg

from renderer.graph.masks import Size, lookup
from renderer.graph.streams import Stream, cfr, split

# zoompan magnifies at most 10 times; a deeper zoom first crops the centre tenth of the frame.
ZOOMPAN_MAX = 10.0
# Past this the centre is a few pixels across, as good as the one colour that follows.
ZOOM_MAX = ZOOMPAN_MAX * ZOOMPAN_MAX


def zoom_in(
    outgoing: Stream, incoming: Stream, scales: list[float], fade: Stream, size: Size, fps: int
) -> Stream:
    """The transition's frames: first len(scales) frames of `outgoing`, each showing
    scales[i] of its width and height about the centre; then the outgoing scene's centre
    colour merged with `incoming` by `fade`, a mask for each remaining frame."""
    stages = _stages(scales)
    parts = split(outgoing, len(stages) + 1)
    pieces = [
        _zoomed(part, start, factors, crop, size, fps)
        for part, (start, factors, crop) in zip(parts, stages, strict=False)
    ]
    start = len(scales)
    flat = _centre_colour(_from(parts[-1], start), size)
    pieces.append(ffmpeg.filter([flat, _from(incoming, start), fade], "maskedmerge"))
    # Frame numbers as timestamps on every piece: zoompan stamps its own, and a build whose
    # concat goes by those (FFmpeg 9) would otherwise repeat a frame at the seam.
    pieces = [cfr(piece, fps) for piece in pieces]
    return pieces[0] if len(pieces) == 1 else cfr(ffmpeg.concat(*pieces, v=1, a=0), fps)


def _stages(scales: list[float]) -> list[tuple[int, list[float], int]]:
    """(first frame, zoom per frame, centre crop divisor) for each run of frames one zoompan
    can draw: magnifications up to 10 straight, deeper ones from the centre tenth."""
    zooms = [min(ZOOM_MAX, 1 / scale) for scale in scales]
    shallow = [zoom for zoom in zooms if zoom <= ZOOMPAN_MAX]
    deep = [zoom for zoom in zooms[len(shallow) :]]
    stages = []
    if shallow:
        stages.append((0, shallow, 1))
    if deep:
        stages.append((len(shallow), deep, int(ZOOMPAN_MAX)))
    return stages


def _from(stream: Stream, start: int, end: int | None = None) -> Stream:
    trimmed = stream.filter("trim", start_frame=start, **({"end_frame": end} if end else {}))
    return trimmed.filter("setpts", expr="PTS-STARTPTS")


def _zoomed(
    stream: Stream, start: int, zooms: list[float], divisor: int, size: Size, fps: int
) -> Stream:
    width, height = size
    stream = _from(stream, start, start + len(zooms))
    if divisor > 1:
        # The centre 1/divisor of the frame, even-sized, its zoom scaled to match.
        crop_w = max(2, 2 * round(width / divisor / 2))
        crop_h = max(2, 2 * round(height / divisor / 2))
        stream = stream.filter("crop", w=crop_w, h=crop_h)
        zooms = [min(ZOOMPAN_MAX, zoom * crop_w / width) for zoom in zooms]
    # `on` counts this stage's frames from 0, one out for each in (d=1).
    return stream.filter(
        "zoompan",
        z=lookup([round(zoom, 5) for zoom in zooms], "on", default=1),
        x="iw/2-iw/zoom/2",
        y="ih/2-ih/zoom/2",
        d=1,
        s=f"{width}x{height}",
        fps=fps,
    ).filter("setsar", sar="1")


def _centre_colour(stream: Stream, size: Size) -> Stream:
    """Each frame's centre pixel (xfade's, give or take one) filling the frame."""
    width, height = size
    x, y = width // 2 - width // 2 % 2, height // 2 - height // 2 % 2
    return (
        stream.filter("crop", w=2, h=2, x=x, y=y)
        .filter("scale", w=1, h=1, flags="neighbor")
        .filter("scale", w=width, h=height, flags="neighbor")
        .filter("setsar", sar="1")
    )
