"""Reelfarm's own API: jobs (list, submit, get, cancel, retry), their video, poster and sidecar
captions (HTTP Range from a local output store; a redirect to a presigned URL from a bucket),
themes and the spec's JSON Schema."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

import scenes
import themes
from server.api.common import (
    MAX_OFFSET,
    MAX_PAGE,
    idempotency_key,
    int_param,
    load_job,
    read_json_object,
    service_of,
    stored_file,
)
from server.api.native_openapi import OPENAPI_PATHS, OPENAPI_SCHEMAS
from server.auth import principal_of
from server.errors import ValidationFailed
from server.jobs import Api, Job, JobState
from server.webhooks import iso_time

# Collected by server.api.openapi from every adapter.
__all__ = ["OPENAPI_PATHS", "OPENAPI_SCHEMAS", "job_json", "setup"]

PUBLIC_RESULT_KEYS = (
    "video_url",
    "poster_url",
    "captions_vtt_url",
    "captions_srt_url",
    "duration_s",
    "width",
    "height",
    "fps",
    "frames",
    "size_bytes",
    "encoder",
    "render_s",
)


def _time(ts: float | None) -> str | None:
    return iso_time(ts) if ts is not None else None


def job_json(job: Job, position: int | None = None) -> dict[str, Any]:
    result = job.result or {}
    out: dict[str, Any] = {
        "id": job.id,
        "status": job.state.value,
        "api": job.api.value,
        "priority": job.priority,
        "progress": job.progress,
        "frames_done": job.frames_done,
        "frames_total": job.frames_total,
        "attempts": job.attempts,
        "created_at": _time(job.created_at),
        "queued_at": _time(job.queued_at),
        "started_at": _time(job.started_at),
        "finished_at": _time(job.finished_at),
        "expires_at": _time(job.expires_at) if job.state is JobState.QUEUED else None,
        "error": job.error if job.terminal else None,
        "error_kind": job.error_kind.value if job.error_kind and job.terminal else None,
        "result": {k: result[k] for k in PUBLIC_RESULT_KEYS if k in result} or None,
        "webhook_url": job.webhook_url,
        "metadata": job.metadata,
    }
    if position is not None:
        out["position"] = position
    return out


async def _with_position(request: web.Request, job: Job) -> dict[str, Any]:
    position = None
    if job.state is JobState.QUEUED:
        position = (await service_of(request).queue_info(job)).get("position")
    return job_json(job, position)


async def list_jobs(request: web.Request) -> web.Response:
    raw_state = request.query.get("status") or None
    try:
        state = JobState(raw_state) if raw_state else None
    except ValueError:
        words = ", ".join(s.value for s in JobState)
        raise ValidationFailed([scenes.FieldError("status", f"must be one of {words}")]) from None
    limit = int_param(request, "limit", 50, 1, MAX_PAGE)
    offset = int_param(request, "offset", 0, 0, MAX_OFFSET)
    service = service_of(request)
    owner = principal_of(request)
    jobs, total = await asyncio.gather(
        service.list(state=state, limit=limit, offset=offset, owner=owner),
        service.count(state=state, owner=owner),
    )
    return web.json_response(
        {"jobs": [job_json(j) for j in jobs], "total": total, "limit": limit, "offset": offset}
    )


async def submit(request: web.Request) -> web.Response:
    body = await read_json_object(request)
    unknown = sorted(set(body) - {"spec", "webhook_url", "priority", "metadata"})
    if unknown:
        raise ValidationFailed([scenes.FieldError(k, "unknown field") for k in unknown])
    spec = body.get("spec")
    if not isinstance(spec, dict):
        raise ValidationFailed([scenes.FieldError("spec", "required: a JSON object")])
    job = await service_of(request).submit(
        spec,
        api=Api.NATIVE,
        owner=principal_of(request),
        webhook_url=body.get("webhook_url"),
        priority=body.get("priority", 0),
        metadata=body.get("metadata"),
        idempotency_key=idempotency_key(request),
    )
    return web.json_response(
        await _with_position(request, job),
        status=202,
        headers={"Location": f"/api/jobs/{job.id}"},
    )


async def get_job(request: web.Request) -> web.Response:
    job = await load_job(request, request.match_info["id"])
    return web.json_response(await _with_position(request, job))


async def cancel_job(request: web.Request) -> web.Response:
    job = await load_job(request, request.match_info["id"])
    return web.json_response(job_json(await service_of(request).cancel(job.id)))


async def retry_job(request: web.Request) -> web.Response:
    job = await load_job(request, request.match_info["id"])
    again = await service_of(request).retry(job.id)
    return web.json_response(await _with_position(request, again), status=202)


async def _file(request: web.Request, kind: str) -> web.StreamResponse:
    job = await load_job(request, request.match_info["id"])
    return await stored_file(request, job, kind)


async def video(request: web.Request) -> web.StreamResponse:
    return await _file(request, "video")


async def poster(request: web.Request) -> web.StreamResponse:
    return await _file(request, "poster")


async def captions_vtt(request: web.Request) -> web.StreamResponse:
    return await _file(request, "captions_vtt")


async def captions_srt(request: web.Request) -> web.StreamResponse:
    return await _file(request, "captions_srt")


async def list_themes(request: web.Request) -> web.Response:
    dirs = service_of(request).config.themes.dirs

    def describe() -> list[dict[str, Any]]:
        out = []
        for name in themes.list_themes(dirs):
            try:
                theme = themes.load_theme(name, dirs)
            except themes.ThemeError as exc:
                out.append({"name": name, "error": str(exc)})
                continue
            out.append(
                {
                    "name": theme.name,
                    "description": theme.description,
                    "effect": theme.effect,
                    "transition": theme.transition.type,
                }
            )
        return out

    return web.json_response({"themes": await asyncio.to_thread(describe)})


async def schema(request: web.Request) -> web.Response:
    return web.json_response(scenes.json_schema())


def setup(app: web.Application) -> None:
    app.router.add_get("/api/jobs", list_jobs)
    app.router.add_post("/api/jobs", submit)
    app.router.add_get("/api/jobs/{id}", get_job)
    app.router.add_delete("/api/jobs/{id}", cancel_job)
    app.router.add_post("/api/jobs/{id}/retry", retry_job)
    app.router.add_get("/api/jobs/{id}/video", video)
    app.router.add_get("/api/jobs/{id}/poster", poster)
    app.router.add_get("/api/jobs/{id}/captions.vtt", captions_vtt)
    app.router.add_get("/api/jobs/{id}/captions.srt", captions_srt)
    app.router.add_get("/api/themes", list_themes)
    app.router.add_get("/api/schema", schema)
