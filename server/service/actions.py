"""What a client may do to its jobs after submitting them: cancel, retry, purge the queue.

Each is a compare-and-set through the state machine; a render that starts or ends between the
read and the write makes the commit lose, and the action reads again or says so (409).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from server.config import Config
from server.errors import Conflict
from server.jobs import Api, ErrorKind, Job, JobState, WebhookEvent
from server.service.machine import StateMachine, finished
from server.service.submission import queue_ttl_s
from server.store.base import JobStore

# Purged in pages of this size so one call never loads an unbounded queue.
PURGE_PAGE = 500
# Reads of a job whose state keeps moving under a cancel before it gives up.
CANCEL_TRIES = 5


class ClientActions:
    """`read` is the service's `require`: the job with a local render's fresh progress."""

    def __init__(
        self, store: JobStore, machine: StateMachine, *, read: Callable[[str], Awaitable[Job]]
    ):
        self._store = store
        self._machine = machine
        self._read = read

    async def cancel(self, job_id: str) -> Job:
        for _ in range(CANCEL_TRIES):  # a render may start or finish between read and write
            job = await self._read(job_id)
            if job.state is JobState.CANCELLED:
                return job
            if job.terminal:
                raise Conflict(f"job {job_id} is already {job.state.value}")
            done = finished(job, JobState.CANCELLED, ErrorKind.CANCELLED, "cancelled by the client")
            if await self._machine.commit(job, done, event=WebhookEvent.CANCELLED):
                runner = self._machine.runner
                if job.state is JobState.PROCESSING and runner is not None:
                    runner.stop_render(job_id)
                return done
        raise Conflict(f"job {job_id} is changing state; try again")

    async def retry(self, config: Config, job_id: str) -> Job:
        """A failed or cancelled job queued again, at the back, with its attempts reset."""
        job = await self._read(job_id)
        if job.state not in (JobState.FAILED, JobState.CANCELLED):
            raise Conflict(f"only failed or cancelled jobs can be retried; job is {job.state}")
        now = time.time()
        again = job.evolve(
            state=JobState.QUEUED,
            queued_at=now,
            expires_at=now + queue_ttl_s(config, job.options),
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
        if not await self._machine.commit(job, again, event=None):
            raise Conflict(f"job {job_id} changed state; try again")
        return again

    async def purge_queued(self, owner: str | None = None, api: Api | None = None) -> int:
        """Cancel every queued job (of `owner`, of `api`, when given); how many were."""
        purged = 0
        kept = 0  # queued jobs of other owners or APIs: paged past, so none is missed behind them
        while True:
            page = await self._store.queued(limit=PURGE_PAGE, offset=kept)
            if not page:
                return purged
            for job in page:
                if owner not in (None, job.owner) or api not in (None, job.api):
                    kept += 1
                    continue
                done = finished(
                    job, JobState.CANCELLED, ErrorKind.CANCELLED, "purged from the queue"
                )
                # A job whose commit loses a race has left the queue all the same.
                if await self._machine.commit(job, done, event=WebhookEvent.CANCELLED):
                    purged += 1
