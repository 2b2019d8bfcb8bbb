"""How a render's end is recorded on its job: completed, failed, or back in the queue.

Each is a compare-and-set that only the node holding the job's lease can win (the service's
`complete`, `fail`, `requeue`). A finished render's files are published first, and only while
the node still holds the lease (`server.attempts`), so a node that wakes up late never replaces
the winner's video; then they go to the job's output store (`server.outputs`: kept in place,
or uploaded to a bucket). Every write is retried while the store is away (`server.outage`), so
a render that ends during an outage is recorded once the store is back, unless the node is
stopping: then the job's lease runs out and it is rendered again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from renderer.pool import PoolClosed, RenderTimeout, WorkerLost
from renderer.types import AssetError, RenderError, RenderResult
from server import attempts
from server.jobs import ErrorKind, Job, JobState
from server.logs import EventLog
from server.outage import StoreHealth, until_stored
from server.outputs import OutputError
from server.service import JobService

T = TypeVar("T")


class RenderEnd:
    """Records the end of this node's renders; `stopping()` says to stop retrying."""

    def __init__(self, service: JobService, health: StoreHealth, stopping: Callable[[], bool]):
        self._service = service
        self._health = health
        self._stopping = stopping
        self._log = EventLog()

    async def completed(self, job: Job, result: RenderResult, job_dir: Path) -> None:
        """Publish the files of a render that still holds its lease, then save its result."""
        if not await self._still_ours(job):
            return
        try:
            published = await asyncio.to_thread(attempts.publish, result, job_dir)
            # The video last: whoever finds it finds its poster and captions beside it.
            files = [
                Path(published.poster_path),
                *(Path(path) for path in published.captions.values()),
                Path(published.video_path),
            ]
            await self._service.outputs_for(job).put(job.id, files)
        except OSError as exc:  # a full disk, a vanished directory: a failed render
            await self._fail_storing(job, f"cannot write the render: {exc.strerror or exc}")
            return
        except OutputError as exc:  # the bucket refused it or is out of reach
            await self._fail_storing(job, f"cannot store the render: {exc}")
            return
        # A lease taken over during an outage makes this lose its compare-and-set, as it must.
        await self._stored(lambda: self._service.complete(job, published))

    async def _fail_storing(self, job: Job, message: str) -> None:
        await self._stored(lambda: self._service.fail(job, ErrorKind.RENDER, message))

    async def shut_down(self, job: Job) -> None:
        """Stopped by a shutdown: back in its place, the attempt given back."""
        await self._stored(lambda: self._give_back(job))

    async def failed(self, job: Job, exc: Exception, timeout_s: float) -> None:
        # A late node's render often fails (the winner removed its directory): that must not
        # fail a job that went back to the queue or that another node holds now.
        if await self._still_ours(job):
            await self._stored(lambda: self._record_failure(job, exc, timeout_s))

    async def _still_ours(self, job: Job) -> bool:
        if await self._stored(lambda: self._holds(job)):
            return True
        self._log.warning(
            "render.lost",
            f"Job {job.id}: no longer this node's (cancelled or taken over); its render's "
            "end is not recorded",
            job_id=job.id,
        )
        return False

    async def _holds(self, job: Job) -> bool:
        current = await self._service.store.get(job.id)
        return (
            current is not None
            and current.state is JobState.PROCESSING
            and current.lease_owner == self._service.node_id
            and current.attempts == job.attempts
        )

    async def _give_back(self, job: Job) -> Job | None:
        return await self._service.requeue(job, "the server shut down", count_attempt=False)

    async def _stored(self, body: Callable[[], Awaitable[T]]) -> T:
        return await until_stored(body, self._health, where="scheduler", give_up=self._stopping)

    async def _record_failure(self, job: Job, exc: Exception, timeout_s: float) -> None:
        service = self._service
        if isinstance(exc, PoolClosed):
            await self._give_back(job)
        elif isinstance(exc, RenderTimeout):
            await service.fail(job, ErrorKind.TIMEOUT, f"render took longer than {timeout_s:g}s")
        elif isinstance(exc, WorkerLost):
            await service.requeue(job, f"render worker lost ({exc})")
        elif isinstance(exc, AssetError):
            await service.fail(job, ErrorKind.ASSET, str(exc))
        elif isinstance(exc, RenderError):
            await service.fail(job, ErrorKind.RENDER, str(exc))
        else:
            self._log.error(
                "render.internal_error",
                f"Job {job.id}: unexpected render failure: {exc!r}",
                job_id=job.id,
            )
            await service.fail(job, ErrorKind.RENDER, "internal error while rendering")
