"""The durable job store: the contract every backend (SQLite, Redis) implements.

What a backend guarantees:

- `add` is durable before it returns (an accepted job survives `kill -9`), applies the
  idempotency key (same owner + key → the existing job) and the queue bound atomically.
- The queue order is priority (9 first), then `queued_at`, then insertion order. A requeued
  job keeps its `queued_at`, so it goes back to its old place; a retried one is stamped anew.
- `claim` atomically moves the head of the queue to `processing` under a lease held by one node
  (`lease_owner`, `lease_until`) and counts the attempt; `heartbeat` renews the leases of the
  jobs a node is rendering and tells it which it has lost (cancelled elsewhere, or requeued
  after its lease ran out). A node that dies stops renewing; `expired_leases` finds its jobs.
- `save` is a compare-and-set on the job's state (and optionally its lease owner): two nodes,
  or a cancel racing a completion, cannot both win. Webhook deliveries passed with it are
  written in the same transaction (a transactional outbox), so an event is never sent for a
  change that did not happen, nor lost for one that did.
- The outbox hands out due deliveries one job at a time in event order (a job's `completed`
  never overtakes its `started`), each under a short lease so several nodes can send.

- Times judged by the store: the methods that take `now` accept None for "the store's own
  clock" (Redis `TIME`, so boxes whose clocks disagree still agree on leases; `time.time()` for
  SQLite). Tests pass explicit times.
- Nodes register with `node_heartbeat` and are live for its `ttl_s`; `nodes` lists them.

Only the job service writes jobs (through its state machine, `server.service.machine`);
adapters read through the service too.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from server.jobs import Job, JobState, WebhookEvent


class StoreUnavailable(Exception):
    """The backend cannot be reached (connection refused, reset, timed out, still loading).

    The API answers 503 with `Retry-After`; background loops log it once and try again on
    their next tick."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(f"job store unavailable: {reason}")


class StoreUnsafe(Exception):
    """`open` refused a backend configured to lose accepted jobs; the message is one line
    naming the setting to change."""


class QueueLimitReached(Exception):
    """`add` refused: the queue already holds `max_queued` jobs."""

    def __init__(self, queued: int):
        self.queued = queued
        super().__init__(f"queue is full ({queued} jobs queued)")


@dataclass(frozen=True, slots=True)
class ProgressUpdate:
    progress: float
    frames_done: int
    frames_total: int


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """One POST to make: the body is fixed when the event happens; the signature when sent."""

    job_id: str
    url: str
    event: WebhookEvent
    body: bytes
    id: int | None = None  # assigned by the store
    attempts: int = 0
    next_attempt_at: float = 0.0
    created_at: float = 0.0
    last_error: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)  # extra headers (an adapter's own)


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """One render node as it registers itself; `seen_at` is set by the store, by its clock."""

    id: str
    slots: int
    busy: int
    encoder: str
    gpu: str | None
    version: str
    jobs: tuple[str, ...]
    seen_at: float = 0.0


class JobStore(Protocol):
    """Durable jobs, an ordered queue with leases, and the webhook outbox."""

    # True when this process is the only node on the store (SQLite with its lock file):
    # every job found `processing` at start-up is then an orphan of a previous run.
    exclusive: bool

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    # ---- jobs ------------------------------------------------------------------------------
    async def add(self, job: Job, *, max_queued: int | None = None) -> tuple[Job, bool]:
        """Insert a queued job; `(job, True)`, or `(existing, False)` for a repeated
        idempotency key. Raises `QueueLimitReached` when `max_queued` jobs are queued."""
        ...

    async def get(self, job_id: str) -> Job | None: ...

    async def find_by_idempotency_key(self, owner: str | None, key: str) -> Job | None: ...

    async def list(
        self,
        *,
        state: JobState | None = None,
        owner: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Job]:
        """Newest first. `owner=None` lists every owner's jobs."""
        ...

    async def count(self, *, state: JobState | None = None, owner: str | None = None) -> int: ...

    async def counts(self) -> dict[JobState, int]:
        """Jobs per state (every state present, zero where none)."""
        ...

    async def active_counts(self) -> tuple[int, int]:
        """(queued, processing): what every status answer and log line needs, kept cheap."""
        ...

    async def job_and_queue(self, job_id: str) -> tuple[Job | None, int | None, int, int]:
        """(job, its 1-based queue position or None, queued, processing) in one round trip:
        everything a status poll needs."""
        ...

    async def retried_count(self) -> int:
        """Jobs that needed more than one attempt."""
        ...

    async def queued(self, *, limit: int, offset: int = 0) -> list[Job]:
        """The queue in the order it will be served."""
        ...

    async def position(self, job_id: str) -> int | None:
        """1-based place in the queue; None when the job is not queued."""
        ...

    async def active_by_owner(self) -> dict[str, int]:
        """Processing jobs per owner (for per-key concurrency limits)."""
        ...

    async def claim(
        self,
        node_id: str,
        *,
        lease_s: float,
        now: float | None = None,
        skip_owners: Collection[str] = (),
        per_owner_limit: int | None = None,
    ) -> Job | None:
        """Atomically move the first queued job (not of `skip_owners`, nor of an owner already
        holding `per_owner_limit` processing jobs) to processing under a lease held by
        `node_id`; `attempts` + 1, `started_at` = now. None when none is due."""
        ...

    async def save(
        self,
        job: Job,
        *,
        expect: Collection[JobState],
        expect_lease_owner: str | None = None,
        outbox: Sequence[WebhookDelivery] = (),
    ) -> bool:
        """Write `job` whole if the stored one is in a state of `expect` (and held by
        `expect_lease_owner`, when given), with `outbox` in the same transaction."""
        ...

    async def heartbeat(
        self,
        node_id: str,
        progress: Mapping[str, ProgressUpdate],
        *,
        lease_s: float,
        now: float | None = None,
    ) -> set[str]:
        """Renew the leases of `node_id`'s jobs in `progress` and record their progress.
        Returns the ids among them this node no longer holds."""
        ...

    async def processing(self) -> list[Job]: ...

    async def expired_leases(self, now: float | None = None) -> list[Job]: ...

    async def expired_queued(self, now: float | None = None, *, limit: int) -> list[Job]: ...

    async def finished_before(self, ts: float, *, limit: int) -> list[Job]:
        """Terminal jobs finished before `ts` (retention sweep), oldest first."""
        ...

    async def delete(self, job_ids: Collection[str]) -> int:
        """Remove jobs and their outbox rows."""
        ...

    # ---- webhook outbox --------------------------------------------------------------------
    async def outbox_add(self, deliveries: Sequence[WebhookDelivery]) -> None: ...

    async def outbox_claim(
        self, node_id: str, *, now: float | None = None, limit: int, lease_s: float
    ) -> list[WebhookDelivery]:
        """Due deliveries, at most one per job (its oldest undelivered), leased to `node_id`."""
        ...

    async def outbox_done(self, delivery_id: int) -> None: ...

    async def outbox_retry(
        self,
        delivery_id: int,
        *,
        attempts: int,
        retry_in_s: float,
        error: str,
        now: float | None = None,
    ) -> None:
        """Release a failed delivery, due again `retry_in_s` after `now` (the store's clock,
        like every time the outbox compares)."""
        ...

    async def outbox_give_up(self, delivery_id: int, *, attempts: int, error: str) -> None: ...

    async def outbox_pending(self) -> int: ...

    # ---- node registry ---------------------------------------------------------------------
    async def node_heartbeat(self, node: NodeInfo, *, ttl_s: float) -> None:
        """Register or renew `node`; it stays live for `ttl_s`, judged by the store's clock."""
        ...

    async def nodes(self) -> list[NodeInfo]:
        """The live nodes, sorted by id."""
        ...

    async def node_gone(self, node_id: str) -> None:
        """Unregister a node that shuts down cleanly."""
        ...
