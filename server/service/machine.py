"""The job state machine's commit path: the one place where a job changes state.

A change comes in through one of three doors: `add` (a submission), `claim` (a render starts)
or `commit` (every other move: a compare-and-set on the old state, with the change's webhook
deliveries in the same transaction, so an event is never sent for a change that did not
happen). All three end in `_announce`, the only caller of `metrics.job_state_changed`, which
also writes the one log line, wakes waiters and listeners, and nudges the scheduler.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Protocol

from server import joblog
from server.jobs import TERMINAL, ErrorKind, Job, JobState, WebhookEvent, can_transition
from server.logs import EventLog
from server.service.events import WebhookEvents
from server.service.listeners import Listeners
from server.service.progress import ProgressCache, Waiters
from server.store.base import JobStore, StoreUnavailable

if TYPE_CHECKING:
    from server.metrics import Metrics


class Runner(Protocol):
    """What the service needs from the scheduler (set with `attach_runner`)."""

    @property
    def max_concurrent(self) -> int: ...

    @property
    def holding(self) -> str | None: ...

    def workers(self) -> tuple[int, int]:
        """(idle, running) render slots of this node."""
        ...

    def wake(self) -> None: ...

    def stop_render(self, job_id: str) -> bool:
        """Cancel this node's render of `job_id`; False when it is not rendering here."""
        ...


def finished(job: Job, state: JobState, kind: ErrorKind | None, error: str | None) -> Job:
    """`job` ended now in `state` (its lease released)."""
    return job.evolve(
        state=state,
        finished_at=time.time(),
        error=error,
        error_kind=kind,
        lease_owner=None,
        lease_until=None,
    )


class StateMachine:
    """Writes every state change to the store, then tells everyone who needs to know."""

    def __init__(
        self,
        store: JobStore,
        *,
        metrics: Metrics,
        node_id: str,
        events: WebhookEvents,
        progress: ProgressCache,
        waiters: Waiters,
    ):
        self._store = store
        self._metrics = metrics
        self._node_id = node_id
        self._events = events
        self._progress = progress
        self._waiters = waiters
        self._on_outbox: Callable[[], None] = lambda: None
        self.listeners: Listeners[[Job, JobState | None]] = Listeners("state")
        self.runner: Runner | None = None
        self._log = EventLog()
        self._last_counts = (0, 0)  # (queued, processing) as last read

    def set_outbox_listener(self, on_outbox: Callable[[], None]) -> None:
        """Called after each change that wrote deliveries (wakes the webhook sender)."""
        self._on_outbox = on_outbox

    @property
    def max_concurrent(self) -> int:
        return self.runner.max_concurrent if self.runner else 0

    async def add(self, job: Job, *, max_queued: int) -> tuple[Job, bool]:
        """Store a submitted job: `(job, True)`, or `(existing, False)` for a repeated
        idempotency key. Raises `QueueLimitReached` from the store."""
        stored, created = await self._store.add(job, max_queued=max_queued)
        if created:
            self._metrics.job_submitted(job.api.value)
            await self._announce(stored, None)
        return stored, created

    async def claim(
        self,
        *,
        lease_s: float,
        skip_owners: Collection[str] = (),
        per_owner_limit: int | None = None,
    ) -> Job | None:
        """Start the head of the queue on this node, under a lease judged by the store's clock
        (several nodes must agree on it), with the per-owner limit checked inside the claim."""
        job = await self._store.claim(
            self._node_id,
            lease_s=lease_s,
            skip_owners=skip_owners,
            per_owner_limit=per_owner_limit,
        )
        if job is None:
            return None
        self._progress.start(job)
        deliveries = self._events.deliveries(job, WebhookEvent.STARTED)
        if deliveries:
            # Not in the claim's transaction: if the node dies right here the job is requeued
            # and the next start sends its own `started`.
            await self._store.outbox_add(deliveries)
            self._on_outbox()
        await self._announce(job, JobState.QUEUED)
        return job

    async def commit(
        self,
        old: Job,
        new: Job,
        *,
        event: WebhookEvent | None,
        expect_lease_owner: str | None = None,
    ) -> bool:
        """Save `new` if the stored job is still in `old`'s state (and held by
        `expect_lease_owner`, when given); False when another change won the race."""
        if not can_transition(old.state, new.state):
            raise RuntimeError(f"job {old.id}: {old.state} → {new.state} is not a transition")
        deliveries = self._events.deliveries(new, event) if event is not None else []
        saved = await self._store.save(
            new,
            expect=(old.state,),
            expect_lease_owner=expect_lease_owner or None,
            outbox=deliveries,
        )
        if not saved:
            return False
        if deliveries:
            self._on_outbox()
        await self._announce(new, old.state)
        return True

    async def _announce(self, job: Job, old: JobState | None) -> None:
        self._metrics.job_state_changed(job, old, job.state)
        try:
            queued, active = self._last_counts = await self._store.active_counts()
        except StoreUnavailable:
            # The change is stored; the store went away since. Its waiters and listeners are
            # told all the same, the figures are the last ones read.
            queued, active = self._last_counts
        max_concurrent = self.max_concurrent
        self._metrics.queue_state(queued=queued, active=active, max_concurrent=max_concurrent)
        event, text, fields = joblog.describe(
            job, old, queued=queued, active=active, max_concurrent=max_concurrent
        )
        self._log.emit(event, text, **fields)
        if job.state in TERMINAL:
            self._progress.drop(job.id)
        self._waiters.wake(job.id)
        self.listeners.notify(job, old)
        # A job joined the queue, or a render slot came free: the scheduler looks again.
        if self.runner is not None and (job.state is JobState.QUEUED or old is JobState.PROCESSING):
            self.runner.wake()
