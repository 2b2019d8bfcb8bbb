"""One scene's stream: its visual (a photo, a clip, or the theme background, which is one
frame repeated), then its text card; and the sound of the clips, for a graph of sound alone."""

from __future__ import annotations

from renderer.graph.cards import overlay_card
from renderer.graph.clips import clip
from renderer.graph.inputs import Inputs
from renderer.graph.sources import GraphSources, SceneSources
from renderer.graph.stills import still
from renderer.graph.streams import Stream, repeat, to_yuv
from renderer.plan import RenderPlan, ScenePlan
from scenes.visuals import ClipVisual, StillVisual, ThemeVisual


def scene_stream(
    plan: RenderPlan,
    scene: ScenePlan,
    src: SceneSources,
    sources: GraphSources,
    inputs: Inputs,
    clip_sounds: list[Stream],
) -> Stream:
    """The scene's frames; an unmuted clip adds its sound to `clip_sounds`."""
    frames = scene.timing.stream_frames
    visual = scene.visual
    if isinstance(visual, StillVisual):
        assert src.media is not None
        stream = still(plan, visual, src.media, src.info, frames, sources, inputs)
    elif isinstance(visual, ClipVisual):
        assert src.media is not None and src.info is not None
        stream = clip(plan, scene, visual, src.media, src.info, sources, inputs, clip_sounds)
    else:
        assert isinstance(visual, ThemeVisual)
        background = to_yuv(inputs.picture(sources.background), plan.width, plan.height)
        stream = repeat(background, frames, plan.fps)
    if src.card is not None and scene.text is not None:
        stream = overlay_card(plan, stream, src.card, scene.text, inputs)
    # concat and xfade insist on equal sample aspect ratios; zooming scales by a hair unevenly.
    return stream.filter("setsar", sar="1")


def clip_sounds(plan: RenderPlan, sources: GraphSources, inputs: Inputs) -> list[Stream]:
    """The sound of every unmuted clip, placed where its scene plays, for a graph that renders
    the sound apart from the pictures. The clips' pictures are built too but, reaching no
    output, are left out of the command: only the sound is read."""
    sounds: list[Stream] = []
    for scene in plan.scenes:
        src = sources.scenes[scene.index]
        if isinstance(scene.visual, ClipVisual):
            assert src.media is not None and src.info is not None
            clip(plan, scene, scene.visual, src.media, src.info, sources, inputs, sounds)
    return sounds
