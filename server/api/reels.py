"""The Django app's contract (concurrent-requests-guide.md): `POST /api/reels/` renders and
answers with the finished reel (sync), or at once with 202 and the id (`?async=true`, or
`[server] async_processing = true`); `GET /api/reels/{id}/` polls. Status words: `pending`,
`processing`, `done`, `failed`."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from server.api.common import (
    MAX_OFFSET,
    MAX_PAGE,
    bool_param,
    idempotency_key,
    int_param,
    load_job,
    read_json_object,
    service_of,
)
from server.api.reels_openapi import OPENAPI_PATHS, OPENAPI_SCHEMAS
from server.auth import principal_of
from server.jobs import Api, Job, JobState
from server.webhooks import iso_time

# Collected by server.api.openapi from every adapter.
__all__ = ["OPENAPI_PATHS", "OPENAPI_SCHEMAS", "reel", "setup"]

STATUS_WORDS = {
    JobState.QUEUED: "pending",
    JobState.PROCESSING: "processing",
    JobState.COMPLETED: "done",
    JobState.FAILED: "failed",
    JobState.CANCELLED: "failed",
}
ENVELOPE = ("webhook_url", "priority", "metadata")


def reel(job: Job, request: web.Request) -> dict[str, Any]:
    result = job.result or {}
    return {
        "id": job.id,
        "status": STATUS_WORDS[job.state],
        "progress": round(job.progress),
        "video_url": result.get("video_url"),
        "poster_url": result.get("poster_url"),
        "captions_vtt_url": result.get("captions_vtt_url"),
        "captions_srt_url": result.get("captions_srt_url"),
        "duration_s": result.get("duration_s"),
        "error": job.error if job.state in (JobState.FAILED, JobState.CANCELLED) else None,
        "metadata": job.metadata,
        "created_at": iso_time(job.created_at),
        "started_at": iso_time(job.started_at) if job.started_at else None,
        "finished_at": iso_time(job.finished_at) if job.finished_at else None,
        "status_url": str(request.url.with_path(f"/api/reels/{job.id}/").with_query(None)),
    }


async def create(request: web.Request) -> web.Response:
    body = await read_json_object(request)
    service = service_of(request)
    wants_async = bool_param(request, "async")
    if wants_async is None:
        wants_async = service.config.server.async_processing
    job = await service.submit(
        {k: v for k, v in body.items() if k not in ENVELOPE},
        api=Api.REELS,
        owner=principal_of(request),
        webhook_url=body.get("webhook_url"),
        priority=body.get("priority", 0),
        metadata=body.get("metadata"),
        idempotency_key=idempotency_key(request),
    )
    if not wants_async:
        job = await service.wait_terminal(job.id, service.config.server.sync_wait_s)
    if job.terminal:
        return web.json_response(reel(job, request), status=200)
    out = reel(job, request)
    out["message"] = (
        "Accepted; poll status_url for the result"
        if wants_async
        else "Still rendering after the wait limit; poll status_url for the result"
    )
    return web.json_response(out, status=202)


async def detail(request: web.Request) -> web.Response:
    job = await load_job(request, request.match_info["id"])
    return web.json_response(reel(job, request))


async def listing(request: web.Request) -> web.Response:
    service = service_of(request)
    limit = int_param(request, "limit", 20, 1, MAX_PAGE)
    offset = int_param(request, "offset", 0, 0, MAX_OFFSET)
    owner = principal_of(request)
    jobs = await service.list(limit=limit, offset=offset, owner=owner)
    total = await service.count(owner=owner)
    return web.json_response({"count": total, "results": [reel(j, request) for j in jobs]})


def setup(app: web.Application) -> None:
    for path in ("/api/reels/", "/api/reels"):
        app.router.add_post(path, create)
        app.router.add_get(path, listing)
    for path in ("/api/reels/{id}/", "/api/reels/{id}"):
        app.router.add_get(path, detail)
