"""The Node API contract (video-generation-concurrency-guide.md): same paths, field names and
status words (`queued`, `processing`, `completed`, `failed`; and `cancelled`)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from server.api.common import idempotency_key, read_json_object, service_of
from server.auth import principal_of
from server.errors import JobNotFound
from server.jobs import Api, Job, JobState
from server.service import visible_to
from server.webhooks import iso_time

# queue-status lists at most this many queued jobs (queueLength still counts them all).
MAX_LISTED = 100
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
    return web.json_response(
        {
            "success": True,
            "jobId": job.id,
            "status": job.state.value,
            "message": "Video generation started. You will receive updates via webhook.",
            "queue": {
                "position": info.get("position") or 0,
                "activeRenders": info["activeRenders"],
                "maxConcurrent": info["maxConcurrent"],
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
            "maxConcurrent": info["maxConcurrent"],
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
        out["durationS"] = job.result.get("duration_s")
    if job.state in (JobState.FAILED, JobState.CANCELLED):
        out["error"] = job.error
    if job.metadata:
        out["metadata"] = job.metadata
    return web.json_response(out)


async def queue_status(request: web.Request) -> web.Response:
    service = service_of(request)
    info = await service.queue_info()
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
        from server.app import ADMISSION

        admission = request.app[ADMISSION]
        out["admission"] = await asyncio.to_thread(admission.snapshot)  # type: ignore[attr-defined]
    return web.json_response(out)


def setup(app: web.Application) -> None:
    app.router.add_post("/api/generate-video-async", generate_video_async)
    app.router.add_get("/api/job-status/{jobId}", job_status)
    app.router.add_get("/api/queue-status", queue_status)


_QUEUE = {
    "type": "object",
    "properties": {
        "position": {
            "type": "integer",
            "description": "1-based place in the queue; 0 once started",
        },
        "activeRenders": {"type": "integer"},
        "maxConcurrent": {"type": "integer"},
        "queueLength": {"type": "integer"},
    },
}
_HOLDING = "the gate holding jobs back: cpu, memory, disk, gpu_memory or per_key_limit"
_STATUS = {"type": "string", "enum": ["queued", "processing", "completed", "failed", "cancelled"]}

OPENAPI_PATHS: dict[str, Any] = {
    "/api/generate-video-async": {
        "post": {
            "tags": ["node"],
            "summary": "Submit a render; answers at once with the job id and queue place",
            "parameters": [{"$ref": "#/components/parameters/IdempotencyKey"}],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "allOf": [
                                {"$ref": "#/components/schemas/Spec"},
                                {
                                    "type": "object",
                                    "properties": {
                                        "webhookUrl": {"type": "string", "format": "uri"},
                                        "priority": {"type": "integer", "minimum": 0, "maximum": 9},
                                        "metadata": {"type": "object"},
                                    },
                                },
                            ]
                        }
                    }
                },
            },
            "responses": {
                "200": {
                    "description": "Accepted and stored",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["success", "jobId", "status", "queue"],
                                "properties": {
                                    "success": {"type": "boolean"},
                                    "jobId": {"type": "string"},
                                    "status": _STATUS,
                                    "message": {"type": "string"},
                                    "queue": _QUEUE,
                                },
                            }
                        }
                    },
                },
                "400": {"$ref": "#/components/responses/Invalid"},
                "401": {"$ref": "#/components/responses/Unauthorized"},
                "413": {"$ref": "#/components/responses/TooLarge"},
                "429": {"$ref": "#/components/responses/QueueFull"},
            },
        }
    },
    "/api/job-status/{jobId}": {
        "get": {
            "tags": ["node"],
            "summary": "A job's status, progress, queue place and, when done, its video URL",
            "parameters": [
                {"name": "jobId", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {
                "200": {
                    "description": "The job",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["jobId", "status", "progress", "message", "queue"],
                                "properties": {
                                    "jobId": {"type": "string"},
                                    "status": _STATUS,
                                    "progress": {"type": "integer", "minimum": 0, "maximum": 100},
                                    "message": {"type": "string"},
                                    "position": {"type": "integer"},
                                    "queue": _QUEUE,
                                    "videoUrl": {"type": "string"},
                                    "posterUrl": {"type": "string"},
                                    "error": {"type": ["string", "null"]},
                                    "metadata": {"type": "object"},
                                },
                            }
                        }
                    },
                },
                "401": {"$ref": "#/components/responses/Unauthorized"},
                "404": {"$ref": "#/components/responses/NotFound"},
            },
        }
    },
    "/api/queue-status": {
        "get": {
            "tags": ["node"],
            "summary": "Slots in use, the queue, and which admission gate holds jobs back",
            "responses": {
                "200": {
                    "description": "The queue",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "activeRenders": {"type": "integer"},
                                    "maxConcurrent": {"type": "integer"},
                                    "queueLength": {"type": "integer"},
                                    "availableSlots": {"type": "integer"},
                                    "queuedJobs": {
                                        "type": "array",
                                        "maxItems": MAX_LISTED,
                                        "items": {
                                            "type": "object",
                                            "properties": {
                                                "jobId": {"type": "string"},
                                                "queuedAt": {
                                                    "type": "string",
                                                    "format": "date-time",
                                                },
                                            },
                                        },
                                    },
                                    "queuedJobsTruncated": {"type": "boolean"},
                                    "holding": {
                                        "type": ["string", "null"],
                                        "description": _HOLDING,
                                    },
                                    "admission": {
                                        "type": "object",
                                        "description": "what the gates measure (while holding)",
                                    },
                                },
                            }
                        }
                    },
                },
                "401": {"$ref": "#/components/responses/Unauthorized"},
            },
        }
    },
}
