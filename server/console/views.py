"""The JSON the console's page is drawn from: a job as a row, a job in full.

Every value that came from a client (spec, metadata, error text, webhook URL) is sent as
data; the page writes it as text, never as markup."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from server.jobs import Job, JobState

# Jobs whose rendering node the console remembers (the store keeps it only while rendering).
REMEMBERED_NODES = 20_000


class NodeMemory:
    """Which node rendered a job, as seen by this process's state changes."""

    def __init__(self) -> None:
        self._nodes: OrderedDict[str, str] = OrderedDict()

    def note(self, job: Job) -> None:
        if job.state is JobState.PROCESSING and job.lease_owner:
            self._nodes[job.id] = job.lease_owner
            self._nodes.move_to_end(job.id)
            while len(self._nodes) > REMEMBERED_NODES:
                self._nodes.popitem(last=False)

    def node_of(self, job: Job) -> str | None:
        return job.lease_owner or self._nodes.get(job.id)


def job_row(job: Job, nodes: NodeMemory, position: int | None = None) -> dict[str, Any]:
    """What a list row shows."""
    result = job.result or {}
    row: dict[str, Any] = {
        "id": job.id,
        "status": job.state.value,
        "api": job.api.value,
        "owner": job.owner,
        "priority": job.priority,
        "progress": job.progress,
        "frames_done": job.frames_done,
        "frames_total": job.frames_total,
        "attempts": job.attempts,
        "created_at": job.created_at,
        "queued_at": job.queued_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "error": job.error if job.terminal else None,
        "error_kind": job.error_kind.value if job.error_kind and job.terminal else None,
        "duration_s": result.get("duration_s"),
        "render_s": result.get("render_s"),
        "encoder": result.get("encoder"),
        "has_video": job.state is JobState.COMPLETED and bool(result.get("video_file")),
        "has_captions": job.state is JobState.COMPLETED and bool(result.get("captions_vtt_file")),
        "node": nodes.node_of(job),
    }
    if position is not None:
        row["position"] = position
    return row


def job_detail(
    job: Job, nodes: NodeMemory, position: int | None, deliveries: list[dict[str, Any]]
) -> dict[str, Any]:
    """The job page: the row, plus the spec, metadata, webhook and its deliveries."""
    result = job.result or {}
    return {
        **job_row(job, nodes, position),
        "spec": job.spec,
        "metadata": job.metadata,
        "webhook_url": job.webhook_url,
        "expires_at": job.expires_at if job.state is JobState.QUEUED else None,
        "size_bytes": result.get("size_bytes"),
        "width": result.get("width"),
        "height": result.get("height"),
        "fps": result.get("fps"),
        "frames": result.get("frames"),
        "deliveries": deliveries,
    }
