"""What every adapter's OpenAPI fragment is written with: references into `components`, JSON
bodies, the error answers by status, the spec and the fields beside it, and the parameters
several operations share. `server.api.openapi` puts them under `components`."""

from __future__ import annotations

import functools
import json
from typing import Any

import scenes
from server.api.common import MAX_OFFSET
from server.validation import MAX_IDEMPOTENCY_KEY_CHARS, MAX_PRIORITY


def ref(schema: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{schema}"}


def json_body(schema: dict[str, Any]) -> dict[str, Any]:
    """A required JSON request body."""
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def json_response(
    description: str, schema: dict[str, Any], headers: dict[str, Any] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }
    if headers:
        out["headers"] = headers
    return out


# ---- errors: the body the error middleware answers with, and the answers by status -------
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "success": {"type": "boolean", "const": False},
        "error": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    return json_response(description, ref("Error"), headers)


_ERRORS: dict[int, tuple[str, dict[str, Any]]] = {
    400: ("Invalid", _error("Malformed or invalid input; `errors` names each field")),
    401: (
        "Unauthorized",
        _error(
            "Credentials missing or wrong", {"WWW-Authenticate": {"schema": {"type": "string"}}}
        ),
    ),
    404: ("NotFound", _error("No such job (or not the caller's)")),
    409: ("Conflict", _error("The job's state does not allow this")),
    413: ("TooLarge", _error("Request body over [server] max_body_mb")),
    429: ("QueueFull", _error("The queue is full; try again after Retry-After", RETRY_AFTER)),
    503: (
        "Unavailable",
        _error("Not ready, shutting down, or the job store is unavailable", RETRY_AFTER),
    ),
}
RESPONSES: dict[str, Any] = {name: response for name, response in _ERRORS.values()}


def errors(*statuses: int) -> dict[str, Any]:
    """An operation's error answers, e.g. `**errors(400, 401)`."""
    return {str(s): {"$ref": f"#/components/responses/{_ERRORS[s][0]}"} for s in statuses}


# ---- the spec, and the fields every API takes beside it ------------------------------------
@functools.cache
def _spec_components() -> str:
    schema = scenes.json_schema()
    schema.pop("$schema", None)
    return json.dumps(schema).replace('"#/$defs/', '"#/components/schemas/')


def spec_schemas() -> dict[str, Any]:
    """The spec's JSON Schema as components: `Spec`, with its `$defs` lifted beside it, and
    `SpecFields`, the same fields open to others (for `spec_with`)."""
    spec = json.loads(_spec_components())
    fields = {k: v for k, v in spec.items() if k != "additionalProperties"}
    return {**spec.pop("$defs", {}), "Spec": spec, "SpecFields": fields}


def spec_with(fields: dict[str, Any]) -> dict[str, Any]:
    """A body that is a spec with `fields` beside its own, and nothing else.
    `unevaluatedProperties` sees the properties of both parts; an `allOf` of `Spec` itself
    would forbid the other fields, since the spec allows no property but its own."""
    return {
        "allOf": [ref("SpecFields"), {"type": "object", "properties": fields}],
        "unevaluatedProperties": False,
    }


# A null webhook URL or metadata is taken as the field left out.
WEBHOOK_URL = {"type": ["string", "null"], "format": "uri", "description": "an http(s) URL"}
PRIORITY = {"type": "integer", "minimum": 0, "maximum": MAX_PRIORITY, "default": 0}
METADATA = {"type": ["object", "null"], "description": "kept with the job and shown back"}


def envelope(webhook_field: str) -> dict[str, Any]:
    """The fields beside the spec, under the API's own name for the webhook URL."""
    return {webhook_field: WEBHOOK_URL, "priority": PRIORITY, "metadata": METADATA}


# What a finished render's result says about its video, in every API that shows it.
VIDEO_PROPERTIES: dict[str, Any] = {
    "video_url": {"type": "string"},
    "poster_url": {"type": "string"},
    "duration_s": {"type": "number"},
    "width": {"type": "integer"},
    "height": {"type": "integer"},
    "size_bytes": {"type": "integer"},
    "encoder": {"type": "string"},
}


# The sidecar subtitles of a render with captions, in the APIs written in snake_case; null, or
# left out where a contract pins its keys (Runpod's output), for a render without.
CAPTION_URL_PROPERTIES: dict[str, Any] = {
    "captions_vtt_url": {
        "type": ["string", "null"],
        "description": "the captions as WebVTT; null or absent without captions",
    },
    "captions_srt_url": {
        "type": ["string", "null"],
        "description": "the captions as SubRip (.srt); null or absent without captions",
    },
}

# The same in the Node guide's camelCase, present only for a render with captions.
CAPTION_URL_PROPERTIES_CAMEL: dict[str, Any] = {
    "captionsVttUrl": {
        "type": "string",
        "description": "the captions as WebVTT; only for a job whose spec has captions",
    },
    "captionsSrtUrl": {
        "type": "string",
        "description": "the captions as SubRip (.srt); only for a job whose spec has captions",
    },
}


# ---- parameters ------------------------------------------------------------------------------
PARAMETERS: dict[str, Any] = {
    "IdempotencyKey": {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_IDEMPOTENCY_KEY_CHARS},
        "description": "a repeat with the same key, checked like the first, returns the same job",
    },
    "Offset": {
        "name": "offset",
        "in": "query",
        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
    },
}
IDEMPOTENCY_KEY = {"$ref": "#/components/parameters/IdempotencyKey"}
OFFSET = {"$ref": "#/components/parameters/Offset"}


def limit(default: int, maximum: int) -> dict[str, Any]:
    """The page size of a listing."""
    schema = {"type": "integer", "minimum": 1, "maximum": maximum, "default": default}
    return {"name": "limit", "in": "query", "schema": schema}
