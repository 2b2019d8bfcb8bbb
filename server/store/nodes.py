"""The node registry of a single-node store: the nodes this process registered, each live
until its heartbeat's TTL runs out (judged by this box's clock)."""

from __future__ import annotations

import dataclasses
import time

from server.store.base import NodeInfo


class LocalNodes:
    """In memory: with one process per data dir there is nothing to share."""

    def __init__(self) -> None:
        self._nodes: dict[str, tuple[NodeInfo, float]] = {}

    def beat(self, node: NodeInfo, *, ttl_s: float) -> None:
        now = time.time()
        self._nodes[node.id] = (dataclasses.replace(node, seen_at=now), now + ttl_s)

    def live(self) -> list[NodeInfo]:
        now = time.time()
        return [info for _, (info, until) in sorted(self._nodes.items()) if until > now]

    def gone(self, node_id: str) -> None:
        self._nodes.pop(node_id, None)
