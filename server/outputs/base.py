"""The seam every output store fits: put a job's finished files, answer a download, delete a
job's outputs."""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

DEFAULT_CONTENT_TYPE = "application/octet-stream"
# Subtitles are text in UTF-8, said outright: mimetypes knows .srt as text/plain on some systems
# and not at all on others, and a browser's <track> refuses a .vtt that is not text/vtt.
SUBTITLE_CONTENT_TYPES = {
    ".vtt": "text/vtt; charset=utf-8",
    ".srt": "application/x-subrip; charset=utf-8",
}


class OutputError(Exception):
    """A finished file could not be stored (or a stored one reached); the message names the
    store's problem and never a credential."""


@dataclass(frozen=True, slots=True)
class Download:
    """How to answer a download: stream `path`, or redirect to `url` (short-lived)."""

    path: Path | None = None
    url: str | None = None


class OutputStore(Protocol):
    async def put(self, job_id: str, files: Sequence[Path]) -> None:
        """Store `files` as the job's outputs, each under its own name, in the given order
        (the video last: whoever finds it finds its poster and captions). Raises OutputError."""

    async def download(self, job_id: str, name: str) -> Download | None:
        """The job's output `name`, or None when it is no longer stored."""

    async def delete(self, job_id: str) -> None:
        """Remove every output of the job (none left is not an error). Raises OutputError."""


def content_type(path: Path) -> str:
    subtitle = SUBTITLE_CONTENT_TYPES.get(path.suffix.lower())
    if subtitle is not None:
        return subtitle
    return mimetypes.guess_type(path.name)[0] or DEFAULT_CONTENT_TYPE
