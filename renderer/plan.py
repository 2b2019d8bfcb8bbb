"""Spec + theme → RenderPlan: every timing decided in whole frames, before any media is touched.

The video is exactly as long as the sum of its scenes. A transition between two scenes is
centred on the cut between them: its first half is taken from the outgoing scene's last frames
and its second half from the incoming scene's first frames. So each scene's own stream is its
nominal length plus `lead_frames` (the incoming transition's first half, played before its
nominal start) plus `tail_frames` (the outgoing one's second half, after its nominal end), and
an xfade of those streams at the right offsets lands every scene on its nominal start.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path

import scenes
from renderer.overlay_plan import OverlayPlan, plan_overlays
from scenes.base import TRANSITION_XFADE, SceneBase
from scenes.captions import Captions
from scenes.visuals import Visual
from themes import Theme

PREVIEW_MAX_HEIGHT = 360
PREVIEW_MAX_FPS = 15
# The longest text entrance, however slow the theme asks for.
MAX_ANIMATION_S = 2.0


@dataclass(frozen=True)
class Timing:
    """Where a scene sits in the output, in frames."""

    start_frame: int  # nominal start
    frames: int  # nominal length
    lead_frames: int = 0  # played before the nominal start, under the incoming transition
    tail_frames: int = 0  # played after the nominal end, under the outgoing transition

    @property
    def stream_frames(self) -> int:
        return self.lead_frames + self.frames + self.tail_frames

    @property
    def stream_start_frame(self) -> int:
        return self.start_frame - self.lead_frames


@dataclass(frozen=True)
class TextLayer:
    """The scene's text card and its entrance, in frames of the scene's own stream."""

    enter_frame: int
    animation: str  # none | fade | slide-up | pop
    animation_frames: int


@dataclass(frozen=True)
class ScenePlan:
    index: int
    scene: SceneBase
    timing: Timing
    visual: Visual
    text: TextLayer | None

    @property
    def field(self) -> str:
        return f"scenes[{self.index}]"


@dataclass(frozen=True)
class TransitionPlan:
    """From scene `after` into the next; `xfade` None is a cut."""

    after: int
    xfade: str | None
    offset_frame: int  # output frame where the transition starts
    frames: int


@dataclass(frozen=True)
class MusicPlan:
    src: str
    field: str
    volume: float
    fade_in_s: float
    fade_out_s: float
    base_dir: Path | None = None  # theme music is relative to its theme file


@dataclass(frozen=True)
class VoicePlan:
    src: str
    field: str
    delay_s: float
    volume: float


@dataclass(frozen=True)
class AudioPlan:
    duration_s: float
    music: MusicPlan | None
    voices: tuple[VoicePlan, ...]
    duck: bool


@dataclass(frozen=True)
class CaptionRequest:
    """A caption track as the spec gives it, placed on the video: its times count from frame
    `first_frame`, and it may not run past `end_frame` (the end of the scene or video)."""

    captions: Captions
    field: str
    first_frame: int
    end_frame: int


@dataclass(frozen=True)
class RenderPlan:
    width: int
    height: int
    fps: int
    total_frames: int
    quality: str
    scenes: tuple[ScenePlan, ...]
    transitions: tuple[TransitionPlan, ...]
    audio: AudioPlan
    poster_frame: int
    captions: tuple[CaptionRequest, ...] = ()
    overlays: tuple[OverlayPlan, ...] = ()

    @property
    def duration_s(self) -> float:
        return self.total_frames / self.fps

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height


def build_plan(
    spec: scenes.Spec,
    theme: Theme,
    *,
    size: tuple[int, int] | None = None,
    preview: bool = False,
    quality: str | None = None,
) -> RenderPlan:
    """Decide sizes, frames, transitions, text entrances and audio for `spec` under `theme`."""
    width, height = size or spec.size
    fps = spec.fps
    if preview:
        width, height = preview_size(width, height)
        fps = min(fps, PREVIEW_MAX_FPS)
        quality = "draft"
    quality = quality or spec.output.quality

    starts = _frame_starts([scene.duration for scene in spec.scenes], fps)
    frames = [b - a for a, b in itertools.pairwise(starts)]
    transitions, leads, tails = _transitions(spec, theme, starts, frames, fps)
    animation = theme.text_animation
    animation_s = min(theme.text_animation_s, MAX_ANIMATION_S)
    planned = []
    for i, scene in enumerate(spec.scenes):
        timing = Timing(starts[i], frames[i], leads[i], tails[i])
        text = None
        if scene.card() is not None:
            anim_frames = 0 if animation == "none" else round(animation_s * fps)
            anim_frames = max(0, min(anim_frames, frames[i] // 2))
            text = TextLayer(timing.lead_frames, animation if anim_frames else "none", anim_frames)
        planned.append(ScenePlan(i, scene, timing, scene.visual(f"scenes[{i}]"), text))

    total = starts[-1]
    return RenderPlan(
        width=width,
        height=height,
        fps=fps,
        total_frames=total,
        quality=quality,
        scenes=tuple(planned),
        transitions=tuple(transitions),
        audio=_audio_plan(spec, theme, total / fps, [s / fps for s in starts]),
        poster_frame=_poster_frame(planned[0], transitions, fps, total),
        captions=_caption_requests(spec, starts),
        overlays=plan_overlays(spec, theme, (width, height), fps, total, animation_s),
    )


def _caption_requests(spec: scenes.Spec, starts: list[int]) -> tuple[CaptionRequest, ...]:
    requests = []
    if spec.captions is not None:
        requests.append(CaptionRequest(spec.captions, "captions", 0, starts[-1]))
    for i, scene in enumerate(spec.scenes):
        if scene.captions is not None:
            field = f"scenes[{i}].captions"
            requests.append(CaptionRequest(scene.captions, field, starts[i], starts[i + 1]))
    return tuple(requests)


def _transitions(
    spec: scenes.Spec, theme: Theme, starts: list[int], frames: list[int], fps: int
) -> tuple[list[TransitionPlan], list[int], list[int]]:
    """Every transition in frames, with the lead and tail frames each scene's stream gains."""
    transitions: list[TransitionPlan] = []
    leads = [0] * len(spec.scenes)
    tails = [0] * len(spec.scenes)
    for i in range(len(spec.scenes) - 1):
        chosen = spec.transition_after(i, theme.transition)
        xfade = TRANSITION_XFADE[chosen.type]
        # At most half of either neighbour, so the two transitions around a scene never meet.
        length = min(round(chosen.duration * fps), frames[i] // 2, frames[i + 1] // 2)
        if xfade is None or length < 1:
            transitions.append(TransitionPlan(i, None, starts[i + 1], 0))
            continue
        before = length // 2
        after = length - before
        tails[i] = after
        leads[i + 1] = before
        transitions.append(TransitionPlan(i, xfade, starts[i + 1] - before, length))
    return transitions, leads, tails


def preview_size(width: int, height: int) -> tuple[int, int]:
    """A draft size no taller than PREVIEW_MAX_HEIGHT, same aspect, even dimensions."""
    scale = min(1.0, PREVIEW_MAX_HEIGHT / height)
    return _even(width * scale), _even(height * scale)


def _even(value: float) -> int:
    return max(16, 2 * round(value / 2))


def _frame_starts(durations: list[float], fps: int) -> list[int]:
    """Scene start frames plus the end frame, rounded from the cumulative time so rounding
    never accumulates: the total is the sum of durations within half a frame."""
    starts = [0]
    elapsed = 0.0
    for duration in durations:
        elapsed += duration
        # Every scene gets at least one frame, even a 0.01 s one at 24 fps.
        starts.append(max(math.floor(elapsed * fps + 0.5), starts[-1] + 1))
    return starts


def _audio_plan(
    spec: scenes.Spec, theme: Theme, duration_s: float, starts_s: list[float]
) -> AudioPlan:
    audio = spec.audio or scenes.Audio()
    music = None
    if audio.music:
        music = MusicPlan(audio.music, "audio.music", audio.music_volume, *_fades(audio))
    elif theme.music:
        music = MusicPlan(
            theme.music,
            "theme.music",
            audio.music_volume,
            *_fades(audio),
            base_dir=Path(theme.source).parent if theme.source else None,
        )
    voices = []
    if audio.voiceover:
        voices.append(VoicePlan(audio.voiceover, "audio.voiceover", 0.0, audio.voiceover_volume))
    for i, scene in enumerate(spec.scenes):
        if scene.voiceover:
            voices.append(
                VoicePlan(
                    scene.voiceover, f"scenes[{i}].voiceover", starts_s[i], audio.voiceover_volume
                )
            )
    return AudioPlan(duration_s, music, tuple(voices), audio.duck)


def _fades(audio: scenes.Audio) -> tuple[float, float]:
    return audio.fade_in_s, audio.fade_out_s


def _poster_frame(first: ScenePlan, transitions: list[TransitionPlan], fps: int, total: int) -> int:
    """The first scene once its text has arrived, before the next scene starts to cover it."""
    if first.text is not None:
        wanted = first.text.enter_frame + first.text.animation_frames + round(0.25 * fps)
    else:
        wanted = first.timing.frames // 2
    limit = transitions[0].offset_frame - 1 if transitions else total - 1
    return max(0, min(wanted, limit, total - 1))
