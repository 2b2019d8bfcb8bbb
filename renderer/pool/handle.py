"""One pooled worker process as the pool sees it: its process, its pipe, its state, its job.

Each worker leads its own process group, so killing it with `killpg` takes its FFmpeg
children too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnContext
from multiprocessing.process import BaseProcess

import psutil

from renderer.messages import Failed, Finished, Progress, Ready, Started, WarmupFailed
from renderer.pool.errors import PoolClosed, PoolStartError, WorkerLost
from renderer.types import RenderCancelled, RenderResult
from renderer.worker import WorkerSettings, worker_main

log = logging.getLogger("reelfarm.pool")


class WorkerState(Enum):
    STARTING = "starting"
    IDLE = "idle"
    BUSY = "busy"
    LEAVING = "leaving"  # retired by a shrink: finishing, then exiting; not replaced
    GONE = "gone"


@dataclass
class Job:
    job_id: str
    progress: Callable[[int, int], None]
    on_started: Callable[[], None] | None
    outcome: asyncio.Future[RenderResult]


@dataclass(eq=False)
class WorkerHandle:
    process: BaseProcess
    conn: Connection
    ready: asyncio.Future[Ready]
    state: WorkerState = WorkerState.STARTING
    job: Job | None = None
    retiring: bool = False  # leaves the pool after its current job (shrink)
    # Held by the thread writing to the pipe, so a cancelled send cannot interleave with the
    # next one, and the pipe is closed only once no write is in flight.
    write_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def spawn(
        cls,
        context: SpawnContext,
        settings: WorkerSettings,
        on_readable: Callable[[WorkerHandle], None],
    ) -> WorkerHandle:
        """Start a worker process; `on_readable(handle)` runs whenever its pipe has data.

        Called from the event loop's thread on purpose: PR_SET_PDEATHSIG fires when the
        *thread* that started a child ends, so a worker started from a short-lived executor
        thread would die with that thread."""
        loop = asyncio.get_running_loop()
        parent_conn, child_conn = context.Pipe(duplex=True)
        process = context.Process(
            target=worker_main,
            args=(child_conn, settings),
            name="reelfarm-render-worker",
            daemon=True,
        )
        process.start()
        # Only the child holds its end now, so its death reads as EOF on ours.
        child_conn.close()
        worker = cls(process=process, conn=parent_conn, ready=loop.create_future())
        loop.add_reader(parent_conn.fileno(), on_readable, worker)
        return worker

    @property
    def pid(self) -> int:
        return self.process.pid or 0

    @property
    def was_warm(self) -> bool:
        return self.ready.done() and self.ready.exception() is None

    def receive(self, message: object, *, stopping: bool) -> bool:
        """Apply one message from the worker; True when it ended the job (the slot is free)."""
        job = self.job
        match message:
            case Ready():
                if not self.ready.done():
                    self.ready.set_result(message)
            case WarmupFailed(message=text):
                if not self.ready.done():
                    self.ready.set_exception(PoolStartError(text))
            case Started() if job and job.job_id == message.job_id:
                if job.on_started:
                    _call_back(job.on_started)
            case Progress() if job and job.job_id == message.job_id:
                _call_back(job.progress, message.done, message.total)
            case Finished() | Failed() if job and job.job_id == message.job_id:
                self.job = None
                if not job.outcome.done():
                    if isinstance(message, Finished):
                        job.outcome.set_result(message.result)
                    elif stopping and isinstance(message.error, RenderCancelled):
                        job.outcome.set_exception(PoolClosed("the render pool stopped"))
                    else:
                        job.outcome.set_exception(message.error)
                return True
            case _:
                # A late message of a job the pool already gave up on.
                log.debug("render worker %s: ignored %s", self.pid, type(message).__name__)
        return False

    def end(self, because: str | None, *, stopping: bool) -> None:
        """Kill the worker with its process group; fail its warm-up and its job.

        `because` is None when the worker died by itself (its pipe reached EOF)."""
        self.state = WorkerState.GONE
        with contextlib.suppress(ValueError, OSError):
            asyncio.get_running_loop().remove_reader(self.conn.fileno())
        _kill_group(self.process)
        if not self.ready.done():
            self.ready.set_exception(PoolStartError(f"render worker {self.pid} exited"))
            self.ready.exception()  # marked retrieved: a failed warm-up is reported elsewhere
        job, self.job = self.job, None
        if job is not None and not job.outcome.done():
            if stopping:
                job.outcome.set_exception(PoolClosed("the render pool stopped"))
            else:
                what = because or "it died"
                job.outcome.set_exception(
                    WorkerLost(f"render worker {self.pid} was lost mid-render: {what}")
                )

    async def send(self, message: object) -> None:
        # A spec may carry megabytes of data: URIs, so the write happens off the loop.
        if self.state is WorkerState.GONE:
            raise BrokenPipeError(f"render worker {self.pid} is gone")
        await asyncio.to_thread(self._write, message)

    async def wait_exit(self, timeout_s: float) -> None:
        """Wait up to `timeout_s` for the worker process to exit (it is reaped if it did)."""
        await asyncio.to_thread(self.process.join, timeout_s)

    async def close(self) -> None:
        await asyncio.to_thread(self._close)

    def exit_reason(self) -> str:
        code = self.process.exitcode
        if code is None:
            return "stopped answering"
        if code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exited with status {code}"

    def _write(self, message: object) -> None:
        with self.write_lock:
            if self.conn.closed:
                raise BrokenPipeError(f"render worker {self.pid} is gone")
            self.conn.send(message)

    def _close(self) -> None:
        # Killing the group makes a write in flight fail at once, so this lock is released soon.
        with self.write_lock:
            self.conn.close()


def _call_back(callback: Callable[..., None], *args: int) -> None:
    try:
        callback(*args)
    except Exception:
        log.exception("render progress callback failed")


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
