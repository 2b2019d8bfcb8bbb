"""The OpenAPI description of the Django app's contract (`server.api.reels`)."""

from __future__ import annotations

from typing import Any

from server.api.common import MAX_PAGE
from server.api.openapi_parts import (
    CAPTION_URL_PROPERTIES,
    IDEMPOTENCY_KEY,
    OFFSET,
    envelope,
    errors,
    json_body,
    json_response,
    limit,
    ref,
    spec_with,
)

_REEL = {
    "type": "object",
    "required": ["id", "status"],
    "properties": {
        "id": {"type": "string"},
        # The Django app's words (`server.api.reels.STATUS_WORDS`).
        "status": {"type": "string", "enum": ["pending", "processing", "done", "failed"]},
        "progress": {"type": "integer"},
        "video_url": {"type": ["string", "null"]},
        "poster_url": {"type": ["string", "null"]},
        **CAPTION_URL_PROPERTIES,
        "duration_s": {"type": ["number", "null"]},
        "error": {"type": ["string", "null"]},
        "metadata": {"type": "object"},
        "created_at": {"type": "string", "format": "date-time"},
        "started_at": {"type": ["string", "null"]},
        "finished_at": {"type": ["string", "null"]},
        "status_url": {"type": "string"},
        "message": {"type": "string"},
    },
}
_REEL_RESPONSE = ref("Reel")
_PAGE = {
    "type": "object",
    "properties": {
        "count": {"type": "integer"},
        "results": {"type": "array", "items": _REEL_RESPONSE},
    },
}

OPENAPI_SCHEMAS: dict[str, Any] = {
    "Reel": _REEL,
    "ReelSubmission": spec_with(envelope("webhook_url")),
}
OPENAPI_PATHS: dict[str, Any] = {
    "/api/reels/": {
        "post": {
            "tags": ["reels"],
            "summary": "Render a reel; waits for it unless async",
            "parameters": [
                {
                    "name": "async",
                    "in": "query",
                    "schema": {"type": "boolean"},
                    "description": "answer 202 at once (default: [server] async_processing)",
                },
                IDEMPOTENCY_KEY,
            ],
            "requestBody": json_body(ref("ReelSubmission")),
            "responses": {
                "200": json_response("Finished (done or failed)", _REEL_RESPONSE),
                "202": json_response("Accepted; still rendering", _REEL_RESPONSE),
                **errors(400, 401, 413, 429),
            },
        },
        "get": {
            "tags": ["reels"],
            "summary": "The caller's reels, newest first",
            "parameters": [limit(20, MAX_PAGE), OFFSET],
            "responses": {"200": json_response("A page of reels", _PAGE), **errors(400, 401)},
        },
    },
    "/api/reels/{id}/": {
        "get": {
            "tags": ["reels"],
            "summary": "One reel's status and video URL",
            "parameters": [
                {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {"200": json_response("The reel", _REEL_RESPONSE), **errors(401, 404)},
        }
    },
}
