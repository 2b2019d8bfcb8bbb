"""The OpenAPI description of the Runpod endpoint (`server.api.runpod`)."""

from __future__ import annotations

from typing import Any

from server.api.openapi_parts import (
    CAPTION_URL_PROPERTIES,
    IDEMPOTENCY_KEY,
    PRIORITY,
    RETRY_AFTER,
    VIDEO_PROPERTIES,
    WEBHOOK_URL,
    errors,
    json_body,
    json_response,
    ref,
    spec_with,
)
from server.api.runpod_contract import (
    DEFAULT_WAIT_MS,
    INPUT_WEBHOOK_KEY,
    MAX_POLICY_MS,
    MAX_S3_CREDENTIAL_CHARS,
    MAX_WAIT_MS,
    MIN_EXECUTION_TIMEOUT_MS,
    MIN_TTL_MS,
    MIN_WAIT_MS,
    RunpodStatus,
)
from server.outputs.settings import BUCKET_NAME

_STATUSES = [s.value for s in RunpodStatus]
_ENDPOINT_ID = {
    "name": "endpoint_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "[runpod] endpoint_id; any other answers 404",
}
_JOB_ID = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}
_RATE_LIMITED = json_response(
    "Over [runpod] requests_per_s for this caller; retry after Retry-After",
    ref("Error"),
    RETRY_AFTER,
)
_COMMON = {**errors(401, 404), "429": _RATE_LIMITED}


_S3_TEXT = {"type": "string", "minLength": 1, "maxLength": MAX_S3_CREDENTIAL_CHARS}
_S3_CONFIG = {
    "type": "object",
    "description": "The client's own bucket: the video, poster and any caption files are "
    "uploaded to `<bucketName>/<job id>/` there, and `output.video_url` / `poster_url` (and "
    "`captions_vtt_url` / `captions_srt_url`) name those objects "
    "(`<endpointUrl>/<bucketName>/<job id>/video.mp4`). The endpoint must not be a private "
    "address unless [outputs] allow_private_client_endpoints; the keys are never echoed.",
    "required": ["accessId", "accessSecret", "bucketName", "endpointUrl"],
    "additionalProperties": False,
    "properties": {
        "accessId": _S3_TEXT,
        "accessSecret": {**_S3_TEXT, "writeOnly": True},
        "bucketName": {"type": "string", "pattern": f"^{BUCKET_NAME.pattern}$"},
        "endpointUrl": {**_S3_TEXT, "pattern": "^https?://"},
    },
}
_ID_AND_STATUS = {
    "type": "object",
    "required": ["id", "status"],
    "properties": {"id": {"type": "string"}, "status": {"type": "string", "enum": _STATUSES}},
}
_OUTPUT = {
    "type": "object",
    "description": "COMPLETED: the video; IN_PROGRESS: progress, frames_done, frames_total",
    "properties": {
        **VIDEO_PROPERTIES,
        **CAPTION_URL_PROPERTIES,
        "progress": {"type": "number", "minimum": 0, "maximum": 100},
        "frames_done": {"type": "integer"},
        "frames_total": {"type": "integer"},
    },
}
OPENAPI_SCHEMAS: dict[str, Any] = {
    "RunpodInput": spec_with({INPUT_WEBHOOK_KEY: WEBHOOK_URL}),
    "RunpodRequest": {
        "type": "object",
        "required": ["input"],
        "additionalProperties": False,
        "properties": {
            "input": {
                "allOf": [ref("RunpodInput")],
                "description": "a Reelfarm spec; `webhookUrl` inside it is taken as `webhook`",
            },
            "webhook": WEBHOOK_URL,
            "policy": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "executionTimeout": {
                        "type": ["integer", "null"],
                        "minimum": MIN_EXECUTION_TIMEOUT_MS,
                        "maximum": MAX_POLICY_MS,
                        "description": "ms; at most [pool] render_timeout_s; past it TIMED_OUT",
                    },
                    "ttl": {
                        "type": ["integer", "null"],
                        "minimum": MIN_TTL_MS,
                        "maximum": MAX_POLICY_MS,
                        "description": "ms of queue and render from submission; then 404",
                    },
                    "lowPriority": {"type": "boolean"},
                },
            },
            "priority": PRIORITY,
            "s3Config": _S3_CONFIG,
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
_SUBMIT_BODY = json_body(ref("RunpodRequest"))
_SUBMIT_ERRORS = {
    **errors(400, 413),
    **_COMMON,
    "429": json_response("Over the request rate, or the queue is full", ref("Error"), RETRY_AFTER),
}
_STATUS_OP = {
    "tags": ["runpod"],
    "summary": "A job's status, timings, and its output (or error)",
    "parameters": [_ENDPOINT_ID, _JOB_ID],
    "responses": {"200": json_response("The job", ref("RunpodStatus")), **_COMMON},
}
_STREAM_OP = {
    "tags": ["runpod"],
    "summary": "Output chunks new since the last call: progress, then the final output",
    "parameters": [_ENDPOINT_ID, _JOB_ID],
    "responses": {
        "200": json_response(
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
            "parameters": [_ENDPOINT_ID, IDEMPOTENCY_KEY],
            "requestBody": _SUBMIT_BODY,
            "responses": {
                "200": json_response("Queued", _ID_AND_STATUS),
                **_SUBMIT_ERRORS,
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
                IDEMPOTENCY_KEY,
            ],
            "requestBody": _SUBMIT_BODY,
            "responses": {
                "200": json_response(
                    "Final, or still queued/in progress: poll /status", ref("RunpodStatus")
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
            "responses": {"200": json_response("The job's status now", _ID_AND_STATUS), **_COMMON},
        }
    },
    "/v2/{endpoint_id}/retry/{job_id}": {
        "post": {
            "tags": ["runpod"],
            "summary": "Queue a FAILED or TIMED_OUT job again under the same id",
            "parameters": [_ENDPOINT_ID, _JOB_ID],
            "responses": {
                "200": json_response("Queued again", _ID_AND_STATUS),
                **errors(409),
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
                "200": json_response(
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
                "200": json_response(
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
