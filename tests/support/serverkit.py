"""Test helpers for the server: real servers on loopback (in-process or `reelfarm serve` in a
subprocess), a real webhook receiver, tiny specs, and polling with deadlines."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from server.app import create_app
from server.config import Config, load_config
from support.waiting import wait_until

USER, PASSWORD = "admin", "changeme-but-long"
API_KEY = "test-api-key-0123456789abcdef"
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
BEARER = f"Bearer {API_KEY}"
ROOT = Path(__file__).resolve().parents[2]
# A server's shutdown waits on its renders, loops and connections; past this it is stuck.
STOP_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tiny_spec(title: str = "Hello", duration: float = 1.0, **extra: Any) -> dict[str, Any]:
    """A real render that takes a fraction of a second: 160x284, 10 fps, draft."""
    return {
        "theme": "default",
        "width": 160,
        "height": 284,
        "fps": 10,
        "scenes": [{"type": "title", "title": title, "duration": duration}],
        "output": {"quality": "draft"},
        **extra,
    }


def slow_spec(assets: Path, duration: float = 120.0) -> dict[str, Any]:
    """A render that takes many seconds (a 2-minute Ken Burns zoom), to cancel or to block."""
    return _photo_spec(assets, 480, 854, duration)


def medium_spec(assets: Path) -> dict[str, Any]:
    """A render of 2-3 seconds: long enough to kill mid-way, short enough to redo."""
    return _photo_spec(assets, 360, 640, 45)


def _photo_spec(assets: Path, width: int, height: int, duration: float) -> dict[str, Any]:
    return {
        "theme": "default",
        "width": width,
        "height": height,
        "fps": 30,
        "scenes": [{"type": "image", "src": str(assets / "hubble.jpg"), "duration": duration}],
        "output": {"quality": "draft"},
    }


def base_overrides(data_dir: Path, port: int, assets: Path | None = None) -> dict[str, Any]:
    return {
        "server": {"port": port, "shutdown_grace_s": 5.0},
        "storage": {"data_dir": str(data_dir)},
        "auth": {"basic_users": [f"{USER}:{PASSWORD}"], "api_keys": [API_KEY]},
        "pool": {"max_concurrent": 2},
        # The suite shares a small box with itself: the gates must not hold test jobs.
        "admission": {"cpu_high_percent": 100.0, "min_free_memory_mb": 1, "min_free_disk_mb": 1},
        "webhooks": {"allow_private_targets": True, "backoff_base_s": 0.2},
        "assets": {"allowed_dirs": [str(assets)] if assets else []},
    }


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = {k: dict(v) for k, v in base.items()}
    for section, values in extra.items():
        out.setdefault(section, {}).update(values)
    return out


class Client:
    """JSON over HTTP with the test credentials."""

    def __init__(self, base_url: str, auth: str | None = BASIC):
        self.base_url = base_url
        headers = {"Authorization": auth} if auth else {}
        self.session = aiohttp.ClientSession(headers=headers)

    async def close(self) -> None:
        await self.session.close()

    async def request(
        self, method: str, path: str, *, raw: bool = False, **kwargs: Any
    ) -> tuple[int, Any, dict[str, str]]:
        url = path if path.startswith("http") else self.base_url + path
        async with self.session.request(method, url, **kwargs) as resp:
            body = await resp.read()
            headers = dict(resp.headers)
            if raw:
                return resp.status, body, headers
            try:
                return resp.status, json.loads(body), headers
            except ValueError:
                return resp.status, body.decode(errors="replace"), headers

    async def get(self, path: str, **kw: Any) -> tuple[int, Any]:
        status, body, _ = await self.request("GET", path, **kw)
        return status, body

    async def post(self, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        status, out, _ = await self.request("POST", path, json=body, **kw)
        return status, out

    async def submit(self, spec: dict[str, Any], **envelope: Any) -> str:
        status, body = await self.post("/api/generate-video-async", {**spec, **envelope})
        assert status == 200, body
        return body["jobId"]

    async def status(self, job_id: str) -> dict[str, Any]:
        status, body = await self.get(f"/api/job-status/{job_id}")
        assert status == 200, body
        return body

    async def wait_status(
        self, job_id: str, statuses: tuple[str, ...], timeout_s: float = 60.0
    ) -> dict[str, Any]:
        async def check() -> dict[str, Any] | None:
            body = await self.status(job_id)
            return body if body["status"] in statuses else None

        return await wait_until(check, timeout_s)


@dataclass
class InProcessServer:
    """`create_app` on a real loopback port, in the test's event loop."""

    config: Config
    app: web.Application
    runner: web.AppRunner
    client: Client
    stopped: bool = False

    @property
    def base_url(self) -> str:
        return self.config.public_url

    @classmethod
    async def start(cls, config: Config, *, ready: bool = True) -> InProcessServer:
        app = create_app(config)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, config.server.host, config.server.port)
        await site.start()
        server = cls(config, app, runner, Client(config.public_url))
        if ready:
            await server.wait_ready()
        return server

    async def wait_ready(self, timeout_s: float = 60.0) -> None:
        async def ready() -> bool:
            status, _ = await self.client.get("/readyz")
            return status == 200

        await wait_until(ready, timeout_s)

    async def stop(self) -> None:
        """Idempotent: a test may stop a server early to restart on the same data."""
        if self.stopped:
            return
        self.stopped = True
        await self.client.close()
        try:
            await asyncio.wait_for(self.runner.cleanup(), STOP_TIMEOUT_S)
        except TimeoutError:
            raise AssertionError(f"the server did not stop: {_pending_tasks()}") from None


def _pending_tasks() -> str:
    """What a stuck shutdown is waiting on: each task's name and where it is suspended."""
    here = asyncio.current_task()
    found = []
    for task in asyncio.all_tasks():
        if task is not here:
            frames = task.get_stack()
            where = f"{frames[-1].f_code.co_filename}:{frames[-1].f_lineno}" if frames else "?"
            coro = getattr(task.get_coro(), "__qualname__", "?")
            found.append(f"{task.get_name()} ({coro}) at {where}")
    return "; ".join(found) or "no other task"


StartServer = Callable[..., Awaitable[InProcessServer]]


@contextlib.asynccontextmanager
async def serving(
    tmp_path: Path, assets: Path, defaults: dict[str, Any] | None = None
) -> AsyncIterator[StartServer]:
    """A factory of real in-process servers on free loopback ports; all stopped on exit.

    `await start({"pool": {"max_concurrent": 1}})` merges sections into `defaults`; pass
    `data_dir=` to restart on the same data, `ready=False` not to wait for the pool.
    """
    started: list[InProcessServer] = []

    async def start(
        extra: dict[str, Any] | None = None, *, data_dir: Path | None = None, ready: bool = True
    ) -> InProcessServer:
        overrides = merge(
            base_overrides(data_dir or tmp_path / "data", free_port(), assets),
            merge(defaults or {}, extra or {}),
        )
        server = await InProcessServer.start(config_from(overrides), ready=ready)
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in reversed(started):
            await server.stop()


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """A real HTTP receiver on loopback that records every POST; it can be told to fail."""

    port: int = field(default_factory=free_port)
    deliveries: list[Delivery] = field(default_factory=list)
    fail_next: int = 0
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.fail_next > 0:
            self.fail_next -= 1
            self.deliveries.append(
                Delivery({"X-Failed": "1", **request.headers}, body, time.time())
            )
            return web.Response(status=500, text="try again")
        self.deliveries.append(Delivery(dict(request.headers), body, time.time()))
        return web.Response(text="ok")

    def accepted(self) -> list[dict[str, Any]]:
        return [d.json for d in self.deliveries if "X-Failed" not in d.headers]

    def events_for(self, job_id: str) -> list[str]:
        return [d["event"] for d in self.accepted() if d["jobId"] == job_id]


class ServeProcess:
    """`reelfarm serve --config FILE` as a child process with its own process group."""

    def __init__(self, config_file: Path, log_file: Path, env: dict[str, str] | None = None):
        self.config_file = config_file
        self.log_file = log_file
        self.env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        self.log = self.log_file.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--config", str(self.config_file)],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def logs(self) -> str:
        return self.log_file.read_text(errors="replace")

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, sig)

    def kill_hard(self) -> None:
        """kill -9 of the server process only: its workers notice their parent is gone."""
        self.signal(signal.SIGKILL)
        self.wait(10)

    def wait(self, timeout_s: float) -> int:
        assert self.proc is not None
        code = self.proc.wait(timeout=timeout_s)
        self.log.close()
        return code

    def stop(self) -> None:
        """Clean up: terminate the whole group if still running (never leaves FFmpeg behind)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with_group = self.proc.pid
            os.killpg(with_group, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(with_group, signal.SIGKILL)
                self.proc.wait(timeout=10)
        if not self.log.closed:
            self.log.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # stragglers of the group, if any


def write_config(path: Path, sections: dict[str, dict[str, Any]]) -> Path:
    """A config.toml from a dict (strings, numbers, bools and lists of those)."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, list | tuple):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return json.dumps(str(v))

    # A real server would make every theme's effects at start-up: hundreds of MB and tens of
    # CPU seconds per test server, for renders the tests never ask for.
    sections = {"themes": {"prepare_at_start": False}, **sections}
    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{k} = {value(v)}" for k, v in values.items()]
        lines.append("")
    path.write_text("\n".join(lines))
    return path


def log_lines(text: str, pattern: str) -> list[str]:
    return [line for line in text.splitlines() if re.search(pattern, line)]


def config_from(overrides: dict[str, Any]) -> Config:
    return load_config(overrides=overrides, environ={})
