"""The OpenAPI description of the Node API contract (`server.api.node`)."""

from __future__ import annotations

from typing import Any

from server.api.openapi_parts import (
    CAPTION_URL_PROPERTIES_CAMEL,
    IDEMPOTENCY_KEY,
    envelope,
    errors,
    json_body,
    json_response,
    ref,
    spec_with,
)
from server.jobs import JobState

# queue-status lists at most this many queued jobs (queueLength still counts them all).
MAX_LISTED = 100

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
# The Node contract's status words are the job states themselves.
_STATUS = {"type": "string", "enum": [s.value for s in JobState]}
_SUBMITTED = {
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
_JOB_STATUS = {
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
        **CAPTION_URL_PROPERTIES_CAMEL,
        "error": {"type": ["string", "null"]},
        "metadata": {"type": "object"},
    },
}
_QUEUED_JOB = {
    "type": "object",
    "properties": {
        "jobId": {"type": "string"},
        "queuedAt": {"type": "string", "format": "date-time"},
    },
}
_QUEUE_STATUS = {
    "type": "object",
    "properties": {
        "activeRenders": {"type": "integer"},
        "maxConcurrent": {"type": "integer"},
        "queueLength": {"type": "integer"},
        "availableSlots": {"type": "integer"},
        "queuedJobs": {"type": "array", "maxItems": MAX_LISTED, "items": _QUEUED_JOB},
        "queuedJobsTruncated": {"type": "boolean"},
        "holding": {"type": ["string", "null"], "description": _HOLDING},
        "admission": {
            "type": "object",
            "description": "what the gates measure (while holding)",
        },
    },
}

OPENAPI_SCHEMAS: dict[str, Any] = {"NodeSubmission": spec_with(envelope("webhookUrl"))}
OPENAPI_PATHS: dict[str, Any] = {
    "/api/generate-video-async": {
        "post": {
            "tags": ["node"],
            "summary": "Submit a render; answers at once with the job id and queue place",
            "parameters": [IDEMPOTENCY_KEY],
            "requestBody": json_body(ref("NodeSubmission")),
            "responses": {
                "200": json_response("Accepted and stored", _SUBMITTED),
                **errors(400, 401, 413, 429),
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
            "responses": {"200": json_response("The job", _JOB_STATUS), **errors(401, 404)},
        }
    },
    "/api/queue-status": {
        "get": {
            "tags": ["node"],
            "summary": "Slots in use, the queue, and which admission gate holds jobs back",
            "responses": {"200": json_response("The queue", _QUEUE_STATUS), **errors(401)},
        }
    },
}
