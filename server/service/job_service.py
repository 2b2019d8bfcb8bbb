"""JobService: the surface adapters (`server/api/*`), the scheduler and the sweeper code against.

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

Every change goes through the state machine (`machine`): a compare-and-set in the store with
its webhook deliveries in the same transaction, then — only there — `metrics.job_state_changed`,
one log line, waiters and listeners. The scheduler drives renders through `claim_next`,
`complete`, `fail`, `requeue` and `report_progress` (`renders`); the sweeper through
`expire_queued`, `recover_orphans` and `sweep_retention` (`maintenance`). Submission checks
are in `submission`, client actions in `actions`, progress and waiters in `progress`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from server.config import Config
from server.errors import JobNotFound
from server.jobs import Api, ErrorKind, Job, JobState
from server.outputs import OutputStore, open_store, store_for_job
from server.service.actions import ClientActions
from server.service.events import WebhookEvents
from server.service.machine import Runner, StateMachine
from server.service.maintenance import Maintenance, output_dir
from server.service.progress import ProgressCache, ProgressEvent, Waiters
from server.service.renders import Renders
from server.service.submission import Intake, RenderPace, SubmitRequest
from server.store.base import JobStore, ProgressUpdate, StoreUnavailable
from server.validation import asset_policy
from server.webhooks import WebhookFormatter

if TYPE_CHECKING:
    from renderer.types import AssetPolicy, RenderResult
    from server.metrics import Metrics


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
        self.config = config  # replaced on SIGHUP by `reconfigure`; read at each call
        self.metrics = metrics
        self.node_id = node_id
        self._events = WebhookEvents()
        self._progress = ProgressCache()
        self._waiters = Waiters()
        self._last_counts = (0, 0)  # (queued, processing) as last read, for `queue_info`
        self._machine = StateMachine(
            store,
            metrics=metrics,
            node_id=node_id,
            events=self._events,
            progress=self._progress,
            waiters=self._waiters,
        )
        self._machine.set_outbox_listener(on_outbox)
        pace = RenderPace()
        self._intake = Intake(store, self._machine, metrics=metrics, pace=pace)
        self._actions = ClientActions(store, self._machine, read=self.require)
        self._renders = Renders(
            store, self._machine, node_id=node_id, progress=self._progress, pace=pace
        )
        self._maintenance = Maintenance(store, self._machine, self._renders, node_id=node_id)
        self._outputs: tuple[Any, OutputStore] | None = None

    # ---- wiring ----------------------------------------------------------------------------
    def attach_runner(self, runner: Runner) -> None:
        self._machine.runner = runner

    def set_outbox_listener(self, on_outbox: Callable[[], None]) -> None:
        self._machine.set_outbox_listener(on_outbox)

    def reconfigure(self, config: Config) -> None:
        self.config = config

    def release_waiters(self) -> None:
        """Shutting down: every `wait_terminal` returns the job as it is now (a waiting
        Django request answers 202 with the id instead of holding shutdown up)."""
        self._waiters.release()

    def register_webhook_formatter(self, api: Api, formatter: WebhookFormatter) -> None:
        self._events.register(api, formatter)

    def on_progress(self, callback: Callable[[ProgressEvent], None]) -> Callable[[], None]:
        return self._progress.listeners.add(callback)

    def on_state_change(
        self, callback: Callable[[Job, JobState | None], None]
    ) -> Callable[[], None]:
        return self._machine.listeners.add(callback)

    def output_dir(self, job_id: str) -> Path:
        """Where this node renders the job (and, with `[outputs] backend = "local"`, keeps
        its files)."""
        return output_dir(self.config, job_id)

    @property
    def outputs(self) -> OutputStore:
        """The operator's output store, opened again when a reload changed `[outputs]`."""
        settings = (self.config.outputs, self.config.storage.data_dir)
        if self._outputs is None or self._outputs[0] != settings:
            self._outputs = (settings, open_store(*settings))
        return self._outputs[1]

    def outputs_for(self, job: Job) -> OutputStore:
        """Where `job`'s files go and are served from: its client's bucket when it names one."""
        return store_for_job(job.options, self.outputs, self.config.outputs)

    def asset_policy(self) -> AssetPolicy:
        return asset_policy(self.config)

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
        request = SubmitRequest(
            spec, api, owner, webhook_url, priority, metadata, idempotency_key, options, field_names
        )
        return await self._intake.submit(self.config, request)

    # ---- reads -----------------------------------------------------------------------------
    async def get(self, job_id: str) -> Job | None:
        job = await self.store.get(job_id)
        return self._progress.fresh(job) if job is not None else None

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
        """The queue's figures, and `job`'s place in it. For a job already read or just
        stored, a store gone away since answers the last figures read and no position: an
        accepted submission must not turn into an error (its client would submit again)."""
        position = None
        try:
            if job is not None:
                _, position, queued, active = await self.store.job_and_queue(job.id)
            else:
                queued, active = await self.store.active_counts()
        except StoreUnavailable:
            if job is None:
                raise
            queued, active = self._last_counts
        self._last_counts = (queued, active)
        return self._queue_dict(position, queued, active)

    async def status(self, job_id: str) -> tuple[Job, dict[str, Any]]:
        """The job and `queue_info` for it, read together (one store round trip)."""
        job, position, queued, active = await self.store.job_and_queue(job_id)
        if job is None:
            raise JobNotFound(job_id)
        return self._progress.fresh(job), self._queue_dict(position, queued, active)

    def _queue_dict(self, position: int | None, queued: int, active: int) -> dict[str, Any]:
        info: dict[str, Any] = {}
        if position is not None:
            info["position"] = position
        runner = self._machine.runner
        info.update(
            activeRenders=active,
            maxConcurrent=self.max_concurrent,
            queueLength=queued,
            holding=runner.holding if runner else None,
        )
        return info

    @property
    def max_concurrent(self) -> int:
        return self._machine.max_concurrent

    async def stats(self) -> dict[str, Any]:
        counts = await self.store.counts()
        runner = self._machine.runner
        idle, running = runner.workers() if runner else (0, 0)
        return {
            "counts": {state.value: n for state, n in counts.items()},
            "retried": await self.store.retried_count(),
            "workers": {"idle": idle, "running": running},
        }

    async def wait_terminal(self, job_id: str, timeout_s: float) -> Job:
        return await self._waiters.wait_terminal(job_id, timeout_s, self.require)

    # ---- client actions --------------------------------------------------------------------
    async def cancel(self, job_id: str) -> Job:
        return await self._actions.cancel(job_id)

    async def retry(self, job_id: str) -> Job:
        return await self._actions.retry(self.config, job_id)

    async def purge_queued(self, owner: str | None = None, api: Api | None = None) -> int:
        return await self._actions.purge_queued(owner=owner, api=api)

    # ---- the scheduler's side --------------------------------------------------------------
    async def claim_next(
        self,
        *,
        lease_s: float,
        skip_owners: Collection[str] = (),
        per_owner_limit: int | None = None,
    ) -> Job | None:
        return await self._machine.claim(
            lease_s=lease_s, skip_owners=skip_owners, per_owner_limit=per_owner_limit
        )

    def report_progress(self, job_id: str, frames_done: int, frames_total: int) -> None:
        """From the render's progress callback (on the event loop)."""
        self._progress.report(job_id, frames_done, frames_total)

    def local_progress(self) -> dict[str, ProgressUpdate]:
        return self._progress.snapshot()

    async def complete(self, job: Job, result: RenderResult) -> Job | None:
        return await self._renders.complete(self.config, job, result)

    async def fail(self, job: Job, kind: ErrorKind, message: str) -> Job | None:
        return await self._renders.fail(job, kind, message)

    async def requeue(
        self, job: Job, reason: str, *, count_attempt: bool = True, lease_owner: str | None = None
    ) -> Job | None:
        """Put a render back in its old place in the queue, or fail it when it has used up
        `max_attempts`. `count_attempt=False` (a clean shutdown) gives the attempt back."""
        return await self._renders.requeue(
            self.config, job, reason, count_attempt=count_attempt, lease_owner=lease_owner
        )

    async def heartbeat(self, lease_s: float) -> set[str]:
        """Renew this node's leases and persist progress; returns renders this node lost."""
        return await self._renders.heartbeat(lease_s)

    # ---- the sweeper's side ----------------------------------------------------------------
    async def recover_orphans(self) -> int:
        return await self._maintenance.recover_orphans(self.config)

    async def expire_queued(self) -> int:
        return await self._maintenance.expire_queued()

    async def sweep_retention(self) -> int:
        return await self._maintenance.sweep_retention(self.config, self.outputs_for)


def visible_to(job: Job, owner: str | None) -> bool:
    """Jobs are private to the principal that submitted them (all are visible without auth)."""
    return owner is None or job.owner is None or job.owner == owner
