"""This node's render progress, and the callers waiting for a job to end.

The store has a render's progress as of its last heartbeat; `ProgressCache` has it as of the
last frame, so every read of a local render is overlaid fresh from memory. `Waiters` wakes
`wait_terminal` callers on each change this node commits; another node's changes (a shared
store) are seen by a periodic re-read.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from server.jobs import Job, JobState
from server.service.listeners import Listeners
from server.store.base import ProgressUpdate

# How often a waiter re-reads the job when nothing on this node wakes it.
REREAD_S = 2.0


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    job_id: str
    progress: float  # 0-100
    frames_done: int
    frames_total: int


class ProgressCache:
    """Fresh progress of the renders running on this node, and who listens to it."""

    def __init__(self) -> None:
        self._progress: dict[str, ProgressUpdate] = {}
        self.listeners: Listeners[[ProgressEvent]] = Listeners("progress")

    def start(self, job: Job) -> None:
        self._progress[job.id] = ProgressUpdate(0.0, 0, job.frames_total)

    def drop(self, job_id: str) -> None:
        self._progress.pop(job_id, None)

    def report(self, job_id: str, frames_done: int, frames_total: int) -> None:
        """From the render's progress callback (on the event loop)."""
        if job_id not in self._progress:
            return  # the render has ended here (or never started here)
        percent = 0.0 if frames_total <= 0 else min(100.0, 100.0 * frames_done / frames_total)
        self._progress[job_id] = ProgressUpdate(round(percent, 1), frames_done, frames_total)
        self.listeners.notify(ProgressEvent(job_id, round(percent, 1), frames_done, frames_total))

    def snapshot(self) -> dict[str, ProgressUpdate]:
        return dict(self._progress)

    def fresh(self, job: Job) -> Job:
        """The job with a local render's progress from memory."""
        if job.state is JobState.PROCESSING:
            fresh = self._progress.get(job.id)
            if fresh is not None:
                return job.evolve(
                    progress=fresh.progress,
                    frames_done=fresh.frames_done,
                    frames_total=fresh.frames_total,
                )
        return job


class _Watch:
    """The event is set and replaced on every change, so each waiter's next wait is fresh."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.count = 0  # waiters of this job; the watch goes when the last one leaves


class Waiters:
    """Callers of `wait_terminal`, per job."""

    def __init__(self) -> None:
        self._watches: dict[str, _Watch] = {}
        self._closing = False

    def wake(self, job_id: str) -> None:
        watch = self._watches.get(job_id)
        if watch is not None:
            watch.event.set()
            watch.event = asyncio.Event()

    def release(self) -> None:
        """Shutting down: every wait returns the job as it is now."""
        self._closing = True
        for watch in list(self._watches.values()):
            watch.event.set()

    async def wait_terminal(
        self, job_id: str, timeout_s: float, read: Callable[[str], Awaitable[Job]]
    ) -> Job:
        """The job once it has ended, or as `read` has it at the deadline."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        watch = self._watches.setdefault(job_id, _Watch())
        watch.count += 1
        try:
            while True:
                changed = watch.event  # taken before the read, so no change is missed
                job = await read(job_id)
                remaining = deadline - time.monotonic()
                if job.terminal or remaining <= 0 or self._closing:
                    return job
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), min(remaining, REREAD_S))
        finally:
            watch.count -= 1
            if watch.count == 0 and self._watches.get(job_id) is watch:
                del self._watches[job_id]
