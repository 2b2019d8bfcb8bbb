"""The scheduler: fills free render slots from the queue, as admission allows, and reports
each render's end to the service.

One loop claims work: whenever it is woken (a job queued, a render ended, a gate may have
opened) it claims queued jobs — priority, then FIFO, skipping API keys at their concurrency
limit — while the pool has a free slot and the admission gates are open. Each claimed job
renders in its own task under its deadline; the bookkeeping after it is shielded from
cancellation. A heartbeat renews this node's leases and persists progress, and stops renders
that this node no longer holds (cancelled through another node, or requeued after a stall).

Each attempt renders into a directory of its own (`server.attempts`); its end is recorded by
`server.render_end`. While the store is away, claims and beats wait for it.

`drain(grace_s)` is the first phase of shutdown: stop claiming, let renders finish for the
grace period, then stop the rest and put them back in the queue without counting the attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import scenes
from renderer.ffmpeg import find_ffmpeg
from renderer.types import RenderError
from server import attempts
from server.admission import estimate_memory_mb
from server.jobs import Job, option_seconds
from server.logs import EventLog
from server.outage import StoreHealth
from server.render_end import RenderEnd
from server.service import JobService
from server.store.base import StoreUnavailable

if TYPE_CHECKING:
    from renderer.pool import WorkerPool
    from server.admission import Admission
    from server.metrics import Metrics

# A render's lease lasts `[pool] lease_s` without a heartbeat; alone on its store a node
# renews every third of it. Sharing the store, it beats this often while it renders: a cancel
# may come through any node, and the beat is how the node rendering hears of it (one script
# call per node per beat), so the render stops within the 2 s a cancel may take.
SHARED_BEAT_S = 0.5
# Re-judge the admission gates this often while they hold jobs back.
HOLD_RECHECK_S = 0.5
IDLE_RECHECK_S = 2.0


class Scheduler:
    """Implements `server.service.Runner` for the service."""

    def __init__(
        self,
        service: JobService,
        pool: WorkerPool,
        *,
        admission: Admission | None,
        metrics: Metrics,
        health: StoreHealth | None = None,
    ):
        self._service = service
        self._pool = pool
        self._admission = admission
        self._metrics = metrics
        self._wake = asyncio.Event()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._shutdown_ids: set[str] = set()  # renders stopped by drain: requeue, refund attempt
        self._frames: dict[str, int] = {}
        self._holding: str | None = None
        self._draining = False
        self._stopping = False  # a result that cannot be saved now is left to its lease
        self._health = health or StoreHealth()
        self._end = RenderEnd(service, self._health, stopping=lambda: self._stopping)
        self._loop_task: asyncio.Task[None] | None = None
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._pool_start: asyncio.Task[None] | None = None
        self.pool_error: str | None = None  # why the pool could not start, if it could not
        self._log = EventLog()

    # ---- Runner ----------------------------------------------------------------------------
    @property
    def max_concurrent(self) -> int:
        return self._pool.size

    @property
    def holding(self) -> str | None:
        return self._holding

    def workers(self) -> tuple[int, int]:
        running = len(self._tasks)
        return max(0, self._pool.size - running), running

    def rendering(self) -> tuple[str, ...]:
        """The ids of the jobs rendering on this node now."""
        return tuple(self._tasks)

    def wake(self) -> None:
        self._wake.set()

    def stop_render(self, job_id: str) -> bool:
        task = self._tasks.get(job_id)
        if task is None or task.done():
            return False
        task.cancel()
        return True

    # ---- lifecycle -------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        return bool(self._pool.ready) and not self._draining

    @property
    def draining(self) -> bool:
        return self._draining

    async def start(self) -> None:
        """Start the pool (in the background: /readyz says when it is up) and the loops."""
        self._service.attach_runner(self)
        self._pool_start = asyncio.create_task(self._pool.start(), name="pool-start")
        self._loop_task = asyncio.create_task(self._run(), name="scheduler")
        self._heartbeat_task = asyncio.create_task(self._heartbeats(), name="heartbeat")

    async def drain(self, grace_s: float) -> None:
        """Stop claiming; wait up to `grace_s` for renders; requeue what is still running.
        Idempotent: a second call finds nothing left to do."""
        self._draining = True
        self._service.release_waiters()
        self._wake.set()
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        running = list(self._tasks.values())
        if running and grace_s > 0:
            self._log.emit(
                "server.draining",
                f"Waiting up to {grace_s:g}s for {len(running)} render(s) to finish",
                running=len(running),
            )
            await asyncio.wait(running, timeout=grace_s)
        for job_id, task in list(self._tasks.items()):
            self._shutdown_ids.add(job_id)
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def stop(self) -> None:
        self._stopping = True
        await self.drain(0)
        for task in (self._heartbeat_task, self._pool_start):
            if task is not None and not task.done():
                task.cancel()
            if task is not None:
                # Its outcome was reported by the loop (pool_error); here it is only collected.
                await asyncio.gather(task, return_exceptions=True)
        self._heartbeat_task = self._pool_start = None

    # ---- claiming --------------------------------------------------------------------------
    async def _run(self) -> None:
        assert self._pool_start is not None  # start() ran
        try:
            await asyncio.shield(self._pool_start)
        except Exception as exc:
            # Jobs stay queued (durable) and /readyz says why; an operator fixes and restarts.
            self.pool_error = str(exc) or type(exc).__name__
            self._log.error("pool.failed", f"The worker pool failed to start: {self.pool_error}")
            return
        await self._report_encoder()
        while not self._draining:
            self._wake.clear()
            try:
                await self._fill()
            except StoreUnavailable as exc:  # claims resume when the store is back
                self._health.failed(exc, where="scheduler")
            except Exception as exc:  # a store hiccup must not stop scheduling for good
                self._log.error("scheduler.error", f"Scheduling pass failed: {exc!r}")
            wait = HOLD_RECHECK_S if self._holding else IDLE_RECHECK_S
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    async def _report_encoder(self) -> None:
        try:
            info = await asyncio.to_thread(find_ffmpeg, self._service.config.encoder.ffmpeg)
            version = info.version
        except RenderError:
            version = "unknown"
        encoder = self._pool.encoder or "unknown"
        self._metrics.encoder_in_use(encoder, version)
        self._log.emit(
            "pool.ready",
            f"Worker pool ready: {self._pool.size} slot(s), encoder {encoder}, FFmpeg {version}",
            slots=self._pool.size,
            encoder=encoder,
            ffmpeg_version=version,
        )

    async def _fill(self) -> None:
        service = self._service
        while not self._draining and len(self._tasks) < self._pool.size:
            head = await service.store.queued(limit=1)
            if not head:
                self._set_holding(None)
                return
            gate = await self._gate(head[0])
            if gate is not None:
                self._set_holding(gate)
                return
            job = await service.claim_next(
                lease_s=self._lease_s(), per_owner_limit=self._per_owner_limit()
            )
            if job is None:
                self._set_holding("per_key_limit")
                return
            self._set_holding(None)
            self._tasks[job.id] = asyncio.create_task(self._render(job), name=f"render-{job.id}")

    async def _gate(self, head: Job) -> str | None:
        if self._admission is None:
            return None
        admission = self._admission
        try:
            need = _estimate_memory_mb(head.spec, self._service.config.admission.max_duration_s)
        except scenes.SpecError:
            need = 0  # it will fail fast when rendered; no reason to hold it
        # evaluate() samples psutil over our process tree: off the event loop.
        return await asyncio.to_thread(admission.evaluate, need, rendering=len(self._tasks))

    def _per_owner_limit(self) -> int | None:
        # Checked inside the atomic claim, so several nodes together never overshoot it.
        limit = self._service.config.auth.per_key_max_concurrent
        return limit if limit > 0 else None

    def _set_holding(self, holding: str | None) -> None:
        if holding == self._holding:
            return
        self._holding = holding
        self._metrics.admission_state(holding if holding != "per_key_limit" else None)
        if holding is not None:
            self._metrics.job_held(holding)
            self._log.emit(
                "admission.holding", f"Holding queued jobs back: {holding}", gate=holding
            )
        else:
            self._log.emit("admission.open", "Admission open again")

    # ---- rendering -------------------------------------------------------------------------
    async def _render(self, job: Job) -> None:
        service = self._service
        config = service.config
        timeout_s = option_seconds(job.options, "execution_timeout_s") or (
            config.pool.render_timeout_s
        )
        lifetime_s = option_seconds(job.options, "lifetime_s")
        if lifetime_s is not None:
            # The job's whole life (queue and render, from when it was queued) is bounded.
            left_s = (job.queued_at or job.created_at) + lifetime_s - time.time()
            timeout_s = max(0.001, min(timeout_s, left_s))
        job_dir = service.output_dir(job.id)
        own_dir = attempts.attempt_dir(job_dir, job, service.node_id)
        try:
            await asyncio.to_thread(attempts.prepare, own_dir)
            result = await self._pool.render(
                job.id, job.spec, own_dir, self._progress_callback(job.id), timeout_s
            )
        except asyncio.CancelledError:
            if job.id in self._shutdown_ids:
                await asyncio.shield(self._end.shut_down(job))
            # Otherwise the job was cancelled (or lost) already: nothing to record.
            raise
        except Exception as exc:  # every failure is recorded on the job
            await asyncio.shield(self._end.failed(job, exc, timeout_s))
        else:
            await asyncio.shield(self._end.completed(job, result, job_dir))
        finally:
            self._tasks.pop(job.id, None)
            self._frames.pop(job.id, None)
            self._shutdown_ids.discard(job.id)
            self._wake.set()
            await asyncio.shield(asyncio.to_thread(attempts.discard, own_dir))

    def _progress_callback(self, job_id: str) -> Callable[[int, int], None]:
        loop = asyncio.get_running_loop()
        loop_thread = threading.get_ident()

        def on_loop(done: int, total: int) -> None:
            previous = self._frames.get(job_id, 0)
            if done > previous:
                self._metrics.frames_rendered(done - previous)
                self._frames[job_id] = done
            self._service.report_progress(job_id, done, total)

        def progress(done: int, total: int) -> None:
            # The pool may report from a reader thread; state is only touched on the loop.
            if threading.get_ident() == loop_thread:
                on_loop(done, total)
            else:
                loop.call_soon_threadsafe(on_loop, done, total)

        return progress

    # ---- heartbeats ------------------------------------------------------------------------
    def _lease_s(self) -> float:
        return self._service.config.pool.lease_s

    def _beat_s(self) -> float:
        # Alone on its store, a node is the only one that can cancel its renders, and it stops
        # them itself at once; only the lease needs renewing.
        if self._service.store.exclusive:
            return self._lease_s() / 3
        return SHARED_BEAT_S

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self._beat_s())
            try:
                lost = await self._service.heartbeat(self._lease_s())
            except StoreUnavailable as exc:  # the leases are renewed when it is back
                self._health.failed(exc, where="heartbeat")
                continue
            except Exception as exc:  # try again next beat
                self._log.error("heartbeat.error", f"Heartbeat failed: {exc!r}")
                continue
            for job_id in lost:
                if self.stop_render(job_id):
                    self._log.warning(
                        "render.lost", f"Stopped job {job_id}: this node no longer holds it"
                    )


def _estimate_memory_mb(spec: dict[str, Any], max_duration_s: float) -> int:
    return estimate_memory_mb(scenes.parse_spec(spec, max_duration_s=max_duration_s))
