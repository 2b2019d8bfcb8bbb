"""RenderPlan → one FFmpeg command: every scene, card, transition, effect and sound in a single
filtergraph, built with ffmpeg-python. A long video is rendered in parts instead (`segment`):
one command per segment of scenes, and one that joins them and renders the sound.

Speed comes from doing per-frame work only where something moves; each part says how:
`stills` (a photo fitted once and repeated), `motion` (Ken Burns as whole-pixel crops and
2-pixel zoom steps), `cards` (a card overlaid only on its box), `scene` (the theme background
one frame repeated), `joins` (a transition blends only the frames it covers) and `command`
(the poster taken from the frames as they pass). `inputs` and `command` hold the two FFmpeg
behaviours that shape the graph.
"""

from renderer.graph.command import build_command
from renderer.graph.sources import AudioSources, CardLayer, GraphSources, SceneSources

__all__ = ["AudioSources", "CardLayer", "GraphSources", "SceneSources", "build_command"]
