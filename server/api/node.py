"""The Node API contract (video-generation-concurrency-guide.md): same paths, field names and
status words (`queued`, `processing`, `completed`, `failed`; and `cancelled`)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from server.api.common import idempotency_key, read_json_object, service_of
from server.api.node_openapi import MAX_LISTED, OPENAPI_PATHS, OPENAPI_SCHEMAS
from server.auth import principal_of
from server.errors import JobNotFound
from server.jobs import Api, Job, JobState
from server.nodes import totals
from server.service import visible_to
from server.state import ADMISSION, NODES
from server.webhooks import caption_urls_camel, iso_time

# Collected by server.api.openapi from every adapter.
__all__ = ["MAX_LISTED", "OPENAPI_PATHS", "OPENAPI_SCHEMAS", "setup"]

# Envelope fields the client sends beside the spec.
ENVELOPE = ("webhookUrl", "priority", "metadata")


def _message(job: Job, position: int | None) -> str:
    match job.state:
        case JobState.QUEUED:
            return f"Queued at position {position}" if position else "Queued"
        case JobState.PROCESSING:
            return f"Rendering: {round(job.progress)}%"
        case JobState.COMPLETED:
            return "Video ready"
        case JobState.FAILED:
            return f"Failed: {job.error}"
        case JobState.CANCELLED:
            return "Cancelled"


async def generate_video_async(request: web.Request) -> web.Response:
    body = await read_json_object(request)
    spec = {k: v for k, v in body.items() if k not in ENVELOPE}
    service = service_of(request)
    job = await service.submit(
        spec,
        api=Api.NODE,
        owner=principal_of(request),
        webhook_url=body.get("webhookUrl"),
        priority=body.get("priority", 0),
        metadata=body.get("metadata"),
        idempotency_key=idempotency_key(request),
        field_names={"webhook_url": "webhookUrl"},
    )
    info = await service.queue_info(job)
    slots = request.app[NODES].slots()
    return web.json_response(
        {
            "success": True,
            "jobId": job.id,
            "status": job.state.value,
            "message": "Video generation started. You will receive updates via webhook.",
            "queue": {
                "position": info.get("position") or 0,
                "activeRenders": info["activeRenders"],
                "maxConcurrent": slots,
                "queueLength": info["queueLength"],
            },
        }
    )


async def job_status(request: web.Request) -> web.Response:
    job, info = await service_of(request).status(request.match_info["jobId"])
    if not visible_to(job, principal_of(request)):
        raise JobNotFound(job.id)
    position = info.get("position")
    out: dict[str, Any] = {
        "jobId": job.id,
        "status": job.state.value,
        "progress": round(job.progress),
        "message": _message(job, position),
        "queue": {
            "activeRenders": info["activeRenders"],
            "maxConcurrent": request.app[NODES].slots(),
            "queueLength": info["queueLength"],
        },
        "createdAt": iso_time(job.created_at),
    }
    if job.state is JobState.QUEUED:
        out["position"] = position
    if job.started_at is not None:
        out["startedAt"] = iso_time(job.started_at)
    if job.finished_at is not None:
        out["finishedAt"] = iso_time(job.finished_at)
    if job.state is JobState.COMPLETED and job.result:
        out["videoUrl"] = job.result["video_url"]
        out["posterUrl"] = job.result["poster_url"]
        out.update(caption_urls_camel(job.result))
        out["durationS"] = job.result.get("duration_s")
    if job.state in (JobState.FAILED, JobState.CANCELLED):
        out["error"] = job.error
    if job.metadata:
        out["metadata"] = job.metadata
    return web.json_response(out)


async def queue_status(request: web.Request) -> web.Response:
    """Cluster-wide: renders in flight and queued jobs are the store's, slots every live
    node's (this node's alone on SQLite); `holding` is this node's own gates."""
    service = service_of(request)
    info = await service.queue_info()
    info["maxConcurrent"], _ = totals(await request.app[NODES].cluster())
    caller = principal_of(request)
    listed = [j for j in await service.queued_jobs(MAX_LISTED) if visible_to(j, caller)]
    out: dict[str, Any] = {
        "activeRenders": info["activeRenders"],
        "maxConcurrent": info["maxConcurrent"],
        "queueLength": info["queueLength"],
        "availableSlots": max(0, info["maxConcurrent"] - info["activeRenders"]),
        "queuedJobs": [
            {"jobId": j.id, "queuedAt": iso_time(j.queued_at or j.created_at)} for j in listed
        ],
        "queuedJobsTruncated": info["queueLength"] > MAX_LISTED,
        "holding": info["holding"],
    }
    if info["holding"] not in (None, "per_key_limit"):
        # What the gates see, so an operator can tell how far from re-opening they are.
        out["admission"] = await asyncio.to_thread(request.app[ADMISSION].snapshot)
    return web.json_response(out)


def setup(app: web.Application) -> None:
    app.router.add_post("/api/generate-video-async", generate_video_async)
    app.router.add_get("/api/job-status/{jobId}", job_status)
    app.router.add_get("/api/queue-status", queue_status)
