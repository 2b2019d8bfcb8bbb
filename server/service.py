"""JobService: the one place where jobs change state.

Adapters (`server/api/*`) and the scheduler code against this surface:

    submit(spec, *, api, owner, webhook_url=None, priority=0, metadata=None,
           idempotency_key=None, options=None) -> Job
        Validates the spec (scenes.parse_spec), its theme and its media sources (no network),
        the webhook URL and the envelope fields; stores the job durably; wakes the scheduler.
        Raises ValidationFailed(errors) naming each field, or QueueFull(retry_after_s).
        A repeated idempotency key (same owner) returns the existing job.
    get(id) -> Job | None             a local render's progress is overlaid fresh from memory
    require(id) -> Job                get, or JobNotFound
    status(id) -> (Job, queue_info)   both in one store round trip (status polls)
    list(state=None, limit=50, offset=0, owner=None) -> list[Job];  count(state, owner) -> int
    cancel(id) -> Job                 queued: at once; processing: its render stops within 2 s
    retry(id) -> Job                  failed / cancelled -> queued again, at the back
    purge_queued(owner=None, api=None) -> int   cancels every queued job (of one owner / API)
    wait_terminal(id, timeout_s) -> Job    the job when it ended, or as it is at the deadline
    queue_info(job=None) -> dict      {position?, activeRenders, maxConcurrent, queueLength,
                                       holding}
    stats() -> dict                   {counts: {state: n}, retried, workers: {idle, running}}
    register_webhook_formatter(api, formatter)   an adapter's own webhook shape
    on_progress(callback) -> unsubscribe         ProgressEvent for each report of a local render
    on_state_change(callback) -> unsubscribe     (job, old_state) after each committed change

Every change is committed by `_commit`: a compare-and-set in the store with its webhook
deliveries in the same transaction, then — only here — `metrics.job_state_changed`, one log
line, waiters and listeners. The scheduler drives renders through `claim_next`, `complete`,
`fail`, `requeue` and `report_progress`; the sweeper through `expire_queued`,
`recover_orphans` and `sweep_retention`.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import shutil
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from server import joblog
from server.config import Config
from server.errors import Conflict, JobNotFound, QueueFull, ValidationFailed
from server.jobs import (
    TERMINAL,
    Api,
    ErrorKind,
    Job,
    JobState,
    WebhookEvent,
    can_transition,
    new_job_id,
)
from server.logs import EventLog
from server.store.base import JobStore, ProgressUpdate, QueueLimitReached, WebhookDelivery
from server.validation import (
    SpecChecker,
    asset_policy,
    check_envelope,
    check_idempotency_key,
    with_default_quality,
)
from server.webhooks import WebhookFormatter, default_formatter, encode_payload

if TYPE_CHECKING:
    from renderer.types import RenderResult
    from server.metrics import Metrics

# Listed/purged in pages of this size so one call never loads an unbounded queue.
PAGE = 500


class _Watch:
    """Wakes `wait_terminal` callers: the event is set and replaced on every change."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.count = 0


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    job_id: str
    progress: float  # 0-100
    frames_done: int
    frames_total: int


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


class JobService:
    """See the module docstring for the contract."""

    def __init__(
        self,
        store: JobStore,
        config: Config,
        *,
        metrics: Metrics,
        node_id: str,
        on_outbox: Callable[[], None] = lambda: None,
    ):
        self.store = store
        self.config = config  # replaced on SIGHUP by `reconfigure`
        self.metrics = metrics
        self.node_id = node_id
        self._on_outbox = on_outbox
        self._runner: Runner | None = None
        self._formatters: dict[Api, WebhookFormatter] = {}
        self._progress: dict[str, ProgressUpdate] = {}  # this node's renders, fresh
        self._progress_listeners: list[Callable[[ProgressEvent], None]] = []
        self._state_listeners: list[Callable[[Job, JobState | None], None]] = []
        self._waiters: dict[str, _Watch] = {}  # wait_terminal callers, per job
        self._closing = False
        self._avg_render_s = 10.0  # EWMA, for Retry-After estimates
        self._spec_checker = SpecChecker()
        self._log = EventLog()

    # ---- wiring ----------------------------------------------------------------------------
    def attach_runner(self, runner: Runner) -> None:
        self._runner = runner

    def set_outbox_listener(self, on_outbox: Callable[[], None]) -> None:
        self._on_outbox = on_outbox

    def reconfigure(self, config: Config) -> None:
        self.config = config

    def release_waiters(self) -> None:
        """Shutting down: every `wait_terminal` returns the job as it is now (a waiting
        Django request answers 202 with the id instead of holding shutdown up)."""
        self._closing = True
        for watch in list(self._waiters.values()):
            watch.event.set()

    def register_webhook_formatter(self, api: Api, formatter: WebhookFormatter) -> None:
        self._formatters[api] = formatter

    def on_progress(self, callback: Callable[[ProgressEvent], None]) -> Callable[[], None]:
        self._progress_listeners.append(callback)
        return lambda: _discard(self._progress_listeners, callback)

    def on_state_change(
        self, callback: Callable[[Job, JobState | None], None]
    ) -> Callable[[], None]:
        self._state_listeners.append(callback)
        return lambda: _discard(self._state_listeners, callback)

    def output_dir(self, job_id: str) -> Path:
        return self.config.storage.data_dir / "jobs" / job_id

    # ---- submit ----------------------------------------------------------------------------
    async def submit(
        self,
        spec: dict[str, Any],
        *,
        api: Api,
        owner: str | None,
        webhook_url: str | None = None,
        priority: int = 0,
        metadata: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        options: dict[str, Any] | None = None,
        field_names: dict[str, str] | None = None,
    ) -> Job:
        """`field_names` maps envelope fields to the client's own names in errors
        (e.g. {"webhook_url": "webhookUrl"})."""
        names = {"webhook_url": "webhook_url", "priority": "priority", "metadata": "metadata"}
        names.update(field_names or {})
        if idempotency_key is not None:
            if problems := check_idempotency_key(idempotency_key):
                raise ValidationFailed(problems)
            existing = await self.store.find_by_idempotency_key(owner, idempotency_key)
            if existing is not None:
                return existing
        config = self.config
        errors = check_envelope(config, webhook_url, priority, metadata, names)
        errors += await asyncio.to_thread(self._spec_checker.check, config, spec)
        if errors:
            self.metrics.job_refused("invalid")
            raise ValidationFailed(errors)

        now = time.time()
        ttl_s = _positive((options or {}).get("ttl_s")) or self.config.admission.queue_ttl_s
        job = Job(
            id=new_job_id(),
            spec=with_default_quality(spec, self.config.encoder.quality),
            api=api,
            priority=priority,
            created_at=now,
            queued_at=now,
            expires_at=now + ttl_s,
            webhook_url=webhook_url,
            metadata=metadata or {},
            owner=owner,
            idempotency_key=idempotency_key,
            options=options or {},
        )
        try:
            stored, created = await self.store.add(job, max_queued=self.config.admission.max_queue)
        except QueueLimitReached as exc:
            self.metrics.job_refused("queue_full")
            raise QueueFull(self._retry_after_s(exc.queued), exc.queued) from None
        if created:
            self.metrics.job_submitted(api.value)
            await self._after_change(stored, None)
        return stored

    def asset_policy(self) -> Any:
        return asset_policy(self.config)

    def _retry_after_s(self, queued: int) -> int:
        slots = self._runner.max_concurrent if self._runner else 1
        estimate = queued / max(1, slots) * self._avg_render_s
        return int(min(3600, max(1, math.ceil(estimate / 10))))

    # ---- reads -----------------------------------------------------------------------------
    async def get(self, job_id: str) -> Job | None:
        job = await self.store.get(job_id)
        return self._fresh(job) if job is not None else None

    def _fresh(self, job: Job) -> Job:
        """A local render's progress from memory (the store has it as of the last heartbeat)."""
        if job.state is JobState.PROCESSING:
            fresh = self._progress.get(job.id)
            if fresh is not None:
                return job.evolve(
                    progress=fresh.progress,
                    frames_done=fresh.frames_done,
                    frames_total=fresh.frames_total,
                )
        return job

    async def require(self, job_id: str) -> Job:
        job = await self.get(job_id)
        if job is None:
            raise JobNotFound(job_id)
        return job

    async def list(
        self,
        state: JobState | None = None,
        limit: int = 50,
        offset: int = 0,
        owner: str | None = None,
    ) -> list[Job]:
        return await self.store.list(state=state, owner=owner, limit=limit, offset=offset)

    async def count(self, state: JobState | None = None, owner: str | None = None) -> int:
        return await self.store.count(state=state, owner=owner)

    async def queued_jobs(self, limit: int) -> list[Job]:
        return await self.store.queued(limit=limit)

    async def queue_info(self, job: Job | None = None) -> dict[str, Any]:
        if job is not None:
            _, position, queued, active = await self.store.job_and_queue(job.id)
        else:
            position = None
            queued, active = await self.store.active_counts()
        return self._queue_dict(position if job is not None else None, queued, active)

    async def status(self, job_id: str) -> tuple[Job, dict[str, Any]]:
        """The job and `queue_info` for it, read together (one store round trip)."""
        job, position, queued, active = await self.store.job_and_queue(job_id)
        if job is None:
            raise JobNotFound(job_id)
        return self._fresh(job), self._queue_dict(position, queued, active)

    def _queue_dict(self, position: int | None, queued: int, active: int) -> dict[str, Any]:
        info: dict[str, Any] = {}
        if position is not None:
            info["position"] = position
        info.update(
            activeRenders=active,
            maxConcurrent=self.max_concurrent,
            queueLength=queued,
            holding=self._runner.holding if self._runner else None,
        )
        return info

    @property
    def max_concurrent(self) -> int:
        return self._runner.max_concurrent if self._runner else 0

    async def stats(self) -> dict[str, Any]:
        counts = await self.store.counts()
        idle, running = self._runner.workers() if self._runner else (0, 0)
        return {
            "counts": {state.value: n for state, n in counts.items()},
            "retried": await self.store.retried_count(),
            "workers": {"idle": idle, "running": running},
        }

    async def wait_terminal(self, job_id: str, timeout_s: float) -> Job:
        deadline = time.monotonic() + max(0.0, timeout_s)
        watch = self._waiters.setdefault(job_id, _Watch())
        watch.count += 1
        try:
            while True:
                changed = watch.event  # taken before the read, so no change is missed
                job = await self.require(job_id)
                remaining = deadline - time.monotonic()
                if job.terminal or remaining <= 0 or self._closing:
                    return job
                # Changes made by this node set the event; another node's (shared store)
                # are seen by the periodic re-read.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), min(remaining, 2.0))
        finally:
            watch.count -= 1
            if watch.count == 0 and self._waiters.get(job_id) is watch:
                del self._waiters[job_id]

    # ---- client actions --------------------------------------------------------------------
    async def cancel(self, job_id: str) -> Job:
        for _ in range(5):  # a render may start or finish between the read and the write
            job = await self.require(job_id)
            if job.state is JobState.CANCELLED:
                return job
            if job.terminal:
                raise Conflict(f"job {job_id} is already {job.state.value}")
            done = self._finished(
                job, JobState.CANCELLED, ErrorKind.CANCELLED, "cancelled by the client"
            )
            if await self._commit(job, done, event=WebhookEvent.CANCELLED):
                if job.state is JobState.PROCESSING and self._runner is not None:
                    self._runner.stop_render(job_id)
                return done
        raise Conflict(f"job {job_id} is changing state; try again")

    async def retry(self, job_id: str) -> Job:
        job = await self.require(job_id)
        if job.state not in (JobState.FAILED, JobState.CANCELLED):
            raise Conflict(f"only failed or cancelled jobs can be retried; job is {job.state}")
        now = time.time()
        ttl_s = _positive(job.options.get("ttl_s")) or self.config.admission.queue_ttl_s
        again = job.evolve(
            state=JobState.QUEUED,
            queued_at=now,
            expires_at=now + ttl_s,
            started_at=None,
            finished_at=None,
            attempts=0,
            progress=0.0,
            frames_done=0,
            frames_total=0,
            error=None,
            error_kind=None,
            result=None,
            lease_owner=None,
            lease_until=None,
        )
        if not await self._commit(job, again, event=None):
            raise Conflict(f"job {job_id} changed state; try again")
        return again

    async def purge_queued(self, owner: str | None = None, api: Api | None = None) -> int:
        purged = 0
        kept = 0  # queued jobs of other owners or APIs: paged past, so none is missed behind them
        while True:
            page = await self.store.queued(limit=PAGE, offset=kept)
            if not page:
                return purged
            for job in page:
                if owner not in (None, job.owner) or api not in (None, job.api):
                    kept += 1
                    continue
                done = self._finished(
                    job, JobState.CANCELLED, ErrorKind.CANCELLED, "purged from the queue"
                )
                # A job whose commit loses a race has left the queue all the same.
                if await self._commit(job, done, event=WebhookEvent.CANCELLED):
                    purged += 1

    # ---- the scheduler's side --------------------------------------------------------------
    async def claim_next(self, *, lease_s: float, skip_owners: Collection[str] = ()) -> Job | None:
        job = await self.store.claim(
            self.node_id, lease_s=lease_s, now=time.time(), skip_owners=skip_owners
        )
        if job is None:
            return None
        self._progress[job.id] = ProgressUpdate(0.0, 0, job.frames_total)
        deliveries = self._deliveries(job, WebhookEvent.STARTED)
        if deliveries:
            # Not in the claim's transaction: if the node dies right here the job is requeued
            # and the next start sends its own `started`.
            await self.store.outbox_add(deliveries)
            self._on_outbox()
        await self._after_change(job, JobState.QUEUED)
        return job

    def report_progress(self, job_id: str, frames_done: int, frames_total: int) -> None:
        """From the render's progress callback (on the event loop)."""
        if job_id not in self._progress:
            return
        percent = 0.0 if frames_total <= 0 else min(100.0, 100.0 * frames_done / frames_total)
        self._progress[job_id] = ProgressUpdate(round(percent, 1), frames_done, frames_total)
        event = ProgressEvent(job_id, round(percent, 1), frames_done, frames_total)
        for listener in list(self._progress_listeners):
            try:
                listener(event)
            except Exception as exc:  # a listener must not break a render
                self._log.error("progress.listener", f"progress listener failed: {exc!r}")

    def local_progress(self) -> dict[str, ProgressUpdate]:
        return dict(self._progress)

    async def complete(self, job: Job, result: RenderResult) -> Job | None:
        self._progress.pop(job.id, None)
        base = f"{self.config.public_url}/api/jobs/{job.id}"
        done = self._finished(job, JobState.COMPLETED, None, None).evolve(
            progress=100.0,
            frames_done=result.frames,
            frames_total=max(result.frames, job.frames_total),
            result={
                "video_url": f"{base}/video",
                "poster_url": f"{base}/poster",
                "duration_s": result.duration_s,
                "width": result.width,
                "height": result.height,
                "fps": result.fps,
                "frames": result.frames,
                "size_bytes": result.size_bytes,
                "encoder": result.encoder,
                "render_s": result.render_s,
                "video_file": Path(result.video_path).name,
                "poster_file": Path(result.poster_path).name,
            },
        )
        if not await self._commit(
            job, done, event=WebhookEvent.COMPLETED, expect_lease_owner=self.node_id
        ):
            return None
        if done.render_s:
            self._avg_render_s = 0.8 * self._avg_render_s + 0.2 * done.render_s
        return done

    async def fail(self, job: Job, kind: ErrorKind, message: str) -> Job | None:
        self._progress.pop(job.id, None)
        current = await self.store.get(job.id) or job
        failed = self._finished(current, JobState.FAILED, kind, message)
        lease = self.node_id if current.state is JobState.PROCESSING else None
        ok = await self._commit(
            current, failed, event=WebhookEvent.FAILED, expect_lease_owner=lease
        )
        return failed if ok else None

    async def requeue(
        self, job: Job, reason: str, *, count_attempt: bool = True, lease_owner: str | None = None
    ) -> Job | None:
        """Put a render back in its old place in the queue, or fail it when it has used up
        `max_attempts`. `count_attempt=False` (a clean shutdown) gives the attempt back."""
        self._progress.pop(job.id, None)
        current = await self.store.get(job.id)
        if current is None or current.state is not JobState.PROCESSING:
            return None
        owner = lease_owner if lease_owner is not None else self.node_id
        attempts = current.attempts if count_attempt else max(0, current.attempts - 1)
        max_attempts = self.config.pool.max_attempts
        if count_attempt and attempts >= max_attempts:
            failed = self._finished(
                current,
                JobState.FAILED,
                ErrorKind.WORKER_LOST,
                f"{reason}; gave up after {attempts} attempt(s)",
            )
            ok = await self._commit(
                current, failed, event=WebhookEvent.FAILED, expect_lease_owner=owner
            )
            return failed if ok else None
        now = time.time()
        ttl_s = _positive(current.options.get("ttl_s")) or self.config.admission.queue_ttl_s
        again = current.evolve(
            state=JobState.QUEUED,
            attempts=attempts,
            started_at=None,
            expires_at=now + ttl_s,
            progress=0.0,
            frames_done=0,
            lease_owner=None,
            lease_until=None,
            error=reason,  # why it went back; cleared when it completes
        )
        ok = await self._commit(current, again, event=None, expect_lease_owner=owner)
        return again if ok else None

    async def heartbeat(self, lease_s: float) -> set[str]:
        """Renew this node's leases and persist progress; returns renders this node lost."""
        return await self.store.heartbeat(
            self.node_id, self.local_progress(), lease_s=lease_s, now=time.time()
        )

    # ---- the sweeper's side ----------------------------------------------------------------
    async def recover_orphans(self) -> int:
        """Requeue renders whose node is gone: at start-up on an exclusive store, every one;
        otherwise those whose lease has run out."""
        now = time.time()
        if self.store.exclusive:
            orphans = [j for j in await self.store.processing() if j.lease_owner != self.node_id]
        else:
            orphans = await self.store.expired_leases(now)
        recovered = 0
        for job in orphans:
            if await self.requeue(
                job, "the render was interrupted", lease_owner=job.lease_owner or ""
            ):
                recovered += 1
        return recovered

    async def expire_queued(self) -> int:
        expired = 0
        for job in await self.store.expired_queued(time.time(), limit=PAGE):
            failed = self._finished(
                job, JobState.FAILED, ErrorKind.EXPIRED, "expired in the queue before it started"
            )
            if await self._commit(job, failed, event=WebhookEvent.FAILED):
                expired += 1
        return expired

    async def sweep_retention(self) -> int:
        """Delete jobs (records and files) finished more than `retention_h` ago."""
        cutoff = time.time() - self.config.storage.retention_h * 3600
        swept = 0
        while True:
            old = await self.store.finished_before(cutoff, limit=PAGE)
            if not old:
                return swept
            for job in old:
                await asyncio.to_thread(shutil.rmtree, self.output_dir(job.id), True)
            swept += await self.store.delete([j.id for j in old])

    # ---- the one place a state changes -----------------------------------------------------
    @staticmethod
    def _finished(job: Job, state: JobState, kind: ErrorKind | None, error: str | None) -> Job:
        return job.evolve(
            state=state,
            finished_at=time.time(),
            error=error,
            error_kind=kind,
            lease_owner=None,
            lease_until=None,
        )

    async def _commit(
        self,
        old: Job,
        new: Job,
        *,
        event: WebhookEvent | None,
        expect_lease_owner: str | None = None,
    ) -> bool:
        if not can_transition(old.state, new.state):
            raise RuntimeError(f"job {old.id}: {old.state} → {new.state} is not a transition")
        deliveries = self._deliveries(new, event) if event is not None else []
        saved = await self.store.save(
            new,
            expect=(old.state,),
            expect_lease_owner=expect_lease_owner or None,
            outbox=deliveries,
        )
        if not saved:
            return False
        if deliveries:
            self._on_outbox()
        await self._after_change(new, old.state)
        return True

    def _deliveries(self, job: Job, event: WebhookEvent) -> list[WebhookDelivery]:
        formatter = self._formatters.get(job.api, default_formatter)
        try:
            message = formatter(job, event)
        except Exception as exc:  # a formatter bug must not block a state change
            self._log.error("webhook.format", f"webhook formatter for {job.api} failed: {exc!r}")
            return []
        if message is None:
            return []
        now = time.time()
        return [
            WebhookDelivery(
                job_id=job.id,
                url=message.url,
                event=event,
                body=encode_payload(message.payload),
                headers=message.headers,
                next_attempt_at=now,
                created_at=now,
            )
        ]

    async def _after_change(self, job: Job, old: JobState | None) -> None:
        self.metrics.job_state_changed(job, old, job.state)
        queued, active = await self.store.active_counts()
        self.metrics.queue_state(queued=queued, active=active, max_concurrent=self.max_concurrent)
        self._log_change(job, old, queued, active)
        if job.state in TERMINAL:
            self._progress.pop(job.id, None)
        watch = self._waiters.get(job.id)
        if watch is not None:
            watch.event.set()
            watch.event = asyncio.Event()
        for listener in list(self._state_listeners):
            try:
                listener(job, old)
            except Exception as exc:  # a listener must not break the machine
                self._log.error("state.listener", f"state listener failed: {exc!r}")
        if self._runner is not None and (
            job.state is JobState.QUEUED or old is JobState.PROCESSING
        ):
            self._runner.wake()

    def _log_change(self, job: Job, old: JobState | None, queued: int, active: int) -> None:
        event, text, fields = joblog.describe(
            job, old, queued=queued, active=active, max_concurrent=self.max_concurrent
        )
        self._log.emit(event, text, **fields)


def _positive(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None


def _discard(items: list[Any], item: Any) -> None:
    with contextlib.suppress(ValueError):
        items.remove(item)


def visible_to(job: Job, owner: str | None) -> bool:
    """Jobs are private to the principal that submitted them (all are visible without auth)."""
    return owner is None or job.owner is None or job.owner == owner
