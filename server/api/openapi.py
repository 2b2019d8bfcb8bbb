"""`GET /openapi.json`: an OpenAPI 3.1 document assembled from every adapter's
`OPENAPI_PATHS` / `OPENAPI_SCHEMAS`, with the spec's JSON Schema as `components.schemas.Spec`."""

from __future__ import annotations

from collections.abc import Iterable
from importlib import metadata
from types import ModuleType
from typing import Any

from aiohttp import web

from server.api.openapi_parts import (
    ERROR_SCHEMA,
    PARAMETERS,
    RESPONSES,
    errors,
    json_response,
    spec_schemas,
)
from server.state import MODULES, SERVICE

# Operations that never touch the job store: the probes (which say 503 themselves), the spec,
# themes and this document.
STORELESS_TAGS = frozenset({"health", "spec"})


def build(modules: Iterable[ModuleType], server_url: str) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA, **spec_schemas()}
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
        "paths": _store_may_be_away(paths),
        "components": {
            "schemas": schemas,
            "responses": RESPONSES,
            "parameters": PARAMETERS,
            "securitySchemes": {
                "basic": {"type": "http", "scheme": "basic"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
    }


def _store_may_be_away(paths: dict[str, Any]) -> dict[str, Any]:
    """Every operation that reads or writes jobs answers 503 while the job store cannot be
    reached: said once here rather than in each adapter's fragment."""
    return {path: {m: _with_503(op) for m, op in item.items()} for path, item in paths.items()}


def _with_503(operation: Any) -> Any:
    if not isinstance(operation, dict) or "responses" not in operation:
        return operation  # a path item's own fields (parameters), not an operation
    responses = operation["responses"]
    if "503" in responses or STORELESS_TAGS.intersection(operation.get("tags", ())):
        return operation
    return {**operation, "responses": {**responses, **errors(503)}}


async def openapi_json(request: web.Request) -> web.Response:
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
                "200": json_response("OpenAPI 3.1", {"type": "object"}),
                **errors(401),
            },
        }
    }
}
