"""`WorkerPool`: a fixed number of warm render workers, kept alive and handed renders.

The pool reads every worker's pipe with `loop.add_reader`, so a worker that dies is noticed
the moment its pipe reaches EOF; it is replaced by a fresh warm one and the render it held
raises `WorkerLost`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import multiprocessing
import os
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from renderer.messages import CancelJob, RenderJob, Stop
from renderer.pool.errors import PoolClosed, PoolStartError, RenderTimeout
from renderer.pool.handle import Job, WorkerHandle, WorkerState
from renderer.pool.slots import Slots
from renderer.types import RenderOptions, RenderResult
from renderer.worker import WorkerSettings

log = logging.getLogger("reelfarm.pool")

# A worker must be warm (imports, FFmpeg found, trial encode) within this long.
WARMUP_TIMEOUT_S = 120.0
# After a cancel request, a worker that has not answered within this long is killed, so a
# cancelled render always stops within CANCEL_GRACE_S + REAP_TIMEOUT_S.
CANCEL_GRACE_S = 1.0
REAP_TIMEOUT_S = 1.0
# Messages handled per wake-up of one pipe, so a chatty worker cannot starve the loop.
MAX_MESSAGES_PER_WAKEUP = 64
# Respawns after consecutive failures wait 0.5 s, 1 s, 2 s … up to this.
MAX_RESPAWN_BACKOFF_S = 30.0


class WorkerPool:
    """`size` pre-warmed worker processes rendering one job each; see the package docstring."""

    def __init__(
        self,
        size: int,
        options: RenderOptions,
        *,
        threads_per_render: int,
        nice: int = 10,
        max_duration_s: float = 300.0,
        on_worker_restart: Callable[[str], None] | None = None,
    ) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self._size = size
        self._options = options
        self._threads = max(1, threads_per_render)
        self._nice = nice
        self._max_duration_s = max_duration_s
        self._on_worker_restart = on_worker_restart
        self._context = multiprocessing.get_context("spawn")
        self._workers: list[WorkerHandle] = []
        self._slots = Slots()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._started = False
        self._stopping = False
        self._encoder: str | None = None
        self._ffmpeg: str | None = None
        self._respawn_failures = 0
        self._respawns_pending = 0  # respawns still in their back-off wait

    # --- the public surface -----------------------------------------------------------------

    @property
    def size(self) -> int:
        return self._size

    @property
    def busy(self) -> int:
        return sum(1 for w in self._workers if w.state is WorkerState.BUSY)

    @property
    def idle(self) -> int:
        return sum(1 for w in self._workers if w.state is WorkerState.IDLE and not w.retiring)

    @property
    def ready(self) -> bool:
        """True once started (and not stopping) with at least one warm worker alive."""
        warm = (WorkerState.IDLE, WorkerState.BUSY)
        return self._started and not self._stopping and any(w.state in warm for w in self._workers)

    @property
    def encoder(self) -> str | None:
        """The encoder the warm workers found by trial encode."""
        return self._encoder

    @property
    def worker_pids(self) -> tuple[int, ...]:
        """Process ids of the live workers (each also its process group id)."""
        return tuple(w.pid for w in self._workers if w.state is not WorkerState.GONE)

    async def start(self) -> None:
        """Spawn `size` workers and wait until each is warm.

        Raises PoolStartError if none warms up; workers that fail while others succeed are
        retried in the background.
        """
        if self._started:
            return
        self._started = True
        results = await asyncio.gather(
            *(self._start_worker() for _ in range(self._size)), return_exceptions=True
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        if len(failures) == len(results):
            await self.stop()
            raise PoolStartError(str(failures[0])) from failures[0]
        for failure in failures:
            log.warning("render worker failed to start: %s", failure)
        self._fill()

    async def render(
        self,
        job_id: str,
        spec: dict[str, Any],
        output_dir: Path,
        progress: Callable[[int, int], None],
        timeout_s: float,
        *,
        on_started: Callable[[], None] | None = None,
    ) -> RenderResult:
        """Render `spec` on an idle worker; the whole call is bounded by `timeout_s`.

        `progress(done, total)` and `on_started()` run in the event loop's thread. Cancelling
        this coroutine stops the render within about 2 s (the worker is asked first, then its
        process group is killed and replaced) before CancelledError propagates. Raises the
        renderer's RenderError/AssetError unchanged, WorkerLost, RenderTimeout or PoolClosed.
        """
        worker: WorkerHandle | None = None
        try:
            async with asyncio.timeout(timeout_s) as deadline:
                worker = await self._claim_idle()
                loop = asyncio.get_running_loop()
                job = Job(job_id, progress, on_started, loop.create_future())
                worker.job = job
                try:
                    try:
                        await worker.send(RenderJob(job_id, spec, output_dir, self._threads))
                    except OSError:
                        self._end_worker(worker, "its pipe broke")  # the job gets WorkerLost
                    return await asyncio.shield(job.outcome)
                except asyncio.CancelledError:
                    # Stop the render before letting the cancellation through; shielded so a
                    # second cancel cannot leave the worker half-stopped. A timeout kills at
                    # once: a render that overran is not trusted to wind down by itself.
                    if deadline.expired():
                        stopping = self._kill_render(worker, job, "its render timed out")
                    else:
                        stopping = self._stop_render(worker, job)
                    await asyncio.shield(stopping)
                    raise
        except TimeoutError:
            if worker is None:
                raise RenderTimeout(f"no render worker was free within {timeout_s:g}s") from None
            raise RenderTimeout(f"render took longer than {timeout_s:g}s") from None

    async def resize(self, size: int, *, threads_per_render: int | None = None) -> None:
        """Grow now (waits for the new workers to warm); shrink by retiring idle workers at
        once and busy ones after their job. New thread counts apply from the next job."""
        if size < 1:
            raise ValueError("size must be at least 1")
        self._size = size
        if threads_per_render is not None:
            self._threads = max(1, threads_per_render)
        if self._stopping or not self._started:
            return
        members = self._members()
        excess = len(members) - size
        if excess > 0:
            # Idle (and still-starting) workers leave first, busy ones after their job.
            members.sort(key=lambda w: w.state is WorkerState.BUSY)
            leaving = members[:excess]
            for worker in leaving:
                worker.retiring = True
            await asyncio.gather(
                *(self._retire(w) for w in leaving if w.state is not WorkerState.BUSY)
            )
        missing = size - len(self._members()) - self._respawns_pending
        if missing > 0:
            results = await asyncio.gather(
                *(self._start_worker() for _ in range(missing)), return_exceptions=True
            )
            for failure in (r for r in results if isinstance(r, BaseException)):
                log.warning("render worker failed to start: %s", failure)
            self._fill()

    async def stop(self, timeout_s: float = 10.0) -> None:
        """Stop every worker; kill what is left after `timeout_s`. Idempotent.

        A render still running is cancelled and its caller gets PoolClosed."""
        if self._stopping:
            return
        self._stopping = True
        for task in list(self._tasks):
            task.cancel()
        self._slots.close(lambda: PoolClosed("the render pool is stopping"))
        workers = [w for w in self._workers if w.state is not WorkerState.GONE]
        for worker in workers:
            with contextlib.suppress(OSError):
                await worker.send(Stop())
        await asyncio.gather(*(w.wait_exit(timeout_s) for w in workers))
        for worker in workers:
            self._end_worker(worker, "the pool stopped", replace=False)
        await asyncio.gather(*(self._collect(w) for w in workers))
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # --- workers ---------------------------------------------------------------------------

    def _members(self) -> list[WorkerHandle]:
        """Workers that count towards the size: starting, idle or busy, and not retiring."""
        counted = (WorkerState.STARTING, WorkerState.IDLE, WorkerState.BUSY)
        return [w for w in self._workers if w.state in counted and not w.retiring]

    def _settings(self) -> WorkerSettings:
        options = self._options
        # Respawns reuse what the first warm worker found instead of probing again.
        if self._encoder and not options.encoder:
            options = dataclasses.replace(options, encoder=self._encoder, ffmpeg=self._ffmpeg)
        return WorkerSettings(options, self._nice, self._max_duration_s, os.getpid())

    async def _start_worker(self) -> WorkerHandle:
        worker = WorkerHandle.spawn(self._context, self._settings(), self._on_readable)
        self._workers.append(worker)
        try:
            async with asyncio.timeout(WARMUP_TIMEOUT_S):
                ready = await asyncio.shield(worker.ready)
        except GeneratorExit:
            # Closed by a loop that is shutting down without stop(): no loop left to clean up
            # with; multiprocessing's exit handler ends daemonic workers.
            raise
        except BaseException as exc:
            self._end_worker(worker, "it failed to warm up", replace=False)
            await asyncio.shield(self._collect(worker))
            if isinstance(exc, TimeoutError):
                raise PoolStartError(
                    f"render worker not warm after {WARMUP_TIMEOUT_S:g}s"
                ) from None
            raise
        self._encoder = self._encoder or ready.encoder
        self._ffmpeg = self._ffmpeg or ready.ffmpeg
        if worker.retiring:
            await self._retire(worker)
        elif worker.state is WorkerState.STARTING and not self._stopping:
            self._slots.release(worker)
        return worker

    def _on_readable(self, worker: WorkerHandle) -> None:
        try:
            for _ in range(MAX_MESSAGES_PER_WAKEUP):
                if worker.state is WorkerState.GONE or not worker.conn.poll():
                    return
                if not worker.receive(worker.conn.recv(), stopping=self._stopping):
                    continue
                if worker.retiring:
                    self._spawn_task(self._retire(worker))
                else:
                    self._slots.release(worker)
        except (EOFError, OSError):
            self._end_worker(worker, None)

    async def _claim_idle(self) -> WorkerHandle:
        if self._stopping:
            raise PoolClosed("the render pool is stopping")
        return await self._slots.claim(self._workers)

    # --- stopping renders and workers -------------------------------------------------------

    async def _stop_render(self, worker: WorkerHandle, job: Job) -> None:
        """Ask the worker to cancel `job`; kill its process group if it has not answered
        within CANCEL_GRACE_S. Returns once the slot is free or the worker is gone."""
        if not job.outcome.done() and worker.state is not WorkerState.GONE:
            with contextlib.suppress(OSError, TimeoutError):
                async with asyncio.timeout(CANCEL_GRACE_S):
                    await worker.send(CancelJob(job.job_id))
                    await asyncio.wait([job.outcome])
            if not job.outcome.done():
                await self._kill_render(worker, job, "it did not stop its render when cancelled")
        if job.outcome.done() and not job.outcome.cancelled():
            job.outcome.exception()  # retrieved: the caller leaves with CancelledError instead

    async def _kill_render(self, worker: WorkerHandle, job: Job, because: str) -> None:
        if worker.job is not job:
            return  # the render ended meanwhile and the worker may already serve another
        worker.job = None
        job.outcome.cancel()  # nobody waits for it any more
        self._end_worker(worker, because)
        await worker.wait_exit(REAP_TIMEOUT_S)

    def _end_worker(
        self, worker: WorkerHandle, because: str | None, *, replace: bool = True
    ) -> None:
        """Kill `worker` with its process group and, unless told not to, replace it.

        `because` is None when the worker died by itself (its pipe reached EOF)."""
        if worker.state is WorkerState.GONE:
            return
        worker.end(because, stopping=self._stopping)
        # Workers that never warmed are retried by _respawn's back-off; retired ones are not
        # replaced at all (the pool shrank).
        replace = replace and worker.was_warm and not worker.retiring
        self._spawn_task(self._after_end(worker, because, replace))

    async def _after_end(self, worker: WorkerHandle, because: str | None, replace: bool) -> None:
        await self._collect(worker)
        if not replace or self._stopping:
            return
        reason = because or worker.exit_reason()
        log.warning("render worker %s replaced: %s", worker.pid, reason)
        if self._on_worker_restart is not None:
            try:
                self._on_worker_restart(f"render worker {worker.pid}: {reason}")
            except Exception:
                log.exception("on_worker_restart callback failed")
        self._fill()

    def _fill(self) -> None:
        """Start workers until the pool is back at its size (respawns back off on failure)."""
        if self._stopping or not self._started:
            return
        for _ in range(self._size - len(self._members()) - self._respawns_pending):
            self._respawns_pending += 1
            self._spawn_task(self._respawn())

    async def _respawn(self) -> None:
        try:
            if self._respawn_failures:
                delay = min(MAX_RESPAWN_BACKOFF_S, 0.5 * 2 ** (self._respawn_failures - 1))
                await asyncio.sleep(delay)
        finally:
            self._respawns_pending -= 1
        try:
            await self._start_worker()
        except PoolStartError as exc:
            self._respawn_failures += 1
            log.warning("render worker failed to start: %s", exc)
            self._fill()
            return
        self._respawn_failures = 0

    async def _retire(self, worker: WorkerHandle) -> None:
        """Let a worker the pool no longer needs exit (after its job, if it has one)."""
        if worker.state is WorkerState.GONE:
            return
        worker.state = WorkerState.LEAVING
        with contextlib.suppress(OSError):
            await worker.send(Stop())
        await worker.wait_exit(REAP_TIMEOUT_S * 5)
        self._end_worker(worker, "retired", replace=False)

    async def _collect(self, worker: WorkerHandle) -> None:
        """Reap an ended worker, close its pipe and forget it."""
        await worker.wait_exit(REAP_TIMEOUT_S)
        await worker.close()
        with contextlib.suppress(ValueError):
            self._workers.remove(worker)

    def _spawn_task(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("render pool task failed", exc_info=task.exception())
