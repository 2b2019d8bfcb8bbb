"""The render plan: frame arithmetic that keeps the video exactly as long as its scenes."""

from __future__ import annotations

import pytest

import scenes
import themes
from renderer.plan import build_plan, preview_size
from scenes.base import TRANSITION_XFADE
from scenes.visuals import ClipVisual, StillVisual, ThemeVisual


def spec(*durations: float, transition: dict | None = None, fps: int = 30, **extra) -> scenes.Spec:
    data = {
        "fps": fps,
        "scenes": [
            {"type": "title", "title": f"s{i}", "duration": d} for i, d in enumerate(durations)
        ],
        **extra,
    }
    if transition is not None:
        data["transition"] = transition
    return scenes.parse_spec(data)


@pytest.fixture(scope="module")
def theme() -> themes.Theme:
    return themes.load_theme("default")


def test_total_frames_is_the_sum_of_durations_whatever_the_transitions(theme):
    plan = build_plan(spec(1.5, 2.25, 3, transition={"type": "fade", "duration": 0.8}), theme)
    assert plan.total_frames == 203  # 202.5 rounds half up
    assert plan.duration_s == pytest.approx(6.75, abs=1 / 30)
    # Scenes start exactly where their predecessors' nominal lengths end.
    assert [s.timing.start_frame for s in plan.scenes] == [0, 45, 113]


def test_transition_is_centred_on_the_cut_and_extends_both_neighbours(theme):
    plan = build_plan(spec(2, 2, transition={"type": "fade", "duration": 0.5}), theme)
    first, second = plan.scenes
    (transition,) = plan.transitions
    assert transition.frames == 15
    # 7 frames before the cut come from the incoming scene's lead, 8 after from the outgoing tail.
    assert second.timing.lead_frames == 7
    assert first.timing.tail_frames == 8
    assert transition.offset_frame == 60 - 7
    assert first.timing.stream_frames == 60 + 8
    assert second.timing.stream_start_frame == 53
    # Concatenated streams minus overlaps give the total back.
    overlap = sum(t.frames for t in plan.transitions)
    assert sum(s.timing.stream_frames for s in plan.scenes) - overlap == plan.total_frames


def test_transition_is_clamped_to_half_of_the_shorter_neighbour(theme):
    plan = build_plan(spec(0.4, 3, transition={"type": "fade", "duration": 3}), theme)
    assert plan.transitions[0].frames == 6  # half of the 0.4 s (12 frame) scene


def test_none_transition_is_a_cut(theme):
    plan = build_plan(spec(1, 1, transition={"type": "none", "duration": 1}), theme)
    assert plan.transitions[0].xfade is None
    assert plan.transitions[0].frames == 0
    assert plan.scenes[1].timing.lead_frames == 0


def test_theme_transition_is_the_default_and_scene_override_wins(theme):
    data = {
        "scenes": [
            {"type": "title", "title": "a", "duration": 2, "transition": {"type": "wipe-left"}},
            {"type": "title", "title": "b", "duration": 2},
            {"type": "title", "title": "c", "duration": 2},
        ]
    }
    plan = build_plan(scenes.parse_spec(data), theme)
    assert plan.transitions[0].xfade == "wipeleft"
    assert plan.transitions[1].xfade == TRANSITION_XFADE[theme.transition.type]


def test_every_spec_transition_maps_to_an_xfade_or_a_cut():
    assert set(TRANSITION_XFADE) == set(scenes.TRANSITION_TYPES)
    assert sum(1 for name in TRANSITION_XFADE.values() if name) >= 6


def test_tiny_durations_still_get_a_frame_each(theme):
    plan = build_plan(spec(0.01, 0.01, 1, fps=24), theme)
    assert [s.timing.frames for s in plan.scenes] == [1, 1, 22]


def test_text_entrance_starts_at_the_nominal_start(theme):
    plan = build_plan(spec(2, 2, transition={"type": "fade", "duration": 0.5}), theme)
    second = plan.scenes[1]
    assert second.text is not None
    assert second.text.enter_frame == second.timing.lead_frames
    assert second.text.animation == theme.text_animation
    assert second.text.animation_frames == round(theme.text_animation_s * 30)


def test_poster_frame_is_in_the_first_scene_after_its_entrance(theme):
    plan = build_plan(spec(3, 2, transition={"type": "fade", "duration": 0.5}), theme)
    text = plan.scenes[0].text
    assert text is not None
    assert text.enter_frame + text.animation_frames <= plan.poster_frame
    assert plan.poster_frame < plan.transitions[0].offset_frame


def test_visuals_follow_the_scene_kind(theme, shared_assets):
    data = {
        "scenes": [
            {"type": "image", "src": "a.jpg", "motion": "pan-up", "fit": "contain", "duration": 1},
            {"type": "video", "src": "b.mp4", "start": 2, "muted": False, "duration": 1},
            {"type": "text", "title": "t", "background": "c.jpg", "duration": 1},
            {"type": "quote", "text": "q", "duration": 1},
        ]
    }
    visuals = [s.visual for s in build_plan(scenes.parse_spec(data), theme).scenes]
    assert visuals[0] == StillVisual("a.jpg", "scenes[0].src", "pan-up", "contain")
    assert isinstance(visuals[1], ClipVisual) and visuals[1].start_s == 2 and not visuals[1].muted
    assert visuals[2] == StillVisual("c.jpg", "scenes[2].background", "none", "cover")
    assert isinstance(visuals[3], ThemeVisual)


def test_preview_is_small_draft_and_at_most_15_fps(theme):
    plan = build_plan(spec(1, fps=60), theme, preview=True)
    assert (plan.width, plan.height) == preview_size(1080, 1920) == (202, 360)
    assert plan.fps == 15
    assert plan.quality == "draft"


def test_size_override_and_quality(theme):
    plan = build_plan(spec(1, output={"quality": "high"}), theme, size=(180, 320))
    assert plan.size == (180, 320)
    assert plan.quality == "high"
    assert build_plan(spec(1), theme, quality="draft").quality == "draft"


def test_audio_plan_places_voiceovers_at_their_scene_start(theme):
    data = {
        "scenes": [
            {"type": "title", "title": "a", "duration": 1.5},
            {"type": "title", "title": "b", "duration": 2, "voiceover": "v.m4a"},
        ],
        "audio": {"music": "m.m4a", "voiceover": "all.m4a", "music_volume": 0.2},
    }
    audio = build_plan(scenes.parse_spec(data), theme).audio
    assert audio.music is not None and audio.music.volume == 0.2
    assert [(v.field, v.delay_s) for v in audio.voices] == [
        ("audio.voiceover", 0.0),
        ("scenes[1].voiceover", 1.5),
    ]
    assert audio.duration_s == pytest.approx(3.5)
