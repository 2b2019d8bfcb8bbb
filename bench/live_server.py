"""A real `reelfarm serve` on loopback with a throwaway data dir, for the server benchmark."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
ASSETS = (ROOT.parent / "shared" / "assets").resolve()
AUTH = "Basic " + base64.b64encode(b"bench:bench-password").decode()
READY_TIMEOUT_S = 120

# The load generator stands in for clients on other machines: it runs below the server's
# priority so that it does not take the CPU the server would have in production. The server
# is started back at normal priority (which needs root, as on CI; otherwise it stays equal).
CLIENT_NICE = 5


def _normal_priority() -> None:
    with contextlib.suppress(PermissionError):
        os.setpriority(os.PRIO_PROCESS, 0, 0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config_toml(port: int, max_concurrent: int | str, data_dir: Path, assets: Path) -> str:
    """Basic auth for the load generator, and admission opened wide: the benchmark measures
    the server under load, so no submission may be turned away for the box's own state."""
    concurrent = f'"{max_concurrent}"' if isinstance(max_concurrent, str) else max_concurrent
    return f"""
[server]
port = {port}
shutdown_grace_s = 0.1
log_level = "warning"
[auth]
basic_users = ["bench:bench-password"]
[pool]
max_concurrent = {concurrent}
[themes]
prepare_at_start = false
[admission]
max_queue = 100000
cpu_high_percent = 100.0
min_free_memory_mb = 1
min_free_disk_mb = 1
[storage]
data_dir = "{data_dir}"
[assets]
allowed_dirs = ["{assets}"]
"""


class Server:
    """`reelfarm serve` with a throwaway data dir; `async with Server(...) as url:`."""

    def __init__(self, max_concurrent: int | str, assets: Path):
        self.max_concurrent = max_concurrent
        self.assets = assets
        self.port = free_port()
        self.tmp = Path(tempfile.mkdtemp(prefix="reelfarm-bench-"))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> str:
        config = config_toml(self.port, self.max_concurrent, self.tmp / "data", self.assets)
        (self.tmp / "config.toml").write_text(config)
        self._spawn()
        if await self._ready():
            return self.url
        raise RuntimeError(f"server did not become ready: {(self.tmp / 'server.log').read_text()}")

    async def _ready(self) -> bool:
        """Poll /readyz until it answers 200, the process exits, or READY_TIMEOUT_S passes."""
        assert self.proc is not None
        async with aiohttp.ClientSession() as session:
            deadline = time.monotonic() + READY_TIMEOUT_S
            while time.monotonic() < deadline:
                try:
                    async with session.get(f"{self.url}/readyz") as resp:
                        if resp.status == 200:
                            return True
                except aiohttp.ClientError:
                    pass
                if self.proc.poll() is not None:
                    break
                await asyncio.sleep(0.1)
        return False

    def _spawn(self) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "server.cli",
                "serve",
                "--config",
                str(self.tmp / "config.toml"),
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=(self.tmp / "server.log").open("wb"),
            start_new_session=True,
            preexec_fn=_normal_priority,  # only resets the child's niceness
        )

    async def __aexit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)
