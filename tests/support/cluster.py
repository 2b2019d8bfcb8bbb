"""Several `reelfarm serve` processes on one Redis and one shared data dir, as boxes share a
store and a filesystem: start them, find which one renders a job, kill or freeze it.

Each node is a real process with its own config, port and log; `node.client` talks to it.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.serverkit import (
    Client,
    ServeProcess,
    base_overrides,
    free_port,
    merge,
    write_config,
)
from support.waiting import wait_until


@dataclass
class Node:
    """One `reelfarm serve` of the cluster, named by its `[server] node_id`."""

    id: str
    port: int
    process: ServeProcess
    client: Client

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def logs(self) -> str:
        return self.process.logs()

    def kill_hard(self) -> None:
        """kill -9 of the server process (its workers notice their parent is gone)."""
        self.process.kill_hard()

    def freeze(self) -> None:
        """SIGSTOP of the server process, as a long pause would leave it: its render workers
        run on, but it renews no lease and records nothing until `thaw`."""
        self.process.signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.process.signal(signal.SIGCONT)

    async def ready(self) -> bool:
        try:
            status, _ = await self.client.get("/readyz")
        except OSError:
            return False
        return status == 200

    async def rendering(self) -> list[str]:
        """The jobs this node renders now, as it reports itself (its own entry in
        `/api/nodes` is always current; the others' are as of their last beat)."""
        status, body = await self.client.get("/api/nodes")
        assert status == 200, body
        [me] = [n for n in body["nodes"] if n["id"] == body["node"]]
        return list(me["jobs"])


class Cluster:
    """Nodes started on `redis_url`, all writing to `tmp_path / "data"`; `stop` ends all."""

    def __init__(self, tmp_path: Path, assets: Path, redis_url: str, common: dict[str, Any]):
        self.tmp_path = tmp_path
        self.data_dir = tmp_path / "data"
        self._assets = assets
        self._sections = merge({"storage": {"backend": "redis", "redis_url": redis_url}}, common)
        self.nodes: list[Node] = []

    def start(self, node_id: str, extra: dict[str, Any] | None = None) -> Node:
        """Start `reelfarm serve` as `node_id` (not yet ready: see `wait_ready`)."""
        port = free_port()
        sections = merge(base_overrides(self.data_dir, port, self._assets), self._sections)
        sections = merge(sections, {"server": {"node_id": node_id}, **(extra or {})})
        config = write_config(self.tmp_path / f"{node_id}.toml", sections)
        process = ServeProcess(config, self.tmp_path / f"{node_id}.log")
        process.start()
        node = Node(node_id, port, process, Client(f"http://127.0.0.1:{port}"))
        self.nodes.append(node)
        return node

    async def wait_ready(self, timeout_s: float = 60.0) -> None:
        for node in self.nodes:
            await wait_until(node.ready, timeout_s, what=f"node {node.id} ready")

    async def holder(self, job_id: str, among: list[Node], timeout_s: float = 60.0) -> Node:
        """The node of `among` that renders `job_id`, once one does."""

        async def find() -> Node | None:
            for node in among:
                if job_id in await node.rendering():
                    return node
            return None

        return await wait_until(find, timeout_s, what=f"a node rendering {job_id}")

    async def stop(self) -> None:
        for node in self.nodes:
            await node.client.close()
            if node.process.proc is not None and node.process.proc.poll() is None:
                # A frozen node would ignore SIGTERM until woken.
                os.killpg(node.process.proc.pid, signal.SIGCONT)
            node.process.stop()
