"""Probes: `/healthz` (the process answers) and `/readyz` (the pool is up, the job store
answers, and the node is not draining)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from server.api.openapi_parts import json_response
from server.state import SCHEDULER, STORE_HEALTH


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    scheduler = request.app[SCHEDULER]
    if scheduler.draining:
        return web.json_response({"ready": False, "reason": "shutting down"}, status=503)
    if scheduler.pool_error:
        reason = f"worker pool failed to start: {scheduler.pool_error}"
        return web.json_response({"ready": False, "reason": reason}, status=503)
    if not scheduler.ready:
        return web.json_response({"ready": False, "reason": "worker pool starting"}, status=503)
    if not request.app[STORE_HEALTH].available:
        # Its details (addresses) go to the log; the probe is public.
        reason = "the job store is unavailable"
        return web.json_response({"ready": False, "reason": reason}, status=503)
    return web.json_response({"ready": True, "slots": scheduler.max_concurrent})


def setup(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)


def _probe(summary: str, ok: dict[str, Any]) -> dict[str, Any]:
    return {"get": {"tags": ["health"], "summary": summary, "security": [], "responses": ok}}


_NOT_READY = {
    "type": "object",
    "required": ["ready", "reason"],
    "properties": {"ready": {"const": False}, "reason": {"type": "string"}},
}
_READY = {
    "type": "object",
    "required": ["ready", "slots"],
    "properties": {"ready": {"const": True}, "slots": {"type": "integer", "minimum": 1}},
}
_ALIVE = {"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}}
OPENAPI_PATHS: dict[str, Any] = {
    "/healthz": _probe("Liveness: the process answers", {"200": json_response("Alive", _ALIVE)}),
    "/readyz": _probe(
        "Readiness: the worker pool is up, the job store answers, and the server is not draining",
        {
            "200": json_response("Ready", _READY),
            "503": json_response(
                "Starting, failed to start, job store unavailable, or shutting down", _NOT_READY
            ),
        },
    ),
}
