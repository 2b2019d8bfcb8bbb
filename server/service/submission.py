"""What is refused at submit, and why, in the order it is checked:

1. A malformed idempotency key (400).
2. Envelope fields (webhook URL, priority, metadata) and the spec itself, its theme and its
   media sources (no network): every problem named by field, in the client's own field
   names (400, `ValidationFailed`). A repeated idempotency key (same owner) is checked the
   same way, so what the API refuses is refused on a repeat too; a repeat that passes
   returns the job the key first made.
3. A full queue (`[admission] max_queue`): 429 with a Retry-After estimated from how long
   renders take (`QueueFull`).

What passes is stored durably before `submit` returns.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from server.config import Config
from server.errors import QueueFull, ValidationFailed
from server.jobs import Api, Job, new_job_id, option_seconds
from server.service.machine import StateMachine
from server.store.base import JobStore, QueueLimitReached
from server.validation import (
    SpecChecker,
    check_envelope,
    check_idempotency_key,
    with_default_quality,
)

if TYPE_CHECKING:
    from server.metrics import Metrics

# The envelope's field names as errors name them, unless the client calls them otherwise.
FIELD_NAMES = {"webhook_url": "webhook_url", "priority": "priority", "metadata": "metadata"}


@dataclass(frozen=True, slots=True)
class SubmitRequest:
    """A submission as an adapter hands it over (see `JobService.submit`)."""

    spec: dict[str, Any]
    api: Api
    owner: str | None
    webhook_url: str | None = None
    priority: int = 0
    metadata: dict[str, Any] | None = None
    idempotency_key: str | None = None
    options: dict[str, Any] | None = None
    field_names: dict[str, str] | None = None  # e.g. {"webhook_url": "webhookUrl"}


def queue_ttl_s(config: Config, options: dict[str, Any]) -> float:
    """How long a job may wait queued: its own `ttl_s` (Runpod's policy), else the default."""
    return option_seconds(options, "ttl_s") or config.admission.queue_ttl_s


class RenderPace:
    """How long renders take (a moving average), for the Retry-After of a full queue."""

    def __init__(self, avg_render_s: float = 10.0):
        self._avg_render_s = avg_render_s

    def record(self, render_s: float) -> None:
        self._avg_render_s = 0.8 * self._avg_render_s + 0.2 * render_s

    def retry_after_s(self, queued: int, slots: int) -> int:
        # A tenth of the time to drain the queue: by then some room has come free.
        estimate = queued / max(1, slots) * self._avg_render_s
        return int(min(3600, max(1, math.ceil(estimate / 10))))


class Intake:
    """Checks a submission and stores it as a queued job."""

    def __init__(
        self, store: JobStore, machine: StateMachine, *, metrics: Metrics, pace: RenderPace
    ):
        self._store = store
        self._machine = machine
        self._metrics = metrics
        self._pace = pace
        self._spec_checker = SpecChecker()

    async def submit(self, config: Config, request: SubmitRequest) -> Job:
        """The stored job; raises `ValidationFailed` or `QueueFull`."""
        key = request.idempotency_key
        if key is not None and (problems := check_idempotency_key(key)):
            raise ValidationFailed(problems)
        names = FIELD_NAMES | (request.field_names or {})
        errors = check_envelope(
            config, request.webhook_url, request.priority, request.metadata, names
        )
        # The spec check may stat local media files: off the event loop.
        errors += await asyncio.to_thread(self._spec_checker.check, config, request.spec)
        if errors:
            self._metrics.job_refused("invalid")
            raise ValidationFailed(errors)
        if key is not None:
            existing = await self._store.find_by_idempotency_key(request.owner, key)
            if existing is not None:
                return existing
        try:
            stored, _ = await self._machine.add(
                _new_job(config, request), max_queued=config.admission.max_queue
            )
        except QueueLimitReached as exc:
            self._metrics.job_refused("queue_full")
            retry_after_s = self._pace.retry_after_s(exc.queued, self._machine.max_concurrent)
            raise QueueFull(retry_after_s, exc.queued) from None
        return stored


def _new_job(config: Config, request: SubmitRequest) -> Job:
    now = time.time()
    options = request.options or {}
    return Job(
        id=new_job_id(),
        spec=with_default_quality(request.spec, config.encoder.quality),
        api=request.api,
        priority=request.priority,
        created_at=now,
        queued_at=now,
        expires_at=now + queue_ttl_s(config, options),
        webhook_url=request.webhook_url,
        metadata=request.metadata or {},
        owner=request.owner,
        idempotency_key=request.idempotency_key,
        options=options,
    )
