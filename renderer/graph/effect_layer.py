"""The theme's effect over the joined video: a looping clip with alpha (snow, sparkles, ...)
overlaid on every frame, and a filter for effects no clip can carry (film grain)."""

from __future__ import annotations

import ffmpeg

from renderer.graph.inputs import Inputs
from renderer.graph.sources import GraphSources
from renderer.graph.streams import YUV, Stream, cfr
from renderer.plan import RenderPlan


def with_effect(plan: RenderPlan, video: Stream, sources: GraphSources, inputs: Inputs) -> Stream:
    if sources.effect_clip is not None:
        layer = inputs.add(sources.effect_clip, stream_loop=-1)
        layer = layer.filter("scale", w=plan.width, h=plan.height, **YUV).filter(
            "format", pix_fmts="yuva420p"
        )
        layer = cfr(layer, plan.fps)
        video = ffmpeg.filter([video, layer], "overlay", x=0, y=0, eval="init", shortest=1)
    if sources.effect_filter:
        name, _, options = sources.effect_filter.partition("=")
        kwargs = dict(option.split("=", 1) for option in options.split(":") if option)
        video = video.filter(name, **kwargs)
    return video
