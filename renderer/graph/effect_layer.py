"""The theme's effect over the joined video: a colour shown through a looping mask (snow,
sparkles, ...), and a filter for effects no mask can carry (film grain).

The blend is `maskedmerge` of [video][one frame of the colour][mask], all yuv420p: per pixel
out = video + (colour - video) * mask / 256, what an alpha overlay does, at a fraction of its
cost, because the mask arrives as grey pictures that become yuv420p planes by cropping (see
`renderer.effects`). A static mask is decoded once and looped by the graph.
"""

from __future__ import annotations

import ffmpeg

from renderer.effects import EffectClip
from renderer.graph.inputs import Inputs
from renderer.graph.sources import GraphSources
from renderer.graph.streams import YUV, Stream, cfr, merged_planes, split, tagged
from renderer.plan import RenderPlan


def with_effect(
    plan: RenderPlan,
    video: Stream,
    sources: GraphSources,
    inputs: Inputs,
    first_frame: int = 0,
    frames: int | None = None,
) -> Stream:
    """`video` with the theme's effect. `video` is the render's frames [first_frame, ...), and
    `frames` of them (by default all the rest); its frame n shows mask frame
    (first_frame + n) % loop, as a whole render shows it there."""
    clip = sources.effect_clip
    if clip is not None:
        # maskedmerge runs until all of its inputs end (no `shortest` in either FFmpeg), so
        # the endless mask and colour are cut to the video's length.
        length = plan.total_frames - first_frame if frames is None else frames
        mask = _mask(clip, inputs, first_frame, plan.fps).filter("trim", end_frame=length)
        colour = _colour_frame(clip, inputs, plan.fps).filter("trim", end_frame=length)
        layers = [tagged(stream) for stream in (video, colour, mask)]
        video = ffmpeg.filter(layers, "maskedmerge", planes=15)
    if sources.effect_filter:
        name, _, options = sources.effect_filter.partition("=")
        kwargs = dict(option.split("=", 1) for option in options.split(":") if option)
        video = video.filter(name, **kwargs)
    return video


def _mask(clip: EffectClip, inputs: Inputs, first_frame: int, fps: int) -> Stream:
    if clip.static:
        return cfr(_planes(inputs.add(clip.path), clip).filter("loop", loop=-1, size=1), fps)
    options: dict[str, object] = {"stream_loop": -1}
    offset = first_frame % clip.frames
    if offset:
        # The input loop restarts at the file's beginning, so after this seek the passes show
        # frames offset…end, then 0…end again and again: loop frame (first_frame + n) % loop.
        # Half a frame early: a timestamp rounded in the file never drops the frame wanted.
        options["ss"] = f"{(offset - 0.5) / fps:.6f}"
    return cfr(_planes(inputs.add(clip.path, **options), clip), fps)


def _planes(stacked: Stream, clip: EffectClip) -> Stream:
    """The stacked grey mask as yuv420p: luma alpha above, chroma alpha below it (both U and V)."""
    luma, blue, red = split(stacked, 3)
    chroma = {"w": clip.chroma_width, "h": clip.chroma_height, "x": 0, "y": clip.height}
    return merged_planes(
        luma.filter("crop", w=clip.width, h=clip.height, x=0, y=0),
        blue.filter("crop", **chroma),
        red.filter("crop", **chroma),
    )


def _colour_frame(clip: EffectClip, inputs: Inputs, fps: int) -> Stream:
    """The effect colour as one yuv420p frame repeated forever (references, not copies)."""
    red, green, blue = clip.colour
    source = (
        f"color=c=0x{red:02x}{green:02x}{blue:02x}:s={clip.width}x{clip.height}:r={fps},"
        "trim=end_frame=1,format=rgb24"
    )
    frame = inputs.add(source, f="lavfi")
    # Converted as the effect clips with alpha were: HD matrix, limited range.
    frame = frame.filter("scale", **YUV).filter("format", pix_fmts="yuv420p")
    return cfr(frame.filter("loop", loop=-1, size=1), fps)
