"""What the graph reads, and how it reads it.

A file given as an FFmpeg input is pushed into the graph before anything asks for it, and
filters that sync two inputs (overlay, blend) then pull the neighbouring scene early, whose
frames pile up in memory; so pictures (photos, cards, backgrounds) are `movie` sources the
graph reads on demand (a test fails if the pile-up comes back). Clips and sound stay FFmpeg
inputs, which they need for exact seeking and looping.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import ffmpeg

from renderer.graph.streams import Stream


class _SourceNode(ffmpeg.nodes.FilterNode):
    """A source filter (no inputs), which ffmpeg-python's FilterNode does not allow."""

    def __init__(self, name: str, kwargs: dict[str, Any]):
        ffmpeg.nodes.Node.__init__(
            self,
            None,
            name,
            {ffmpeg.nodes.FilterableStream},
            ffmpeg.nodes.FilterableStream,
            0,
            0,
            [],
            kwargs,
        )


class Inputs:
    """The graph's inputs: pictures as `movie` sources, clips and sound as FFmpeg inputs.

    ffmpeg-python merges identical nodes into one, which would need a split; a file used twice
    is given a second name (a symlink) instead.
    """

    def __init__(self, tmp_dir: Path):
        self._tmp_dir = tmp_dir
        self._seen: set[tuple[str, tuple[tuple[str, Any], ...]]] = set()

    def _name(self, path: Path | str, options: dict[str, Any]) -> str:
        key = (str(path), tuple(sorted(options.items())))
        name = str(path)
        if key in self._seen and options.get("f") != "lavfi":
            link = self._tmp_dir / f"input-{uuid.uuid4().hex[:12]}{Path(name).suffix}"
            os.symlink(os.path.abspath(name), link)
            name = str(link)
        self._seen.add(key)
        return name

    def add(self, path: Path | str, **options: Any) -> Stream:
        """An FFmpeg input: decoded and pushed into the graph as fast as it is taken."""
        return ffmpeg.input(self._name(path, options), **options)

    def picture(self, path: Path) -> Stream:
        """A picture read by the graph itself, only when needed."""
        name = os.path.abspath(self._name(path, {"movie": True}))
        return _SourceNode("movie", {"filename": name}).stream()
