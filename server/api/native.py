"""Reelfarm's own API: jobs (list, submit, get, cancel, retry), their video and poster
(HTTP Range), themes and the spec's JSON Schema."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

import scenes
from server.api.common import (
    MAX_PAGE,
    idempotency_key,
    int_param,
    load_job,
    read_json_object,
    service_of,
)
from server.auth import principal_of
from server.errors import JobNotFound, ValidationFailed
from server.jobs import Api, Job, JobState
from server.webhooks import iso_time

PUBLIC_RESULT_KEYS = (
    "video_url",
    "poster_url",
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
    offset = int_param(request, "offset", 0, 0, 10**9)
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
    name = (job.result or {}).get(f"{kind}_file")
    if job.state is not JobState.COMPLETED or not name:
        raise JobNotFound(job.id, f"job {job.id} has no {kind} (status: {job.state.value})")
    path = service_of(request).output_dir(job.id) / name
    if not await asyncio.to_thread(path.is_file):
        raise JobNotFound(job.id, f"the {kind} of job {job.id} is no longer stored")
    return web.FileResponse(path, headers={"Cache-Control": "private, max-age=3600"})


async def video(request: web.Request) -> web.StreamResponse:
    return await _file(request, "video")


async def poster(request: web.Request) -> web.StreamResponse:
    return await _file(request, "poster")


async def list_themes(request: web.Request) -> web.Response:
    import themes

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
    app.router.add_get("/api/themes", list_themes)
    app.router.add_get("/api/schema", schema)


_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
_JOB = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Job"}}}}
_COMMON = {
    "401": {"$ref": "#/components/responses/Unauthorized"},
    "404": {"$ref": "#/components/responses/NotFound"},
}
_RESULT = {
    "type": ["object", "null"],
    "properties": {
        "video_url": {"type": "string"},
        "poster_url": {"type": "string"},
        "duration_s": {"type": "number"},
        "width": {"type": "integer"},
        "height": {"type": "integer"},
        "fps": {"type": "integer"},
        "frames": {"type": "integer"},
        "size_bytes": {"type": "integer"},
        "encoder": {"type": "string"},
        "render_s": {"type": "number"},
    },
}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
OPENAPI_SCHEMAS: dict[str, Any] = {
    "Job": {
        "type": "object",
        "required": ["id", "status", "priority", "progress", "created_at"],
        "properties": {
            "id": {"type": "string"},
            "status": {
                "type": "string",
                "enum": ["queued", "processing", "completed", "failed", "cancelled"],
            },
            "api": {"type": "string", "enum": ["node", "reels", "native", "runpod"]},
            "priority": {"type": "integer", "minimum": 0, "maximum": 9},
            "progress": {"type": "number", "minimum": 0, "maximum": 100},
            "frames_done": {"type": "integer"},
            "frames_total": {"type": "integer"},
            "attempts": {"type": "integer"},
            "position": {"type": "integer", "description": "1-based place in the queue"},
            "created_at": {"type": "string", "format": "date-time"},
            "queued_at": _NULLABLE_TIME,
            "started_at": _NULLABLE_TIME,
            "finished_at": _NULLABLE_TIME,
            "expires_at": _NULLABLE_TIME,
            "error": {"type": ["string", "null"]},
            "error_kind": {
                "type": ["string", "null"],
                "enum": ["render", "asset", "timeout", "worker_lost", "expired", "cancelled", None],
            },
            "result": _RESULT,
            "webhook_url": {"type": ["string", "null"]},
            "metadata": {"type": "object"},
        },
    }
}
_MEDIA_PARAMS = [_ID, {"name": "Range", "in": "header", "schema": {"type": "string"}}]
OPENAPI_PATHS: dict[str, Any] = {
    "/api/jobs": {
        "get": {
            "tags": ["jobs"],
            "summary": "The caller's jobs, newest first, optionally of one status",
            "parameters": [
                {
                    "name": "status",
                    "in": "query",
                    "schema": {
                        "type": "string",
                        "enum": ["queued", "processing", "completed", "failed", "cancelled"],
                    },
                },
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 50},
                },
                {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
            ],
            "responses": {
                "200": {
                    "description": "A page of jobs",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "jobs": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/Job"},
                                    },
                                    "total": {"type": "integer"},
                                    "limit": {"type": "integer"},
                                    "offset": {"type": "integer"},
                                },
                            }
                        }
                    },
                },
                "400": {"$ref": "#/components/responses/Invalid"},
                "401": {"$ref": "#/components/responses/Unauthorized"},
            },
        },
        "post": {
            "tags": ["jobs"],
            "summary": "Submit a render",
            "parameters": [{"$ref": "#/components/parameters/IdempotencyKey"}],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["spec"],
                            "additionalProperties": False,
                            "properties": {
                                "spec": {"$ref": "#/components/schemas/Spec"},
                                "webhook_url": {"type": "string", "format": "uri"},
                                "priority": {"type": "integer", "minimum": 0, "maximum": 9},
                                "metadata": {"type": "object"},
                            },
                        }
                    }
                },
            },
            "responses": {
                "202": {"description": "Accepted and stored", **_JOB},
                "400": {"$ref": "#/components/responses/Invalid"},
                "401": {"$ref": "#/components/responses/Unauthorized"},
                "413": {"$ref": "#/components/responses/TooLarge"},
                "429": {"$ref": "#/components/responses/QueueFull"},
            },
        },
    },
    "/api/jobs/{id}": {
        "get": {
            "tags": ["jobs"],
            "summary": "One job",
            "parameters": [_ID],
            "responses": {"200": {"description": "The job", **_JOB}, **_COMMON},
        },
        "delete": {
            "tags": ["jobs"],
            "summary": "Cancel a queued or running job (a render stops within 2 s)",
            "parameters": [_ID],
            "responses": {
                "200": {"description": "Cancelled", **_JOB},
                **_COMMON,
                "409": {"$ref": "#/components/responses/Conflict"},
            },
        },
    },
    "/api/jobs/{id}/retry": {
        "post": {
            "tags": ["jobs"],
            "summary": "Queue a failed or cancelled job again",
            "parameters": [_ID],
            "responses": {
                "202": {"description": "Queued again", **_JOB},
                **_COMMON,
                "409": {"$ref": "#/components/responses/Conflict"},
            },
        }
    },
    "/api/jobs/{id}/video": {
        "get": {
            "tags": ["jobs"],
            "summary": "The rendered MP4 (supports Range)",
            "parameters": _MEDIA_PARAMS,
            "responses": {
                "200": {
                    "description": "The video",
                    "content": {"video/mp4": {"schema": {"type": "string", "format": "binary"}}},
                },
                "206": {
                    "description": "Part of the video",
                    "content": {"video/mp4": {"schema": {"type": "string", "format": "binary"}}},
                },
                **_COMMON,
            },
        }
    },
    "/api/jobs/{id}/poster": {
        "get": {
            "tags": ["jobs"],
            "summary": "The poster frame (JPEG)",
            "parameters": _MEDIA_PARAMS,
            "responses": {
                "200": {
                    "description": "The poster",
                    "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
                },
                **_COMMON,
            },
        }
    },
    "/api/themes": {
        "get": {
            "tags": ["spec"],
            "summary": "Themes available to specs",
            "responses": {
                "200": {
                    "description": "Theme names and descriptions",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "401": {"$ref": "#/components/responses/Unauthorized"},
            },
        }
    },
    "/api/schema": {
        "get": {
            "tags": ["spec"],
            "summary": "The spec's JSON Schema (draft 2020-12)",
            "responses": {
                "200": {
                    "description": "JSON Schema",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "401": {"$ref": "#/components/responses/Unauthorized"},
            },
        }
    },
}
