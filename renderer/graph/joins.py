"""The scenes joined into one video, each transition blending only the frames it covers.

A fade is a `blend` whose opacity steps down per frame, a fifth of xfade's cost; every other
transition is an xfade.
"""

from __future__ import annotations

import ffmpeg

from renderer.graph.streams import Stream, split
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
            segments.append(_transition(plan, scene.index - 1, incoming, pieces[cuts[0]]))
        if cuts[1][1] > cuts[1][0]:
            segments.append(pieces[cuts[1]])
        incoming = pieces.get(cuts[2]) if tail else None
    if len(segments) == 1:
        return segments[0]
    return ffmpeg.concat(*segments, v=1, a=0)


def _transition(plan: RenderPlan, after: int, outgoing: Stream, incoming: Stream) -> Stream:
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
