"""The scenes joined into one video, each transition blending only the frames it covers.

How each transition is drawn lives in `renderer.graph.transitions`.
"""

from __future__ import annotations

import ffmpeg

from renderer.graph.streams import Stream, split
from renderer.graph.transitions import transition
from renderer.plan import RenderPlan


def join(plan: RenderPlan, streams: list[Stream]) -> Stream:
    """Concatenate the scenes, each transition rendered only over the frames it covers.

    A transition filter costs work for every frame that passes through it, inside its window
    or not, so chaining transitions over whole scenes would touch every frame once per later
    transition. Instead each scene stream is cut into [incoming | body | outgoing] (`split`
    and `trim` pass references, no copies); a transition joins the outgoing part of one scene
    with the incoming part of the next; and everything is concatenated in order.
    """
    segments: list[Stream] = []
    incoming: Stream | None = None
    for scene, stream in zip(plan.scenes, streams, strict=True):
        frames = scene.timing.stream_frames
        head = plan.transitions[scene.index - 1].frames if scene.index > 0 else 0
        tail = plan.transitions[scene.index].frames if scene.index < len(plan.transitions) else 0
        cuts = [(0, head), (head, frames - tail), (frames - tail, frames)]
        wanted = [(start, end) for start, end in cuts if end > start]
        parts = [stream] if len(wanted) == 1 else list(split(stream, len(wanted)))
        pieces = {}
        for (start, end), part in zip(wanted, parts, strict=True):
            if (start, end) != (0, frames):
                part = part.filter("trim", start_frame=start, end_frame=end)
                part = part.filter("setpts", expr="PTS-STARTPTS")
            pieces[(start, end)] = part
        if head:
            assert incoming is not None
            segments.append(transition(plan, scene.index - 1, incoming, pieces[cuts[0]]))
        if cuts[1][1] > cuts[1][0]:
            segments.append(pieces[cuts[1]])
        incoming = pieces.get(cuts[2]) if tail else None
    if len(segments) == 1:
        return segments[0]
    return ffmpeg.concat(*segments, v=1, a=0)
