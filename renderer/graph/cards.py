"""A text card over its scene: drawn once by Pillow, cropped to its ink, and overlaid only
on its box."""

from __future__ import annotations

import ffmpeg

from renderer.graph.inputs import Inputs
from renderer.graph.pop import popped
from renderer.graph.sources import CardLayer
from renderer.graph.streams import YUV, Stream
from renderer.plan import RenderPlan, TextLayer


def overlay_card(
    plan: RenderPlan, stream: Stream, card: CardLayer, text: TextLayer, inputs: Inputs
) -> Stream:
    layer = inputs.picture(card.path)
    if card.pop is not None:
        layer = popped(layer, card.pop, plan.fps)
    else:
        layer = layer.filter("scale", **YUV).filter("format", pix_fmts="yuva420p")
    if card.fade_frames:
        # Converted once, repeated as references, faded in on its own small alpha plane.
        layer = layer.filter("loop", loop=card.fade_frames, size=1, start=0).filter(
            "fade", t="in", start_frame=0, nb_frames=card.fade_frames, alpha=1
        )
    # The card's first frame arrives at the entrance; before it the scene shows through.
    layer = layer.filter("settb", expr=f"1/{plan.fps}").filter(
        "setpts", expr=f"N+{text.enter_frame}"
    )
    y: int | str = card.y
    if card.slide_px and card.fade_frames:
        # Rises by slide_px with an ease-out (fast, then settling), as it fades in.
        start_s = text.enter_frame / plan.fps
        length_s = card.fade_frames / plan.fps
        progress = f"clip((t-{start_s:.6f})/{length_s:.6f},0,1)"
        y = f"{card.y}+{card.slide_px}*pow(1-{progress},3)"
    return ffmpeg.filter(
        [stream, layer],
        "overlay",
        x=card.x,
        y=y,
        eval="init" if isinstance(y, int) else "frame",
        eof_action="repeat",
    )
