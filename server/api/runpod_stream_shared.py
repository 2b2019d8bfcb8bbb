"""`/stream/{id}` for nodes sharing a Redis: the chunks live in Redis, so a client may poll any
node and still sees each step once, and the final output exactly once.

The rendering node records progress (whole percents) and the completion as they happen. The
service's listeners are synchronous, so records go through one ordered writer task per node;
a record lost while Redis is away costs only a progress step, never the final output, which
`chunks` records from the job itself when it finds none (`lua/stream.lua`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from typing import Any

from server.api.runpod_contract import completed_output, progress_output
from server.api.runpod_stream import MAX_CHUNKS_PER_JOB, MAX_JOBS
from server.jobs import TERMINAL, Api, Job, JobState
from server.logs import EventLog
from server.service import ProgressEvent
from server.store.base import StoreUnavailable
from server.store.redis_shared import RedisStreamChunks, StreamMode, TakeState
from server.store.redis_store import RedisJobStore

# Records waiting for the writer; past this (Redis away for long) new progress is dropped.
MAX_PENDING = 10_000
Record = tuple[StreamMode, str, dict[str, Any] | None, int | None, int | None]


class SharedStreamFeeds:
    """Listens to the service like `StreamFeeds`; the chunks are kept in Redis."""

    def __init__(self, store: RedisJobStore):
        self._chunks = RedisStreamChunks(store, max_chunks=MAX_CHUNKS_PER_JOB)
        self._log = EventLog()
        self._pending: asyncio.Queue[Record] = asyncio.Queue(MAX_PENDING)
        self._writer: asyncio.Task[None] | None = None
        # (attempt, last whole percent sent) per job rendering here: most progress events
        # repeat the percent.
        self._sent: OrderedDict[str, tuple[int, int]] = OrderedDict()

    def on_state_change(self, job: Job, old: JobState | None) -> None:
        if job.api is not Api.RUNPOD:
            return
        if job.state is JobState.QUEUED and old in TERMINAL:
            self._record("reset", job.id)  # retried: a new run, a new stream
        elif job.state is JobState.PROCESSING:
            self._sent[job.id] = (job.attempts, -1)
            while len(self._sent) > MAX_JOBS:
                self._sent.popitem(last=False)
            self._record("start", job.id, attempt=job.attempts)
        elif job.state is JobState.COMPLETED:
            self._sent.pop(job.id, None)
            self._record("final", job.id, completed_output(job))
        elif job.terminal:
            self._sent.pop(job.id, None)
            self._record("clear", job.id)

    def on_progress(self, event: ProgressEvent) -> None:
        sent = self._sent.get(event.job_id)  # only jobs seen starting here are Runpod's
        percent = int(event.progress)
        if sent is None or percent <= sent[1]:
            return
        attempt = sent[0]
        self._sent[event.job_id] = (attempt, percent)
        output = {
            "progress": event.progress,
            "frames_done": event.frames_done,
            "frames_total": event.frames_total,
        }
        self._record("progress", event.job_id, output, percent, attempt)

    async def chunks(self, job: Job) -> list[dict[str, Any]]:
        """The chunks new since the last call on any node, oldest first."""
        state: TakeState = "other"
        chunk: dict[str, Any] | None = None
        if job.state is JobState.COMPLETED:
            state, chunk = "completed", completed_output(job)
        elif job.terminal:
            state = "ended"
        elif job.state is JobState.PROCESSING:
            state, chunk = "processing", progress_output(job)
        percent = int(chunk["progress"]) if state == "processing" and chunk else None
        taken = await self._chunks.take(job.id, state, chunk, percent, job.attempts)
        return [{"output": c} for c in taken]

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer

    def _record(
        self,
        mode: StreamMode,
        job_id: str,
        chunk: dict[str, Any] | None = None,
        percent: int | None = None,
        attempt: int | None = None,
    ) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self._pending.put_nowait((mode, job_id, chunk, percent, attempt))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write())

    async def _write(self) -> None:
        while True:
            mode, job_id, chunk, percent, attempt = await self._pending.get()
            try:
                await self._chunks.record(mode, job_id, chunk, percent, attempt)
            except StoreUnavailable:
                pass  # the final output is recorded again from the job when it is read
            except Exception as exc:  # a bad record must not stop the ones after it
                self._log.error("runpod.stream", f"stream record for {job_id} failed: {exc!r}")
