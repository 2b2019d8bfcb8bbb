"""This node in the registry every node shares through the job store.

Every `NODE_BEAT_S` the node registers what it is and what it holds (`NodeInfo`: id, render
slots, renders in flight, encoder, GPU, version, the job ids it renders) with a TTL of a few
beats, so a node that dies drops out of `nodes()` by itself within 6 s; a clean
shutdown unregisters at once. The cluster-wide figures (`GET /api/queue-status`,
`GET /api/nodes`, Runpod `/health`) are read from the registry, with this node's own entry
always as it is now rather than as of its last beat; a job's status (polled often) counts the
other nodes' slots as of the last beat instead, to stay one store round trip. On SQLite the
registry holds this node alone, so those answers are this node's, as before.

The beat also proves the store answers: it ends an outage in `server.outage.StoreHealth`,
and it reports how many nodes it found (`on_count`: the `reelfarm_cluster_nodes` gauge).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import socket
import time
import uuid
from collections.abc import Callable
from importlib import metadata

from server.capacity import gpu_facts
from server.logs import EventLog
from server.outage import StoreHealth
from server.store.base import JobStore, NodeInfo, StoreUnavailable

NODE_BEAT_S = 2.0
# Three missed beats and a node is gone from the list (its leases run out on their own).
TTL_BEATS = 3


def resolve_node_id(configured: str) -> str:
    """`[server] node_id`, or for "auto" hostname-pid-random: unique per process, even for
    several processes on one box or a restart that reuses a pid."""
    if configured != "auto":
        return configured
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def package_version() -> str:
    try:
        return metadata.version("reelfarm")
    except metadata.PackageNotFoundError:
        return "unknown"


def gpu_label(names: list[str]) -> str | None:
    """The node's GPUs in one short string: "NVIDIA H200", "2 x NVIDIA A10G", or None."""
    if not names:
        return None
    counted = {name: names.count(name) for name in names}
    return ", ".join(name if n == 1 else f"{n} x {name}" for name, n in counted.items())


class NodeRegistry:
    """Registers this node every beat; `cluster()` is every live node, this one fresh."""

    def __init__(
        self,
        store: JobStore,
        describe: Callable[[], NodeInfo],
        *,
        health: StoreHealth,
        beat_s: float = NODE_BEAT_S,
        on_count: Callable[[int], None] = lambda nodes: None,
    ):
        self._store = store
        self._describe = describe
        self._health = health
        self._beat_s = beat_s
        self._on_count = on_count
        self._gpu: str | None = None
        self._others: list[NodeInfo] = []  # the other live nodes, as of the last beat
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._log = EventLog()

    def me(self) -> NodeInfo:
        """This node as it is now."""
        return dataclasses.replace(self._describe(), gpu=self._gpu, seen_at=time.time())

    async def start(self) -> None:
        # NVML is read once, off the event loop; the GPUs of a running node do not change.
        self._gpu = gpu_label([gpu.name for gpu in await asyncio.to_thread(gpu_facts)])
        await self._beat()  # listed from the first answer on, not a beat later
        self._task = asyncio.create_task(self._run(), name="node-registry")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task  # a beat in flight is let finish: it is bounded by the timeouts
            self._task = None
        # A store away now only means the entry lingers until its TTL.
        with contextlib.suppress(StoreUnavailable):
            await self._store.node_gone(self.me().id)

    async def cluster(self) -> list[NodeInfo]:
        """Every live node, sorted by id, with this one as it is now (it is listed even before
        its first beat lands or while its entry is late)."""
        me = self.me()
        others = [n for n in await self._store.nodes() if n.id != me.id]
        return sorted([*others, me], key=lambda n: n.id)

    def slots(self) -> int:
        """Render slots over every live node: this one's now, the others' as of the last beat
        (no store round trip)."""
        return self._describe().slots + sum(n.slots for n in self._others)

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._stopping.wait(), self._beat_s)
                return  # stop() was called
            except TimeoutError:
                await self._beat()

    async def _beat(self) -> None:
        try:
            me = self.me()
            await self._store.node_heartbeat(me, ttl_s=TTL_BEATS * self._beat_s)
            self._others = [n for n in await self._store.nodes() if n.id != me.id]
            self._on_count(1 + len(self._others))
        except StoreUnavailable as exc:
            self._health.failed(exc, where="node registration")
        except Exception as exc:  # one failed beat must not end the registration
            self._log.error("node.beat_error", f"Node registration failed: {exc!r}")
        else:
            self._health.answered()


def totals(nodes: list[NodeInfo]) -> tuple[int, int]:
    """(render slots, renders in flight) over `nodes`."""
    return sum(n.slots for n in nodes), sum(n.busy for n in nodes)
