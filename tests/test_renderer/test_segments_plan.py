"""Segment planning: a long video cut at scene bodies, no transition split, nothing lost."""

from __future__ import annotations

import itertools

import pytest

import renderer.segments
import scenes
import themes
from renderer.plan import RenderPlan, build_plan
from renderer.segments import body_start_frame, plan_segments


@pytest.fixture(scope="module")
def theme() -> themes.Theme:
    return themes.load_theme("default")


def make_plan(theme: themes.Theme, count: int, transition: str = "fade", **scene) -> RenderPlan:
    data = {
        "fps": 30,
        "transition": {"type": transition, "duration": 0.4},
        "scenes": [
            {"type": "title", "title": f"s{i}", "duration": 0.5 + 0.1 * (i % 3), **scene}
            for i in range(count)
        ],
    }
    return build_plan(scenes.parse_spec(data), theme)


def test_a_short_video_is_one_segment_of_everything(theme):
    plan = make_plan(theme, 6)
    (only,) = plan_segments(plan, single_graph_max_scenes=6)
    assert (only.first_scene, only.stop_scene) == (0, 6)
    assert (only.first_frame, only.end_frame) == (0, plan.total_frames)
    assert not only.ends_on_transition
    assert only.poster_frame == plan.poster_frame


def test_segments_cover_every_frame_once_in_order(theme):
    plan = make_plan(theme, 11)
    segments = plan_segments(plan, single_graph_max_scenes=6, scenes_per_segment=4)
    # Eleven scenes in fours: nearly equal parts, never a lone scene at the end.
    assert [s.stop_scene - s.first_scene for s in segments] == [4, 3, 4]
    assert segments[0].first_frame == 0 and segments[-1].end_frame == plan.total_frames
    for before, after in itertools.pairwise(segments):
        assert before.end_frame == after.first_frame
        assert before.stop_scene == after.first_scene
    assert sum(s.frames for s in segments) == plan.total_frames
    assert [s.index for s in segments] == [0, 1, 2]


def test_a_segment_starts_right_after_its_first_scenes_transition(theme):
    plan = make_plan(theme, 9)
    segments = plan_segments(plan, single_graph_max_scenes=2, scenes_per_segment=3)
    for segment in segments[1:]:
        incoming = plan.transitions[segment.first_scene - 1]
        assert incoming.frames > 0
        assert segment.first_frame == incoming.offset_frame + incoming.frames
        assert segment.first_frame == body_start_frame(plan, segment.first_scene)


def test_no_transition_is_split_between_segments(theme):
    plan = make_plan(theme, 10)
    segments = plan_segments(plan, single_graph_max_scenes=1, scenes_per_segment=2)
    for transition in plan.transitions:
        window = range(transition.offset_frame, transition.offset_frame + transition.frames)
        holders = [s for s in segments if s.first_frame <= window[0] < s.end_frame]
        assert len(holders) == 1
        assert window[-1] < holders[0].end_frame


def test_a_segment_reads_the_next_scene_only_for_a_transition_into_it(theme):
    faded = plan_segments(make_plan(theme, 6), single_graph_max_scenes=1, scenes_per_segment=2)
    assert [s.ends_on_transition for s in faded] == [True, True, False]
    assert list(faded[0].scenes_read) == [0, 1, 2]
    assert list(faded[-1].scenes_read) == [4, 5]
    cut = plan_segments(
        make_plan(theme, 6, "none"), single_graph_max_scenes=1, scenes_per_segment=2
    )
    assert not any(s.ends_on_transition for s in cut)
    assert list(cut[0].scenes_read) == [0, 1]
    # With cuts, segments start exactly on their first scene's nominal start.
    plan = make_plan(theme, 6, "none")
    assert [s.first_frame for s in cut] == [plan.scenes[i].timing.start_frame for i in (0, 2, 4)]


def test_only_the_segment_holding_the_poster_writes_it(theme):
    plan = make_plan(theme, 8)
    segments = plan_segments(plan, single_graph_max_scenes=1, scenes_per_segment=2)
    holders = [s for s in segments if s.poster_frame is not None]
    assert len(holders) == 1
    (holder,) = holders
    assert holder.first_frame + holder.poster_frame == plan.poster_frame
    assert 0 <= holder.poster_frame < holder.frames


def test_limits_left_out_are_the_module_constants_at_the_call(theme, monkeypatch):
    plan = make_plan(theme, 8)
    assert len(plan_segments(plan)) == (1 if renderer.segments.SINGLE_GRAPH_MAX_SCENES >= 8 else 2)
    monkeypatch.setattr(renderer.segments, "SINGLE_GRAPH_MAX_SCENES", 3)
    monkeypatch.setattr(renderer.segments, "SCENES_PER_SEGMENT", 3)
    assert [s.first_scene for s in plan_segments(plan)] == [0, 3, 5]
