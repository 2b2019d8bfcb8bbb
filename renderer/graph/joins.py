"""The scenes joined into one video, each transition blending only the frames it covers.

How each transition is drawn lives in `renderer.graph.transitions`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ffmpeg

from renderer.graph.streams import Stream, cfr, split
from renderer.graph.transitions import transition
from renderer.plan import RenderPlan

Streams = Sequence[Stream] | Mapping[int, Stream]


def join(plan: RenderPlan, streams: Streams, first: int = 0, stop: int | None = None) -> Stream:
    """Concatenate scenes [first, stop), each transition rendered only over the frames it covers.

    A transition filter costs work for every frame that passes through it, inside its window
    or not, so chaining transitions over whole scenes would touch every frame once per later
    transition. Instead each scene stream is cut into [incoming | body | outgoing] (`split`
    and `trim` pass references, no copies); a transition joins the outgoing part of one scene
    with the incoming part of the next; and everything is concatenated in order.

    A part of the video (a segment) starts on the body of scene `first`: its incoming frames
    belong to the part before. It ends with the transition into scene `stop`, when there is
    one, for which `streams` holds scene `stop` too; only its incoming frames are used.
    """
    stop = len(plan.scenes) if stop is None else stop
    pieces: list[Stream] = []
    outgoing: Stream | None = None
    for index in range(first, stop):
        incoming, body, outgoing_next = _cut(plan, index, streams[index], index > first)
        if incoming is not None:
            assert outgoing is not None
            pieces.append(transition(plan, index - 1, outgoing, incoming))
        if body is not None:
            pieces.append(body)
        outgoing = outgoing_next
    if outgoing is not None:
        head = plan.transitions[stop - 1].frames
        incoming = _trimmed(streams[stop], 0, head, plan.scenes[stop].timing.stream_frames)
        pieces.append(transition(plan, stop - 1, outgoing, incoming))
    if len(pieces) == 1:
        return pieces[0]
    # concat stamps its output in microseconds and rounds where each piece starts, so frames
    # drift off the 1/fps grid (frame 8 at 533334 us, not 533333). A layer above that keeps
    # time with a stream of its own (the effect's mask: maskedmerge emits a frame for each
    # new timestamp on any input) would then pair a mask frame with the scene's frame before
    # it, and the output's rate conversion keeps one or the other of each near-twin frame,
    # each FFmpeg build differently: a scene shown a frame late.
    return cfr(ffmpeg.concat(*pieces, v=1, a=0), plan.fps)


def _cut(
    plan: RenderPlan, index: int, stream: Stream, with_incoming: bool
) -> tuple[Stream | None, Stream | None, Stream | None]:
    """Scene `index`'s stream as (incoming, body, outgoing) parts, None where a part is empty
    or, for the incoming part, not wanted."""
    frames = plan.scenes[index].timing.stream_frames
    head = plan.transitions[index - 1].frames if index > 0 else 0
    tail = plan.transitions[index].frames if index < len(plan.transitions) else 0
    cuts = [(0, head), (head, frames - tail), (frames - tail, frames)]
    if not with_incoming:
        cuts[0] = (0, 0)
    wanted = [(start, end) for start, end in cuts if end > start]
    parts = [stream] if len(wanted) == 1 else list(split(stream, len(wanted)))
    pieces = {cut: _trimmed(part, *cut, frames) for cut, part in zip(wanted, parts, strict=True)}
    incoming, body, outgoing = (pieces.get(cut) for cut in cuts)
    return incoming, body, outgoing


def _trimmed(stream: Stream, start: int, end: int, frames: int) -> Stream:
    if (start, end) == (0, frames):
        return stream
    return stream.filter("trim", start_frame=start, end_frame=end).filter(
        "setpts", expr="PTS-STARTPTS"
    )
