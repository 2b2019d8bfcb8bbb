"""The two sides of the cluster benchmark as real processes: one `reelfarm serve` on SQLite,
or a redis-server with two `reelfarm serve` nodes sharing it and one data dir."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import tomllib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import redis.asyncio as aioredis
from live_server import Server, _normal_priority, config_toml, free_port

# What the AOF keeps: `everysec` is the README's faster choice (a Redis crash can lose about
# a second of acknowledged writes); `always` fsyncs every write before Redis answers.
DEFAULT_APPENDFSYNC = "everysec"
REDIS_START_S = 15.0


# The memory gate never opens: nodes accept and store jobs but claim none, so the clients'
# load can be measured on a box with no render running.
HOLD_RENDERS: dict[str, dict[str, Any]] = {"admission": {"min_free_memory_mb": 10**8}}


def merged(*layers: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Config sections merged key by key, later layers winning."""
    out: dict[str, dict[str, Any]] = {}
    for layer in layers:
        for section, values in layer.items():
            out.setdefault(section, {}).update(values)
    return out


def with_settings(toml_text: str, settings: dict[str, dict[str, Any]]) -> str:
    """`toml_text` with `settings` merged in, written out again as TOML."""
    config = merged(tomllib.loads(toml_text), settings)
    # JSON writes strings, numbers, booleans and lists of them as TOML does.
    return "".join(
        f"[{section}]\n" + "".join(f"{key} = {json.dumps(v)}\n" for key, v in values.items())
        for section, values in config.items()
    )


class Node(Server):
    """One `reelfarm serve` of the benchmark, on a data dir it may share with others."""

    def __init__(
        self, slots: int, assets: Path, data_dir: Path, settings: dict[str, dict[str, Any]]
    ):
        super().__init__(slots, assets)
        self.data_dir = data_dir
        self.settings = settings

    @property
    def node_id(self) -> str:
        return str(self.settings.get("server", {}).get("node_id", "sqlite"))

    async def __aenter__(self) -> str:
        base = config_toml(self.port, self.max_concurrent, self.data_dir, self.assets)
        (self.tmp / "config.toml").write_text(with_settings(base, self.settings))
        self._spawn()
        if await self._ready():
            return self.url
        log = (self.tmp / "server.log").read_text(errors="replace")
        raise RuntimeError(f"node {self.node_id} did not become ready: {log}")

    def kill_hard(self) -> float:
        """kill -9 of the node's whole process group (server, render workers, FFmpeg), as a
        box losing power leaves it; the time of the kill (time.monotonic)."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        self.proc.wait()
        return killed_at


@dataclass
class RedisProcess:
    """A redis-server on a free loopback port, AOF on, in a throwaway dir."""

    appendfsync: str
    dir: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisProcess:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed (apt-get install redis-server)")
        self.port = free_port()
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir)]
        args += ["--appendonly", "yes", "--appendfsync", self.appendfsync, "--save", ""]
        # At the servers' priority, not the load generator's.
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, preexec_fn=_normal_priority)
        deadline = time.monotonic() + REDIS_START_S
        while time.monotonic() < deadline:
            if self._answers_ping():
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)  # the poll interval of a start-up deadline
        self.stop()
        raise SystemExit("redis-server did not start")

    def _answers_ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


async def command_counts(url: str) -> dict[str, int]:
    """Calls per command since the server started, as Redis counts them (the commands run
    inside Lua scripts included); the benchmark's own INFO calls left out."""
    client = aioredis.from_url(url)
    try:
        stats = await client.info("commandstats")
    finally:
        await client.aclose()
    calls = {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}
    return {name: n for name, n in calls.items() if name != "info"}


def count_delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    grown = {name: n - before.get(name, 0) for name, n in after.items()}
    return {name: n for name, n in grown.items() if n > 0}


def _own_cpu_s(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def _tree_cpu_s(process: psutil.Process) -> float:
    """CPU of `process`'s descendants, and of their children already reaped (FFmpeg)."""
    total = 0.0
    for child in process.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            times = child.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
    return total


def cpu_snapshot(side: Side) -> dict[str, float]:
    """CPU seconds so far: the nodes' server processes, their render workers and FFmpeg,
    redis-server, and this process (the clients)."""
    servers = [psutil.Process(node.proc.pid) for node in side.nodes if node.proc]
    snapshot = {
        "servers": sum(_own_cpu_s(p) for p in servers),
        "renders": sum(_tree_cpu_s(p) for p in servers),
        "redis": _own_cpu_s(psutil.Process(side.redis.proc.pid))
        if side.redis and side.redis.proc
        else 0.0,
        "clients": _own_cpu_s(psutil.Process()),
    }
    # The whole box, to see what other tenants took: busy is everything but idle and I/O
    # wait; steal is time the hypervisor gave this VM's CPUs to someone else.
    box = psutil.cpu_times()
    snapshot["box_busy"] = sum(box) - box.idle - getattr(box, "iowait", 0.0)
    snapshot["box_steal"] = getattr(box, "steal", 0.0)
    return snapshot


def webhook_settings() -> dict[str, dict[str, Any]]:
    # The receiver is on loopback; a failed delivery is retried soon, not minutes later.
    return {"webhooks": {"allow_private_targets": True, "backoff_base_s": 0.2}}


@dataclass
class Side:
    """The nodes of one side, and its redis-server (None on SQLite)."""

    name: str
    nodes: list[Node]
    redis: RedisProcess | None = None

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    @property
    def slots(self) -> int:
        return sum(int(node.max_concurrent) for node in self.nodes)


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


async def _start_all(stack: contextlib.AsyncExitStack, nodes: list[Node]) -> None:
    """Start the nodes side by side; each is stopped on leaving `stack`, also when its own
    start fails (its process may be up and not ready)."""
    for node in nodes:
        stack.push_async_exit(node.__aexit__)
    await asyncio.gather(*(node.__aenter__() for node in nodes))


@contextlib.asynccontextmanager
async def sqlite_side(
    slots: int, assets: Path, extra: dict[str, dict[str, Any]] | None = None
) -> AsyncIterator[Side]:
    """Side A: one node on SQLite holding all of the side's slots."""
    tmp = Path(tempfile.mkdtemp(prefix="reelfarm-bench-sqlite-"))
    try:
        async with contextlib.AsyncExitStack() as stack:
            settings = merged(webhook_settings(), extra or {})
            node = Node(slots, assets, tmp / "data", settings)
            await _start_all(stack, [node])
            yield Side(f"SQLite, 1 node, {plural(slots, 'slot')}", [node])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.asynccontextmanager
async def redis_side(
    nodes: int,
    slots_per_node: int,
    assets: Path,
    lease_s: float,
    appendfsync: str,
    extra: dict[str, dict[str, Any]] | None = None,
) -> AsyncIterator[Side]:
    """Side B: `nodes` nodes on one redis-server and one shared data dir."""
    tmp = Path(tempfile.mkdtemp(prefix="reelfarm-bench-redis-"))
    (tmp / "redis").mkdir()
    redis = RedisProcess(appendfsync, tmp / "redis")
    try:
        redis.start()
        async with contextlib.AsyncExitStack() as stack:
            members = [
                Node(
                    slots_per_node,
                    assets,
                    tmp / "data",
                    merged(redis_settings(n, redis.url, lease_s), extra or {}),
                )
                for n in range(1, nodes + 1)
            ]
            await _start_all(stack, members)
            name = f"Redis, {plural(nodes, 'node')}, {plural(slots_per_node, 'slot')} each"
            yield Side(name, members, redis)
    finally:
        redis.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def redis_settings(n: int, redis_url: str, lease_s: float) -> dict[str, dict[str, Any]]:
    return {
        "server": {"node_id": f"node-{n}"},
        "storage": {"backend": "redis", "redis_url": redis_url},
        "pool": {"lease_s": lease_s},
        **webhook_settings(),
    }
