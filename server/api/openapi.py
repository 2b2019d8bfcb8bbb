"""`GET /openapi.json`: an OpenAPI 3.1 document assembled from every adapter's
`OPENAPI_PATHS` / `OPENAPI_SCHEMAS`, with the spec's JSON Schema as `components.schemas.Spec`."""

from __future__ import annotations

import json
from collections.abc import Iterable
from importlib import metadata
from types import ModuleType
from typing import Any

from aiohttp import web

import scenes

_ERROR = {
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


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if headers:
        out["headers"] = headers
    return out


_RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}
RESPONSES = {
    "Invalid": _error("Malformed or invalid input; `errors` names each field"),
    "Unauthorized": _error(
        "Credentials missing or wrong",
        {"WWW-Authenticate": {"schema": {"type": "string"}}},
    ),
    "NotFound": _error("No such job (or not the caller's)"),
    "Conflict": _error("The job's state does not allow this"),
    "TooLarge": _error("Request body over [server] max_body_mb"),
    "QueueFull": _error("The queue is full; try again after Retry-After", _RETRY_AFTER),
    "Unavailable": _error("Not ready, or shutting down", _RETRY_AFTER),
}


def _spec_schemas() -> dict[str, Any]:
    """The spec's JSON Schema with its `$defs` lifted into components (refs rewritten)."""
    schema = scenes.json_schema()
    text = json.dumps(schema).replace('"#/$defs/', '"#/components/schemas/')
    schema = json.loads(text)
    defs = schema.pop("$defs", {})
    schema.pop("$schema", None)
    return {**defs, "Spec": schema}


def build(modules: Iterable[ModuleType], server_url: str) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {"Error": _ERROR, **_spec_schemas()}
    for module in modules:
        paths.update(getattr(module, "OPENAPI_PATHS", {}))
        schemas.update(getattr(module, "OPENAPI_SCHEMAS", {}))
    try:
        version = metadata.version("reelfarm")
    except metadata.PackageNotFoundError:
        version = "0"
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Reelfarm",
            "version": version,
            "description": "Self-hosted render server: a JSON spec in, a short MP4 out.",
        },
        "servers": [{"url": server_url}],
        "security": [{"basic": []}, {"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": RESPONSES,
            "parameters": {
                "IdempotencyKey": {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string", "maxLength": 200},
                    "description": "a repeat with the same key returns the same job",
                }
            },
            "securitySchemes": {
                "basic": {"type": "http", "scheme": "basic"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
    }


async def openapi_json(request: web.Request) -> web.Response:
    from server.app import MODULES, SERVICE

    service = request.app[SERVICE]
    return web.json_response(build(request.app[MODULES], service.config.public_url))


def setup(app: web.Application) -> None:
    app.router.add_get("/openapi.json", openapi_json)


OPENAPI_PATHS: dict[str, Any] = {
    "/openapi.json": {
        "get": {
            "tags": ["spec"],
            "summary": "This document",
            "responses": {
                "200": {
                    "description": "OpenAPI 3.1",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                "401": {"$ref": "#/components/responses/Unauthorized"},
            },
        }
    }
}
