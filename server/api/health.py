"""Probes: `/healthz` (the process answers) and `/readyz` (the pool is up and not draining)."""

from __future__ import annotations

from typing import Any

from aiohttp import web


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    from server.app import SCHEDULER

    scheduler = request.app[SCHEDULER]
    if scheduler.draining:
        return web.json_response({"ready": False, "reason": "shutting down"}, status=503)
    if scheduler.pool_error:
        reason = f"worker pool failed to start: {scheduler.pool_error}"
        return web.json_response({"ready": False, "reason": reason}, status=503)
    if not scheduler.ready:
        return web.json_response({"ready": False, "reason": "worker pool starting"}, status=503)
    return web.json_response({"ready": True, "slots": scheduler.max_concurrent})


def setup(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)


_PROBE = {
    "security": [],
    "responses": {
        "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
    },
}
OPENAPI_PATHS: dict[str, Any] = {
    "/healthz": {"get": {**_PROBE, "summary": "Liveness: the process answers", "tags": ["health"]}},
    "/readyz": {
        "get": {
            **_PROBE,
            "summary": "Readiness: the worker pool is up and the server is not draining",
            "tags": ["health"],
            "responses": {
                **_PROBE["responses"],
                "503": {"$ref": "#/components/responses/Unavailable"},
            },
        }
    },
}
