"""A real redis-server per test on a free loopback port, AOF on, in a tmp dir; it can be killed
with SIGKILL and restarted on the same dir and port to prove what survives.

Use the fixtures from a conftest (`from support.redis_server import redis_server  # noqa: F401`)
or `start_redis` directly. Never port 6379, never a shared instance.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from support.waiting import wait_until_blocking

# What every test server runs with: every write fsynced before the reply, no RDB snapshots
# (they would only slow the tests down and hide what AOF alone keeps).
DURABLE = ("--appendonly", "yes", "--appendfsync", "always", "--save", "")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server; .ci/run does)")
    return found


@dataclass
class RedisServer:
    """One redis-server child: `url` to connect, `kill` (SIGKILL), `start` again, `stop`."""

    dir: Path
    port: int
    args: Sequence[str] = DURABLE
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log(self) -> Path:
        return self.dir / "redis.log"

    def start(self, timeout_s: float = 15.0) -> RedisServer:
        """Start (or restart, on the same dir and port) and wait until it answers PING —
        after a restart that means it has finished replaying its AOF."""
        if self.process is not None and self.process.poll() is None:
            return self
        self.dir.mkdir(parents=True, exist_ok=True)
        command = [redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--dir", str(self.dir), "--logfile", str(self.log), *self.args]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_until_blocking(self._ready, timeout_s, f"redis-server on port {self.port}")
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            pipe = self.process.stderr
            stderr = pipe.read().decode(errors="replace") if pipe else ""
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise AssertionError(f"redis-server exited: {stderr}{log}")
        return ping(self.port)

    def kill(self) -> None:
        """SIGKILL, no shutdown save: what a power cut leaves is what the AOF holds."""
        self._end(signal.SIGKILL)

    def stop(self) -> None:
        self._end(signal.SIGTERM)

    def _end(self, sig: signal.Signals) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process.stderr is not None:
            self.process.stderr.close()
        self.process = None


def ping(port: int, timeout_s: float = 1.0) -> bool:
    """True when the server on `port` answers PONG (not LOADING, not refused)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def start_redis(directory: Path, *, args: Sequence[str] = DURABLE, port: int = 0) -> RedisServer:
    """A started redis-server in `directory` (on a free port unless one is given)."""
    return RedisServer(directory, port or _free_port(), tuple(args)).start()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A fresh durable redis-server for this test, stopped (or already killed) at the end."""
    server = start_redis(tmp_path / "redis")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def shared_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One durable redis-server for the whole run, for tests that only need their own key
    prefix (never kill or reconfigure this one)."""
    server = start_redis(tmp_path_factory.mktemp("redis-shared"))
    try:
        yield server
    finally:
        server.stop()
