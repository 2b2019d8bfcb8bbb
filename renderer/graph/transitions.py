"""How one scene turns into the next: the frames a transition covers, blended.

A fade is a `blend` whose opacity steps down per frame, a fifth of xfade's cost; every other
transition is an xfade.
"""

from __future__ import annotations

import ffmpeg

from renderer.graph.streams import Stream
from renderer.plan import RenderPlan


def transition(plan: RenderPlan, after: int, outgoing: Stream, incoming: Stream) -> Stream:
    transition = plan.transitions[after]
    if transition.xfade == "fade":
        return _crossfade(after, transition.frames, plan.fps, outgoing, incoming)
    # xfade insists on equal frame rates; a picture's rate is its file's, fps states ours.
    return ffmpeg.filter(
        [outgoing.filter("fps", fps=plan.fps), incoming.filter("fps", fps=plan.fps)],
        "xfade",
        transition=transition.xfade,
        duration=f"{transition.frames / plan.fps:.6f}",
        offset=0,
    )


def _crossfade(after: int, frames: int, fps: int, outgoing: Stream, incoming: Stream) -> Stream:
    """`outgoing` fading into `incoming` over `frames` frames, the same ramp as xfade's fade.

    sendcmd sets the opacity for frame i as frame i of `incoming` passes it; blend asks for
    frame i only after it has blended frame i-1, so each frame gets its own opacity."""
    name = f"blend@fade{after}"
    steps = ";".join(
        f"{max(0.0, (i - 0.5) / fps):.6f} {name} all_opacity {1 - i / frames:.6f}"
        for i in range(frames)
    )
    incoming = incoming.filter("sendcmd", c=steps)
    return ffmpeg.filter([outgoing, incoming], name, all_mode="normal", all_opacity=1)
