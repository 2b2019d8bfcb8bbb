"""The OpenAPI description of Reelfarm's own API (`server.api.native`)."""

from __future__ import annotations

from typing import Any

from server.api.common import MAX_PAGE
from server.api.openapi_parts import (
    CAPTION_URL_PROPERTIES,
    IDEMPOTENCY_KEY,
    OFFSET,
    VIDEO_PROPERTIES,
    envelope,
    errors,
    json_body,
    json_response,
    limit,
    ref,
)
from server.jobs import Api, ErrorKind, JobState
from server.validation import MAX_PRIORITY

_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
_STATUS = {"type": "string", "enum": [s.value for s in JobState]}
_RESULT = {
    "type": ["object", "null"],
    "properties": {
        **VIDEO_PROPERTIES,
        **CAPTION_URL_PROPERTIES,
        "fps": {"type": "integer"},
        "frames": {"type": "integer"},
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
            "status": _STATUS,
            "api": {"type": "string", "enum": [a.value for a in Api]},
            "priority": {"type": "integer", "minimum": 0, "maximum": MAX_PRIORITY},
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
                "enum": [*(k.value for k in ErrorKind), None],
            },
            "result": _RESULT,
            "webhook_url": {"type": ["string", "null"]},
            "metadata": {"type": "object"},
        },
    }
}
_JOB = ref("Job")
_PAGE = {
    "type": "object",
    "properties": {
        "jobs": {"type": "array", "items": _JOB},
        "total": {"type": "integer"},
        "limit": {"type": "integer"},
        "offset": {"type": "integer"},
    },
}
_SUBMISSION = {
    "type": "object",
    "required": ["spec"],
    "additionalProperties": False,
    "properties": {
        "spec": ref("Spec"),
        **envelope("webhook_url"),
    },
}


def _media(summary: str, kind: str, media_type: str) -> dict[str, Any]:
    """GET of a finished job's file: served with HTTP Range from a local output store, or a
    redirect to a short-lived presigned URL from a bucket."""
    body = {media_type: {"schema": {"type": "string", "format": "binary"}}}
    return {
        "get": {
            "tags": ["jobs"],
            "summary": summary,
            "parameters": [_ID, {"name": "Range", "in": "header", "schema": {"type": "string"}}],
            "responses": {
                "200": {"description": f"The {kind}", "content": body},
                "206": {"description": f"Part of the {kind}", "content": body},
                "302": {
                    "description": f'The {kind} is in a bucket ([outputs] backend = "s3", '
                    "or the job's s3Config): GET the presigned Location, valid "
                    "[outputs.s3] presign_s",
                    "headers": {"Location": {"schema": {"type": "string", "format": "uri"}}},
                },
                **errors(401, 404, 503),
                "416": {
                    "description": "The Range lies outside the file",
                    "headers": {"Content-Range": {"schema": {"type": "string"}}},
                },
            },
        }
    }


def _document(summary: str, description: str) -> dict[str, Any]:
    """GET of a JSON document describing what specs may use."""
    return {
        "get": {
            "tags": ["spec"],
            "summary": summary,
            "responses": {
                "200": json_response(description, {"type": "object"}),
                **errors(401),
            },
        }
    }


OPENAPI_PATHS: dict[str, Any] = {
    "/api/jobs": {
        "get": {
            "tags": ["jobs"],
            "summary": "The caller's jobs, newest first, optionally of one status",
            "parameters": [
                {"name": "status", "in": "query", "schema": _STATUS},
                limit(50, MAX_PAGE),
                OFFSET,
            ],
            "responses": {"200": json_response("A page of jobs", _PAGE), **errors(400, 401)},
        },
        "post": {
            "tags": ["jobs"],
            "summary": "Submit a render",
            "parameters": [IDEMPOTENCY_KEY],
            "requestBody": json_body(_SUBMISSION),
            "responses": {
                "202": json_response("Accepted and stored", _JOB),
                **errors(400, 401, 413, 429),
            },
        },
    },
    "/api/jobs/{id}": {
        "get": {
            "tags": ["jobs"],
            "summary": "One job",
            "parameters": [_ID],
            "responses": {"200": json_response("The job", _JOB), **errors(401, 404)},
        },
        "delete": {
            "tags": ["jobs"],
            "summary": "Cancel a queued or running job (a render stops within 2 s)",
            "parameters": [_ID],
            "responses": {"200": json_response("Cancelled", _JOB), **errors(401, 404, 409)},
        },
    },
    "/api/jobs/{id}/retry": {
        "post": {
            "tags": ["jobs"],
            "summary": "Queue a failed or cancelled job again",
            "parameters": [_ID],
            "responses": {"202": json_response("Queued again", _JOB), **errors(401, 404, 409)},
        }
    },
    "/api/jobs/{id}/video": _media("The rendered MP4 (supports Range)", "video", "video/mp4"),
    "/api/jobs/{id}/poster": _media(
        "The poster frame (JPEG, supports Range)", "poster", "image/jpeg"
    ),
    "/api/jobs/{id}/captions.vtt": _media(
        "The captions as WebVTT (UTF-8), when the spec has captions", "captions", "text/vtt"
    ),
    "/api/jobs/{id}/captions.srt": _media(
        "The captions as SubRip (UTF-8), when the spec has captions",
        "captions",
        "application/x-subrip",
    ),
    "/api/themes": _document("Themes available to specs", "Theme names and descriptions"),
    "/api/schema": _document("The spec's JSON Schema (draft 2020-12)", "JSON Schema"),
}
