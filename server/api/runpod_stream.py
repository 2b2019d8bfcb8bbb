"""`/stream/{id}`: the chunks of a Runpod job's output that are new since the last call —
progress while it renders, then the final output.

Chunks are recorded as they happen (progress of this node's renders, the completion) so a
client polling once a second still sees the steps it slept through. A job rendered before a
restart has no recorded history: its current progress and final output are read from the job
itself, so every client still ends with the final output exactly once. These feeds are the
node's own, right for one node (SQLite); nodes sharing a Redis keep the chunks there
(`server.api.runpod_stream_shared`), so a client may poll any node.
Everything is bounded: chunks per job, and jobs tracked (least recently used go first).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

from server.api.runpod_contract import completed_output, progress_output
from server.jobs import TERMINAL, Api, Job, JobState
from server.service import ProgressEvent

# At most one progress chunk per whole percent, so ~100 per render; a client that never
# polls loses the oldest progress, never the final output (it is the newest chunk).
MAX_CHUNKS_PER_JOB = 128
MAX_JOBS = 2_000


@dataclass
class _Feed:
    chunks: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=MAX_CHUNKS_PER_JOB))
    last_percent: int = -1  # the last progress recorded, in whole percent
    final_recorded: bool = False


class StreamFeeds:
    """Listens to the service (`on_state_change`, `on_progress`) and hands chunks out once."""

    def __init__(self, max_jobs: int = MAX_JOBS):
        self._feeds: OrderedDict[str, _Feed] = OrderedDict()
        self._max_jobs = max_jobs

    def on_state_change(self, job: Job, old: JobState | None) -> None:
        if job.api is not Api.RUNPOD:
            return
        if job.state is JobState.QUEUED and old in TERMINAL:
            self._feeds.pop(job.id, None)  # retried: a new run, a new stream
            return
        if job.state is JobState.PROCESSING:
            self._feed(job.id).last_percent = -1  # a (re)started render counts from 0 again
        elif job.state is JobState.COMPLETED:
            self._record_final(self._feed(job.id), job)
        elif job.terminal:
            # Failed, timed out or cancelled: the stream ends empty, with the final status.
            self._feed(job.id).chunks.clear()

    def on_progress(self, event: ProgressEvent) -> None:
        feed = self._feeds.get(event.job_id)  # only jobs seen starting here are Runpod's
        if feed is None or feed.final_recorded:
            return
        self._record_progress(
            feed,
            {
                "progress": event.progress,
                "frames_done": event.frames_done,
                "frames_total": event.frames_total,
            },
        )

    def take(self, job: Job) -> list[dict[str, Any]]:
        """The chunks new since the last call, oldest first, each `{"output": ...}`."""
        feed = self._feed(job.id)
        if job.terminal and job.state is not JobState.COMPLETED:
            feed.chunks.clear()  # possibly ended on another node: no stale progress
        elif job.state is JobState.PROCESSING and not feed.chunks:
            self._record_progress(feed, progress_output(job))  # rendered elsewhere
        elif job.state is JobState.COMPLETED:
            self._record_final(feed, job)
        chunks = list(feed.chunks)
        feed.chunks.clear()
        return chunks

    async def chunks(self, job: Job) -> list[dict[str, Any]]:
        """`take` as the adapter calls it, alike for this and the cluster's feeds."""
        return self.take(job)

    async def close(self) -> None:
        """Nothing to release: the feeds are this process's memory."""

    def _feed(self, job_id: str) -> _Feed:
        feed = self._feeds.get(job_id)
        if feed is None:
            feed = self._feeds[job_id] = _Feed()
            while len(self._feeds) > self._max_jobs:
                self._feeds.popitem(last=False)
        else:
            self._feeds.move_to_end(job_id)
        return feed

    @staticmethod
    def _record_progress(feed: _Feed, output: dict[str, Any]) -> None:
        percent = int(output["progress"])
        if percent > feed.last_percent:
            feed.last_percent = percent
            feed.chunks.append({"output": output})

    @staticmethod
    def _record_final(feed: _Feed, job: Job) -> None:
        if not feed.final_recorded:
            feed.final_recorded = True
            feed.chunks.append({"output": completed_output(job)})
