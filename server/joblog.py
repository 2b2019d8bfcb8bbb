"""The log line for each move of a job, in the seed's words:
`Job abc queued (Queue: 3, Active: 5/5)`, `Starting job abc (Active: 5/5, Queue: 2)`."""

from __future__ import annotations

from typing import Any

from server.jobs import Job, JobState


def describe(
    job: Job, old: JobState | None, *, queued: int, active: int, max_concurrent: int
) -> tuple[str, str, dict[str, Any]]:
    """(event name, message, fields) for the change of `job` from `old` to its state."""
    slots = f"Active: {active}/{max_concurrent}"
    fields: dict[str, Any] = {
        "job_id": job.id,
        "state": job.state.value,
        "queue": queued,
        "active": active,
        "max_concurrent": max_concurrent,
        "api": job.api.value,
    }
    match job.state:
        case JobState.QUEUED if old is None:
            return "job.queued", f"Job {job.id} queued (Queue: {queued}, {slots})", fields
        case JobState.QUEUED if old is JobState.PROCESSING:
            text = f"Job {job.id} back in the queue: {job.error} (Queue: {queued}, {slots})"
            return "job.requeued", text, fields
        case JobState.QUEUED:
            return "job.retried", f"Job {job.id} retried (Queue: {queued}, {slots})", fields
        case JobState.PROCESSING:
            attempt = f", attempt {job.attempts}" if job.attempts > 1 else ""
            fields["wait_s"] = job.wait_s
            text = f"Starting job {job.id} ({slots}, Queue: {queued}{attempt})"
            return "job.started", text, fields
        case JobState.COMPLETED:
            fields["render_s"] = job.render_s
            text = f"Job {job.id} completed in {job.render_s or 0:.1f}s ({slots}, Queue: {queued})"
            return "job.completed", text, fields
        case JobState.FAILED:
            fields["error_kind"] = job.error_kind.value if job.error_kind else None
            text = f"Job {job.id} failed ({job.error_kind}): {job.error} ({slots}, Queue: {queued})"
            return "job.failed", text, fields
        case JobState.CANCELLED:
            return "job.cancelled", f"Job {job.id} cancelled ({slots}, Queue: {queued})", fields
    raise ValueError(f"unknown state {job.state!r}")
