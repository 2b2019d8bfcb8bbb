"""A long video cut into segments, each rendered by its own FFmpeg graph: pure planning.

One filtergraph keeps every scene's filters alive until it ends, so its memory grows with the
number of scenes. A video of more than SINGLE_GRAPH_MAX_SCENES scenes is therefore rendered
as segments of about SCENES_PER_SEGMENT scenes, one FFmpeg process each, and the encoded
segments are joined without decoding them again.

A segment starts on the first frame of a scene's body, just after its incoming transition, so
no transition is ever split between two processes: the segment before renders that transition
(reading the scene's first frames), and the segment that starts there renders the scene's own
stream from its first frame and drops the frames already shown. Motion, card entrances and
fades are functions of the frame number within the scene's stream, so they continue exactly.

Segments are independent once the sources are prepared: `SegmentPlan` is the unit a caller may
render in any order, or on several slots at once, as long as they are joined in order.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from renderer.plan import RenderPlan

# Up to this many scenes a video is one graph: the same memory as the benchmark reel of six,
# and no cost for joining.
SINGLE_GRAPH_MAX_SCENES = 6
# Scenes whose bodies a segment holds. A segment's graph also reads the next scene's first
# frames (the transition into it), so it holds one scene more than this at the end: five,
# fewer than a six-scene reel holds at once.
SCENES_PER_SEGMENT = 4


@dataclass(frozen=True)
class SegmentPlan:
    """Output frames [first_frame, end_frame) of a plan, rendered from scenes
    [first_scene, stop_scene) plus, when `ends_on_transition`, the first frames of scene
    `stop_scene`, which the transition into it blends in."""

    index: int
    first_scene: int
    stop_scene: int
    first_frame: int
    end_frame: int
    ends_on_transition: bool
    poster_frame: int | None  # frame of this segment (counted from its first) that is the poster

    @property
    def frames(self) -> int:
        return self.end_frame - self.first_frame

    @property
    def scenes_read(self) -> range:
        """Every scene whose stream the segment's graph reads."""
        return range(self.first_scene, self.stop_scene + (1 if self.ends_on_transition else 0))


def incoming_frames(plan: RenderPlan, index: int) -> int:
    """Frames at the start of scene `index`'s stream that its incoming transition covers."""
    return plan.transitions[index - 1].frames if index > 0 else 0


def body_start_frame(plan: RenderPlan, index: int) -> int:
    """The output frame where scene `index`'s body starts: right after its incoming transition."""
    return plan.scenes[index].timing.stream_start_frame + incoming_frames(plan, index)


def plan_segments(
    plan: RenderPlan,
    *,
    single_graph_max_scenes: int | None = None,
    scenes_per_segment: int | None = None,
) -> tuple[SegmentPlan, ...]:
    """The segments `plan` is rendered as, in order; one covering everything when the video has
    at most `single_graph_max_scenes` scenes. Segments hold nearly equal numbers of scenes.
    Either limit left out is the module's constant, read at the call."""
    if single_graph_max_scenes is None:
        single_graph_max_scenes = SINGLE_GRAPH_MAX_SCENES
    if scenes_per_segment is None:
        scenes_per_segment = SCENES_PER_SEGMENT
    count = len(plan.scenes)
    if count <= single_graph_max_scenes:
        cuts = [0, count]
    else:
        pieces = math.ceil(count / max(1, scenes_per_segment))
        # Spread evenly: eleven scenes in fours are 4 + 4 + 3, never 4 + 4 + 2 + 1.
        cuts = [round(i * count / pieces) for i in range(pieces + 1)]
    segments = []
    for index, (first, stop) in enumerate(itertools.pairwise(cuts)):
        first_frame = body_start_frame(plan, first) if first > 0 else 0
        end_frame = body_start_frame(plan, stop) if stop < count else plan.total_frames
        holds_poster = first_frame <= plan.poster_frame < end_frame
        segments.append(
            SegmentPlan(
                index=index,
                first_scene=first,
                stop_scene=stop,
                first_frame=first_frame,
                end_frame=end_frame,
                ends_on_transition=stop < count and incoming_frames(plan, stop) > 0,
                poster_frame=plan.poster_frame - first_frame if holds_poster else None,
            )
        )
    return tuple(segments)
