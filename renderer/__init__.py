"""The renderer: a Spec and its theme become an MP4 and a poster through one FFmpeg filtergraph
(or, for long videos, one per segment, joined without re-encoding).

result = renderer.render(spec, Path("out/job-1"), RenderOptions(threads=2),
                         progress=lambda done, total: ..., cancel=threading.Event())
"""

from __future__ import annotations

from renderer.render import render
from renderer.types import (
    AssetError,
    AssetPolicy,
    ProgressCallback,
    RenderCancelled,
    RenderError,
    RenderOptions,
    RenderResult,
)

__all__ = [
    "AssetError",
    "AssetPolicy",
    "ProgressCallback",
    "RenderCancelled",
    "RenderError",
    "RenderOptions",
    "RenderResult",
    "render",
]
