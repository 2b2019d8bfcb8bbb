"""What the pool and a render worker say to each other over the worker's pipe.

Every message is a frozen dataclass, pickled by multiprocessing; the pool matches on the type.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from renderer.types import RenderError, RenderResult

# --- pool -> worker -------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderJob:
    job_id: str
    spec: dict[str, Any]
    output_dir: Path
    threads: int


@dataclass(frozen=True)
class CancelJob:
    job_id: str


@dataclass(frozen=True)
class Stop:
    """Finish (cancel) the job in hand, then exit."""


# --- worker -> pool -------------------------------------------------------------------------


@dataclass(frozen=True)
class Ready:
    pid: int
    encoder: str
    ffmpeg: str


@dataclass(frozen=True)
class WarmupFailed:
    message: str


@dataclass(frozen=True)
class Started:
    job_id: str


@dataclass(frozen=True)
class Progress:
    job_id: str
    done: int
    total: int


@dataclass(frozen=True)
class Finished:
    job_id: str
    result: RenderResult


@dataclass(frozen=True)
class Failed:
    job_id: str
    error: RenderError
