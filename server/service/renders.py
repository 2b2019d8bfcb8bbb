"""The scheduler's side of a job: a render's lease from its start to its end.

A render ends in one of three ways, each a compare-and-set that only the node holding the
lease can win: `complete`, `fail`, or `requeue` (the render was interrupted: back to its old
place in the queue, or failed once it has used up `[pool] max_attempts`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from server.config import Config
from server.jobs import ErrorKind, Job, JobState, WebhookEvent
from server.service.machine import StateMachine, finished
from server.service.progress import ProgressCache
from server.service.submission import RenderPace, queue_ttl_s
from server.store.base import JobStore

if TYPE_CHECKING:
    from renderer.types import RenderResult

# The sidecar subtitle formats a render writes beside its video (`RenderResult.captions`).
CAPTION_FORMATS = ("vtt", "srt")


def result_record(public_url: str, job_id: str, result: RenderResult) -> dict[str, Any]:
    """What a completed job keeps of its render (`Job.result`)."""
    base = f"{public_url}/api/jobs/{job_id}"
    return {
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
        **caption_record(base, result.captions),
    }


def caption_record(base: str, captions: Mapping[str, Path]) -> dict[str, str | None]:
    """The sidecar subtitles' URLs and file names, None for a render without captions (so
    every completed job answers the same keys)."""
    record: dict[str, str | None] = {}
    for kind in CAPTION_FORMATS:
        path = captions.get(kind)
        record[f"captions_{kind}_url"] = f"{base}/captions.{kind}" if path else None
        record[f"captions_{kind}_file"] = Path(path).name if path else None
    return record


class Renders:
    """Ends this node's renders and keeps their leases alive."""

    def __init__(
        self,
        store: JobStore,
        machine: StateMachine,
        *,
        node_id: str,
        progress: ProgressCache,
        pace: RenderPace,
    ):
        self._store = store
        self._machine = machine
        self._node_id = node_id
        self._progress = progress
        self._pace = pace

    async def complete(self, config: Config, job: Job, result: RenderResult) -> Job | None:
        self._progress.drop(job.id)
        done = finished(job, JobState.COMPLETED, None, None).evolve(
            progress=100.0,
            frames_done=result.frames,
            frames_total=max(result.frames, job.frames_total),
            result=result_record(config.public_url, job.id, result),
        )
        if not await self._machine.commit(
            job, done, event=WebhookEvent.COMPLETED, expect_lease_owner=self._node_id
        ):
            return None
        if done.render_s:
            self._pace.record(done.render_s)
        return done

    async def fail(self, job: Job, kind: ErrorKind, message: str) -> Job | None:
        """Fail this node's render of `job`; None when the render is no longer this node's
        (its lease ran out and the job went back to the queue, or another attempt holds it):
        a late failure must not end a job that is queued or rendering elsewhere."""
        self._progress.drop(job.id)
        current = await self._store.get(job.id)
        if current is None or not self._holds(current, job):
            return None
        failed = finished(current, JobState.FAILED, kind, message)
        ok = await self._machine.commit(
            current, failed, event=WebhookEvent.FAILED, expect_lease_owner=self._node_id
        )
        return failed if ok else None

    def _holds(self, current: Job, attempt: Job) -> bool:
        """`current` (as stored) is still the render `attempt` this node claimed."""
        return (
            current.state is JobState.PROCESSING
            and current.lease_owner == self._node_id
            and current.attempts == attempt.attempts
        )

    async def requeue(
        self,
        config: Config,
        job: Job,
        reason: str,
        *,
        count_attempt: bool = True,
        lease_owner: str | None = None,
    ) -> Job | None:
        """See `JobService.requeue`; `lease_owner` is the node that held the render (this one
        unless given)."""
        self._progress.drop(job.id)
        current = await self._store.get(job.id)
        if current is None or current.state is not JobState.PROCESSING:
            return None
        owner = lease_owner if lease_owner is not None else self._node_id
        attempts = current.attempts if count_attempt else max(0, current.attempts - 1)
        if count_attempt and attempts >= config.pool.max_attempts:
            failed = finished(
                current,
                JobState.FAILED,
                ErrorKind.WORKER_LOST,
                f"{reason}; gave up after {attempts} attempt(s)",
            )
            ok = await self._machine.commit(
                current, failed, event=WebhookEvent.FAILED, expect_lease_owner=owner
            )
            return failed if ok else None
        # `queued_at` is kept, so the job goes back to its old place in the queue.
        again = current.evolve(
            state=JobState.QUEUED,
            attempts=attempts,
            started_at=None,
            expires_at=time.time() + queue_ttl_s(config, current.options),
            progress=0.0,
            frames_done=0,
            lease_owner=None,
            lease_until=None,
            error=reason,  # why it went back; cleared when it completes
        )
        ok = await self._machine.commit(current, again, event=None, expect_lease_owner=owner)
        return again if ok else None

    async def heartbeat(self, lease_s: float) -> set[str]:
        """Renew this node's leases and persist progress; returns renders this node lost."""
        return await self._store.heartbeat(
            self._node_id, self._progress.snapshot(), lease_s=lease_s
        )
