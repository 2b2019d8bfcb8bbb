"""A pool of long-lived, pre-warmed render worker processes, driven from an asyncio loop.

    pool = WorkerPool(2, RenderOptions(), threads_per_render=1)
    await pool.start()                     # every worker imported and encoder-probed
    result = await pool.render(job_id, spec, out_dir, progress, timeout_s=900)
    await pool.stop()

One render per worker. Each worker leads its own process group, so killing it with `killpg`
takes its FFmpeg children too. The pool reads every worker's pipe with `loop.add_reader`, so
a worker that dies is noticed the moment its pipe reaches EOF; it is replaced by a fresh warm
one and the render it held raises `WorkerLost`.

Workers are spawned from the event loop's thread on purpose: PR_SET_PDEATHSIG fires when the
*thread* that started a child ends, so a worker started from a short-lived executor thread
would die with that thread.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from enum import Enum
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import psutil

from renderer.types import RenderCancelled, RenderError, RenderOptions, RenderResult
from renderer.worker import (
    CancelJob,
    Failed,
    Finished,
    Progress,
    Ready,
    RenderJob,
    Started,
    Stop,
    WarmupFailed,
    WorkerSettings,
    worker_main,
)

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


class WorkerLost(RenderError):
    """The worker died mid-render (kill -9, OOM); the caller re-queues the job by attempts."""


class RenderTimeout(RenderError):
    """The render ran past its timeout; its worker and FFmpeg were killed as one group."""


class PoolClosed(RenderError):
    """The pool is stopping: it takes no more renders, and renders it stopped raise this
    (the job is not at fault; re-queue it without counting an attempt)."""


class PoolStartError(RuntimeError):
    """No worker could be warmed up; the message says why (e.g. no working encoder)."""


class WorkerState(Enum):
    STARTING = "starting"
    IDLE = "idle"
    BUSY = "busy"
    LEAVING = "leaving"  # retired by a shrink: finishing, then exiting; not replaced
    GONE = "gone"


@dataclass
class _Job:
    job_id: str
    progress: Callable[[int, int], None]
    on_started: Callable[[], None] | None
    outcome: asyncio.Future[RenderResult]


@dataclass(eq=False)
class _Worker:
    process: BaseProcess
    conn: Connection
    ready: asyncio.Future[Ready]
    state: WorkerState = WorkerState.STARTING
    job: _Job | None = None
    retiring: bool = False  # leaves the pool after its current job (shrink)
    # Held by the thread writing to the pipe, so a cancelled send cannot interleave with the
    # next one, and the pipe is closed only once no write is in flight.
    write_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def pid(self) -> int:
        return self.process.pid or 0


class WorkerPool:
    """`size` pre-warmed worker processes rendering one job each; see the module docstring."""

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
        self._workers: list[_Worker] = []
        self._waiters: collections.deque[asyncio.Future[_Worker]] = collections.deque()
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
        worker: _Worker | None = None
        try:
            async with asyncio.timeout(timeout_s) as deadline:
                worker = await self._claim_idle()
                loop = asyncio.get_running_loop()
                job = _Job(job_id, progress, on_started, loop.create_future())
                worker.job = job
                try:
                    try:
                        await self._send(worker, RenderJob(job_id, spec, output_dir, self._threads))
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
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(PoolClosed("the render pool is stopping"))
                waiter.exception()
        workers = [w for w in self._workers if w.state is not WorkerState.GONE]
        for worker in workers:
            with contextlib.suppress(OSError):
                await self._send(worker, Stop())
        await asyncio.gather(*(self._wait_exit(w, timeout_s) for w in workers))
        for worker in workers:
            self._end_worker(worker, "the pool stopped", replace=False)
        await asyncio.gather(*(self._collect(w) for w in workers))
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # --- workers ---------------------------------------------------------------------------

    def _members(self) -> list[_Worker]:
        """Workers that count towards the size: starting, idle or busy, and not retiring."""
        counted = (WorkerState.STARTING, WorkerState.IDLE, WorkerState.BUSY)
        return [w for w in self._workers if w.state in counted and not w.retiring]

    def _settings(self) -> WorkerSettings:
        options = self._options
        # Respawns reuse what the first warm worker found instead of probing again.
        if self._encoder and not options.encoder:
            options = dataclasses.replace(options, encoder=self._encoder, ffmpeg=self._ffmpeg)
        return WorkerSettings(options, self._nice, self._max_duration_s, os.getpid())

    async def _start_worker(self) -> _Worker:
        loop = asyncio.get_running_loop()
        parent_conn, child_conn = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=worker_main,
            args=(child_conn, self._settings()),
            name="reelfarm-render-worker",
            daemon=True,
        )
        process.start()
        # Only the child holds its end now, so its death reads as EOF on ours.
        child_conn.close()
        worker = _Worker(process=process, conn=parent_conn, ready=loop.create_future())
        self._workers.append(worker)
        loop.add_reader(parent_conn.fileno(), self._on_readable, worker)
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
            self._make_idle(worker)
        return worker

    def _on_readable(self, worker: _Worker) -> None:
        try:
            for _ in range(MAX_MESSAGES_PER_WAKEUP):
                if worker.state is WorkerState.GONE or not worker.conn.poll():
                    return
                self._handle(worker, worker.conn.recv())
        except (EOFError, OSError):
            self._end_worker(worker, None)

    def _handle(self, worker: _Worker, message: object) -> None:
        job = worker.job
        match message:
            case Ready():
                if not worker.ready.done():
                    worker.ready.set_result(message)
            case WarmupFailed(message=text):
                if not worker.ready.done():
                    worker.ready.set_exception(PoolStartError(text))
            case Started() if job and job.job_id == message.job_id:
                if job.on_started:
                    self._call_back(job.on_started)
            case Progress() if job and job.job_id == message.job_id:
                self._call_back(job.progress, message.done, message.total)
            case Finished() | Failed() if job and job.job_id == message.job_id:
                worker.job = None
                if not job.outcome.done():
                    if isinstance(message, Finished):
                        job.outcome.set_result(message.result)
                    elif self._stopping and isinstance(message.error, RenderCancelled):
                        job.outcome.set_exception(PoolClosed("the render pool stopped"))
                    else:
                        job.outcome.set_exception(message.error)
                if worker.retiring:
                    self._spawn_task(self._retire(worker))
                else:
                    self._make_idle(worker)
            case _:
                # A late message of a job the pool already gave up on.
                log.debug("render worker %s: ignored %s", worker.pid, type(message).__name__)

    @staticmethod
    def _call_back(callback: Callable[..., None], *args: int) -> None:
        try:
            callback(*args)
        except Exception:
            log.exception("render progress callback failed")

    async def _send(self, worker: _Worker, message: object) -> None:
        # A spec may carry megabytes of data: URIs, so the write happens off the loop.
        if worker.state is WorkerState.GONE:
            raise BrokenPipeError(f"render worker {worker.pid} is gone")
        await asyncio.to_thread(_write, worker, message)

    # --- idle workers and waiting renders ---------------------------------------------------

    async def _claim_idle(self) -> _Worker:
        if self._stopping:
            raise PoolClosed("the render pool is stopping")
        if not self._waiters:
            for worker in self._workers:
                if worker.state is WorkerState.IDLE and not worker.retiring:
                    worker.state = WorkerState.BUSY
                    return worker
        waiter: asyncio.Future[_Worker] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            # Handed a worker in the same instant as cancelled: give the worker back.
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._make_idle(waiter.result())
            raise
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)

    def _make_idle(self, worker: _Worker) -> None:
        if worker.state is WorkerState.GONE or worker.state is WorkerState.LEAVING:
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                worker.state = WorkerState.BUSY
                waiter.set_result(worker)
                return
        worker.state = WorkerState.IDLE

    # --- stopping renders and workers -------------------------------------------------------

    async def _stop_render(self, worker: _Worker, job: _Job) -> None:
        """Ask the worker to cancel `job`; kill its process group if it has not answered
        within CANCEL_GRACE_S. Returns once the slot is free or the worker is gone."""
        if not job.outcome.done() and worker.state is not WorkerState.GONE:
            with contextlib.suppress(OSError, TimeoutError):
                async with asyncio.timeout(CANCEL_GRACE_S):
                    await self._send(worker, CancelJob(job.job_id))
                    await asyncio.wait([job.outcome])
            if not job.outcome.done():
                await self._kill_render(worker, job, "it did not stop its render when cancelled")
        if job.outcome.done() and not job.outcome.cancelled():
            job.outcome.exception()  # retrieved: the caller leaves with CancelledError instead

    async def _kill_render(self, worker: _Worker, job: _Job, because: str) -> None:
        if worker.job is not job:
            return  # the render ended meanwhile and the worker may already serve another
        worker.job = None
        job.outcome.cancel()  # nobody waits for it any more
        self._end_worker(worker, because)
        await self._wait_exit(worker, REAP_TIMEOUT_S)

    def _end_worker(self, worker: _Worker, because: str | None, *, replace: bool = True) -> None:
        """Kill `worker` with its process group and, unless told not to, replace it.

        `because` is None when the worker died by itself (its pipe reached EOF)."""
        if worker.state is WorkerState.GONE:
            return
        worker.state = WorkerState.GONE
        with contextlib.suppress(ValueError, OSError):
            asyncio.get_running_loop().remove_reader(worker.conn.fileno())
        _kill_group(worker.process)
        if not worker.ready.done():
            worker.ready.set_exception(PoolStartError(f"render worker {worker.pid} exited"))
            worker.ready.exception()  # marked retrieved: a failed warm-up is reported elsewhere
        job, worker.job = worker.job, None
        if job is not None and not job.outcome.done():
            if self._stopping:
                job.outcome.set_exception(PoolClosed("the render pool stopped"))
            else:
                what = because or "it died"
                job.outcome.set_exception(
                    WorkerLost(f"render worker {worker.pid} was lost mid-render: {what}")
                )
        # Workers that never warmed are retried by _respawn's back-off; retired ones are not
        # replaced at all (the pool shrank).
        was_warm = worker.ready.done() and worker.ready.exception() is None
        replace = replace and was_warm and not worker.retiring
        self._spawn_task(self._after_end(worker, because, replace))

    async def _after_end(self, worker: _Worker, because: str | None, replace: bool) -> None:
        await self._collect(worker)
        if not replace or self._stopping:
            return
        reason = because or _exit_reason(worker.process)
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

    async def _retire(self, worker: _Worker) -> None:
        """Let a worker the pool no longer needs exit (after its job, if it has one)."""
        if worker.state is WorkerState.GONE:
            return
        worker.state = WorkerState.LEAVING
        with contextlib.suppress(OSError):
            await self._send(worker, Stop())
        await self._wait_exit(worker, REAP_TIMEOUT_S * 5)
        self._end_worker(worker, "retired", replace=False)

    async def _wait_exit(self, worker: _Worker, timeout_s: float) -> None:
        """Wait up to `timeout_s` for the worker process to exit (it is reaped if it did)."""
        await asyncio.to_thread(worker.process.join, timeout_s)

    async def _collect(self, worker: _Worker) -> None:
        """Reap an ended worker, close its pipe and forget it."""
        await self._wait_exit(worker, REAP_TIMEOUT_S)
        await asyncio.to_thread(_close, worker)
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


def _write(worker: _Worker, message: object) -> None:
    with worker.write_lock:
        if worker.conn.closed:
            raise BrokenPipeError(f"render worker {worker.pid} is gone")
        worker.conn.send(message)


def _close(worker: _Worker) -> None:
    # Killing the group makes a write in flight fail at once, so this lock is released soon.
    with worker.write_lock:
        worker.conn.close()


def _kill_group(process: BaseProcess) -> None:
    """SIGKILL the worker, its process group and every process below it.

    The renderer starts each FFmpeg in a session of its own (so it can kill FFmpeg's
    children), which puts FFmpeg outside the worker's group: descendants are found by
    parentage while the worker is still alive to be their parent, and killed one by one.
    FFmpeg also carries PR_SET_PDEATHSIG, which covers a worker that died first.
    """
    pid = process.pid
    if pid is None:
        return
    try:
        below = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        below = []
    with contextlib.suppress(ProcessLookupError, PermissionError):
        # Linux keeps a pid allocated while it names a live process group, so this cannot
        # reach a stranger's group.
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, ValueError):
        process.kill()
    for child in below:
        # psutil checks the process is still the one listed, so a reused pid is left alone.
        with contextlib.suppress(psutil.Error):
            child.kill()


def _exit_reason(process: BaseProcess) -> str:
    code = process.exitcode
    if code is None:
        return "stopped answering"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"
