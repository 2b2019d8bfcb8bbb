"""The job model: one state machine for every API, mapped to each client's words only at the edge.

    queued ──▶ processing ──▶ completed
      │  ▲          │  └─────▶ failed
      │  └──────────┘ (worker lost / shutdown: back to the queue)
      └──────────────────────▶ cancelled / failed (expired)

A `Job` is an immutable snapshot: the store hands out copies, and changes go through
`JobService` (the one place that moves a job between states) as `Job.evolve(...)`.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class JobState(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL: frozenset[JobState] = frozenset({JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED})
ACTIVE: frozenset[JobState] = frozenset({JobState.QUEUED, JobState.PROCESSING})

# Every allowed move. processing → queued is a requeue (worker lost, lease expired, shutdown);
# queued → failed is an expiry (queue_ttl_s); terminal → queued is a client's retry.
TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    JobState.QUEUED: frozenset({JobState.PROCESSING, JobState.CANCELLED, JobState.FAILED}),
    JobState.PROCESSING: frozenset(
        {JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED, JobState.QUEUED}
    ),
    JobState.COMPLETED: frozenset({JobState.QUEUED}),
    JobState.FAILED: frozenset({JobState.QUEUED}),
    JobState.CANCELLED: frozenset({JobState.QUEUED}),
}


def can_transition(old: JobState, new: JobState) -> bool:
    return new in TRANSITIONS[old]


class ErrorKind(StrEnum):
    """Why a job did not complete; adapters map these to their contract's words."""

    RENDER = "render"
    ASSET = "asset"
    TIMEOUT = "timeout"
    WORKER_LOST = "worker_lost"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class Api(StrEnum):
    """Which client contract submitted the job (picks the webhook shape and status words)."""

    NODE = "node"
    REELS = "reels"
    NATIVE = "native"
    RUNPOD = "runpod"


class WebhookEvent(StrEnum):
    STARTED = "started"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


def new_job_id() -> str:
    """URL-safe and unguessable: 128 random bits."""
    return secrets.token_urlsafe(16)


@dataclass(frozen=True, slots=True)
class Job:
    """One render request and everything known about it. Times are epoch seconds."""

    id: str
    spec: dict[str, Any]
    api: Api = Api.NATIVE
    state: JobState = JobState.QUEUED
    priority: int = 0  # 0-9, higher first
    created_at: float = field(default_factory=time.time)
    queued_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    expires_at: float | None = None  # a queued job not started by then fails as expired
    attempts: int = 0  # renders started (claims); max_attempts bounds it
    progress: float = 0.0  # 0-100
    frames_done: int = 0
    frames_total: int = 0
    error: str | None = None
    error_kind: ErrorKind | None = None
    # video_url, poster_url, duration_s, width, height, fps, frames, size_bytes, encoder, render_s
    result: dict[str, Any] | None = None
    webhook_url: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    owner: str | None = None  # auth principal id
    idempotency_key: str | None = None
    # Per-job extras an adapter needs later, e.g. Runpod's execution_timeout_s / ttl_s / webhook;
    # lifetime_s bounds queue and render together (the render stops when it runs out).
    options: dict[str, Any] = field(default_factory=dict)
    # Which node holds the render and until when (the lease a heartbeat renews).
    lease_owner: str | None = None
    lease_until: float | None = None

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL

    def evolve(self, **changes: Any) -> Job:
        return dataclasses.replace(self, **changes)

    @property
    def render_s(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return max(0.0, self.finished_at - self.started_at)

    @property
    def wait_s(self) -> float | None:
        """Seconds spent queued before the (latest) start."""
        if self.started_at is None or self.queued_at is None:
            return None
        return max(0.0, self.started_at - self.queued_at)


def option_seconds(options: dict[str, Any], key: str) -> float | None:
    """A job option in seconds (Runpod's `ttl_s`, `execution_timeout_s`, `lifetime_s`), when it
    is a positive number; None otherwise, so the server's default applies."""
    value = options.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None
