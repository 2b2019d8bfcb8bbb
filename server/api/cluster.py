"""`GET /api/nodes`: the render nodes sharing this node's job store, as each last registered
(this one as it is now). One node on SQLite; every live node on Redis, so any node answers for
all of them.

Each lists the jobs it renders; a caller sees only the ids of its own (ids stay private to the
principal that submitted them, as everywhere in the API).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from server.api.common import service_of
from server.api.openapi_parts import errors, json_response
from server.auth import principal_of
from server.jobs import JobState
from server.nodes import totals
from server.state import NODES
from server.store.base import NodeInfo
from server.webhooks import iso_time


async def list_nodes(request: web.Request) -> web.Response:
    registry = request.app[NODES]
    nodes = await registry.cluster()
    visible = await _visible_jobs(request, nodes)
    slots, busy = totals(nodes)
    return web.json_response(
        {
            "node": registry.me().id,
            "slots": slots,
            "busy": busy,
            "nodes": [_node_json(n, visible) for n in nodes],
        }
    )


async def _visible_jobs(request: web.Request, nodes: list[NodeInfo]) -> set[str] | None:
    """The ids among `nodes`' jobs the caller may see; None: all of them (no auth)."""
    caller = principal_of(request)
    if caller is None:
        return None
    rendering = sum(len(n.jobs) for n in nodes)
    if not rendering:
        return set()
    mine = await service_of(request).list(JobState.PROCESSING, limit=rendering, owner=caller)
    return {job.id for job in mine}


def _node_json(node: NodeInfo, visible: set[str] | None) -> dict[str, Any]:
    return {
        "id": node.id,
        "slots": node.slots,
        "busy": node.busy,
        "encoder": node.encoder,
        "gpu": node.gpu,
        "version": node.version,
        "jobs": [j for j in node.jobs if visible is None or j in visible],
        "last_seen": iso_time(node.seen_at),
    }


def setup(app: web.Application) -> None:
    app.router.add_get("/api/nodes", list_nodes)


_NODE = {
    "type": "object",
    "required": ["id", "slots", "busy", "encoder", "gpu", "version", "jobs", "last_seen"],
    "properties": {
        "id": {"type": "string", "description": "[server] node_id, or hostname-pid-random"},
        "slots": {"type": "integer", "minimum": 0, "description": "render slots"},
        "busy": {"type": "integer", "minimum": 0, "description": "renders in flight"},
        "encoder": {"type": "string", "description": "h264_nvenc, libx264, or unknown"},
        "gpu": {"type": ["string", "null"], "description": "GPU model(s); null without one"},
        "version": {"type": "string"},
        "jobs": {
            "type": "array",
            "items": {"type": "string"},
            "description": "the caller's jobs rendering on this node",
        },
        "last_seen": {"type": "string", "format": "date-time"},
    },
}
_NODES = {
    "type": "object",
    "required": ["node", "slots", "busy", "nodes"],
    "properties": {
        "node": {"type": "string", "description": "the id of the node that answered"},
        "slots": {"type": "integer", "minimum": 0, "description": "over every live node"},
        "busy": {"type": "integer", "minimum": 0, "description": "over every live node"},
        "nodes": {"type": "array", "items": _NODE},
    },
}
OPENAPI_PATHS: dict[str, Any] = {
    "/api/nodes": {
        "get": {
            "tags": ["nodes"],
            "summary": "The live render nodes sharing the job store, sorted by id",
            "responses": {"200": json_response("The nodes", _NODES), **errors(401)},
        }
    }
}
