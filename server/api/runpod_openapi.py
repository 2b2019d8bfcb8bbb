"""The OpenAPI description of the Runpod endpoint (`server.api.runpod`)."""

from __future__ import annotations

from typing import Any

from server.api.runpod_contract import DEFAULT_WAIT_MS, MAX_WAIT_MS, MIN_WAIT_MS, RunpodStatus

_STATUSES = [s.value for s in RunpodStatus]
_ENDPOINT_ID = {
    "name": "endpoint_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "[runpod] endpoint_id; any other answers 404",
}
_JOB_ID = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}
_RATE_LIMITED = {
    "description": "Over [runpod] requests_per_s for this caller; retry after Retry-After",
    "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}},
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
_COMMON = {
    "401": {"$ref": "#/components/responses/Unauthorized"},
    "404": {"$ref": "#/components/responses/NotFound"},
    "429": _RATE_LIMITED,
}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


_ID_AND_STATUS = {
    "type": "object",
    "required": ["id", "status"],
    "properties": {"id": {"type": "string"}, "status": {"type": "string", "enum": _STATUSES}},
}
_OUTPUT = {
    "type": "object",
    "description": "COMPLETED: the video; IN_PROGRESS: progress, frames_done, frames_total",
    "properties": {
        "video_url": {"type": "string"},
        "poster_url": {"type": "string"},
        "duration_s": {"type": "number"},
        "width": {"type": "integer"},
        "height": {"type": "integer"},
        "size_bytes": {"type": "integer"},
        "encoder": {"type": "string"},
        "progress": {"type": "number", "minimum": 0, "maximum": 100},
        "frames_done": {"type": "integer"},
        "frames_total": {"type": "integer"},
    },
}
OPENAPI_SCHEMAS: dict[str, Any] = {
    "RunpodRequest": {
        "type": "object",
        "required": ["input"],
        "properties": {
            "input": {
                "allOf": [_ref("Spec")],
                "description": "a Reelfarm spec; `webhookUrl` inside it is taken as `webhook`",
            },
            "webhook": {"type": "string", "format": "uri"},
            "policy": {
                "type": "object",
                "properties": {
                    "executionTimeout": {
                        "type": "integer",
                        "minimum": 5000,
                        "description": "ms; at most [pool] render_timeout_s; past it TIMED_OUT",
                    },
                    "ttl": {
                        "type": "integer",
                        "minimum": 10000,
                        "description": "ms of queue and render from submission; then 404",
                    },
                    "lowPriority": {"type": "boolean"},
                },
            },
            "priority": {"type": "integer", "minimum": 0, "maximum": 9},
        },
    },
    "RunpodStatus": {
        "type": "object",
        "required": ["id", "status", "delayTime", "executionTime"],
        "properties": {
            "id": {"type": "string"},
            "status": {"type": "string", "enum": _STATUSES},
            "delayTime": {"type": "integer", "description": "ms queued"},
            "executionTime": {"type": "integer", "description": "ms rendering"},
            "output": _OUTPUT,
            "error": {"type": "string"},
        },
    },
}
_SUBMIT_BODY = {
    "required": True,
    "content": {"application/json": {"schema": _ref("RunpodRequest")}},
}
_SUBMIT_ERRORS = {
    "400": {"$ref": "#/components/responses/Invalid"},
    "413": {"$ref": "#/components/responses/TooLarge"},
    **_COMMON,
}
_STATUS_OP = {
    "tags": ["runpod"],
    "summary": "A job's status, timings, and its output (or error)",
    "parameters": [_ENDPOINT_ID, _JOB_ID],
    "responses": {"200": _json("The job", _ref("RunpodStatus")), **_COMMON},
}
_STREAM_OP = {
    "tags": ["runpod"],
    "summary": "Output chunks new since the last call: progress, then the final output",
    "parameters": [_ENDPOINT_ID, _JOB_ID],
    "responses": {
        "200": _json(
            "New chunks",
            {
                "type": "object",
                "required": ["status", "stream"],
                "properties": {
                    "status": {"type": "string", "enum": _STATUSES},
                    "stream": {
                        "type": "array",
                        "items": {"type": "object", "properties": {"output": _OUTPUT}},
                    },
                    "error": {"type": "string"},
                },
            },
        ),
        **_COMMON,
    },
}
OPENAPI_PATHS: dict[str, Any] = {
    "/v2/{endpoint_id}/run": {
        "post": {
            "tags": ["runpod"],
            "summary": "Queue a render; answers at once with its id",
            "parameters": [_ENDPOINT_ID, {"$ref": "#/components/parameters/IdempotencyKey"}],
            "requestBody": _SUBMIT_BODY,
            "responses": {
                "200": _json("Queued", _ID_AND_STATUS),
                **_SUBMIT_ERRORS,
                "429": {
                    "description": "Over the request rate, or the queue is full",
                    "headers": _RATE_LIMITED["headers"],
                    "content": _RATE_LIMITED["content"],
                },
            },
        }
    },
    "/v2/{endpoint_id}/runsync": {
        "post": {
            "tags": ["runpod"],
            "summary": "Queue a render and wait for it up to `wait` ms",
            "parameters": [
                _ENDPOINT_ID,
                {
                    "name": "wait",
                    "in": "query",
                    "schema": {
                        "type": "integer",
                        "minimum": MIN_WAIT_MS,
                        "maximum": MAX_WAIT_MS,
                        "default": DEFAULT_WAIT_MS,
                    },
                },
                {"$ref": "#/components/parameters/IdempotencyKey"},
            ],
            "requestBody": _SUBMIT_BODY,
            "responses": {
                "200": _json(
                    "Final, or still queued/in progress: poll /status", _ref("RunpodStatus")
                ),
                **_SUBMIT_ERRORS,
            },
        }
    },
    "/v2/{endpoint_id}/status/{job_id}": {"get": _STATUS_OP, "post": _STATUS_OP},
    "/v2/{endpoint_id}/stream/{job_id}": {"get": _STREAM_OP, "post": _STREAM_OP},
    "/v2/{endpoint_id}/cancel/{job_id}": {
        "post": {
            "tags": ["runpod"],
            "summary": "Cancel a queued or running job (a finished one keeps its status)",
            "parameters": [_ENDPOINT_ID, _JOB_ID],
            "responses": {"200": _json("The job's status now", _ID_AND_STATUS), **_COMMON},
        }
    },
    "/v2/{endpoint_id}/retry/{job_id}": {
        "post": {
            "tags": ["runpod"],
            "summary": "Queue a FAILED or TIMED_OUT job again under the same id",
            "parameters": [_ENDPOINT_ID, _JOB_ID],
            "responses": {
                "200": _json("Queued again", _ID_AND_STATUS),
                "409": {"$ref": "#/components/responses/Conflict"},
                **_COMMON,
            },
        }
    },
    "/v2/{endpoint_id}/purge-queue": {
        "post": {
            "tags": ["runpod"],
            "summary": "Cancel the caller's queued Runpod jobs; running ones go on",
            "parameters": [_ENDPOINT_ID],
            "responses": {
                "200": _json(
                    "Purged",
                    {
                        "type": "object",
                        "properties": {
                            "removed": {"type": "integer"},
                            "status": {"type": "string", "const": "completed"},
                        },
                    },
                ),
                **_COMMON,
            },
        }
    },
    "/v2/{endpoint_id}/health": {
        "get": {
            "tags": ["runpod"],
            "summary": "Job counts and render slots",
            "parameters": [_ENDPOINT_ID],
            "responses": {
                "200": _json(
                    "Counts",
                    {
                        "type": "object",
                        "properties": {
                            "jobs": {
                                "type": "object",
                                "properties": {
                                    k: {"type": "integer"}
                                    for k in (
                                        "completed",
                                        "failed",
                                        "inProgress",
                                        "inQueue",
                                        "retried",
                                    )
                                },
                            },
                            "workers": {
                                "type": "object",
                                "properties": {
                                    "idle": {"type": "integer"},
                                    "running": {"type": "integer"},
                                },
                            },
                        },
                    },
                ),
                **_COMMON,
            },
        }
    },
}
