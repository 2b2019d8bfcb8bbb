"""`reelfarm serve` as a real process: kill -9 and restart with nothing lost, SIGTERM drain,
SIGHUP reload, log lines, and config errors."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import psutil
import pytest
from support.serverkit import (
    API_KEY,
    ROOT,
    Client,
    ServeProcess,
    base_overrides,
    free_port,
    log_lines,
    medium_spec,
    merge,
    tiny_spec,
    wait_until,
    write_config,
)

MakeServer = Callable[..., ServeProcess]


@pytest.fixture
async def serve(tmp_path: Path, shared_assets: Path) -> AsyncIterator[MakeServer]:
    """`serve(extra)` writes a config.toml and returns a started `reelfarm serve` process;
    `.port`, `.config_file` and `.data_dir` say where it is. All are stopped at the end."""
    procs: list[ServeProcess] = []
    port = free_port()

    def make(extra: dict[str, Any] | None = None) -> ServeProcess:
        sections = merge(base_overrides(tmp_path / "data", port, shared_assets), extra or {})
        config_file = write_config(tmp_path / "config.toml", sections)
        proc = ServeProcess(config_file, tmp_path / "server.log")
        proc.port = port  # type: ignore[attr-defined]
        proc.start()
        procs.append(proc)
        return proc

    yield make
    for proc in procs:
        proc.stop()


async def _ready(client: Client) -> bool:
    try:
        status, _ = await client.get("/readyz")
    except OSError:
        return False
    return status == 200


def descendants(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def all_gone(procs: list[psutil.Process]) -> bool:
    for proc in procs:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                return False
        except psutil.NoSuchProcess:
            continue
    return True


async def test_kill_9_and_restart_mid_render_loses_nothing(
    serve: MakeServer, shared_assets: Path
) -> None:
    server = serve({"pool": {"max_concurrent": 1}})
    client = Client(f"http://127.0.0.1:{server.port}")  # type: ignore[attr-defined]
    try:
        await wait_until(lambda: _ready(client), 60)
        running = await client.submit(medium_spec(shared_assets))
        queued = [await client.submit(tiny_spec(title=f"n{i}")) for i in range(3)]

        async def mid_render() -> bool:
            body = await client.status(running)
            return body["status"] == "processing" and body["progress"] > 0

        await wait_until(mid_render, 60)
        assert server.proc is not None
        family = descendants(server.proc.pid)
        assert any("ffmpeg" in p.name() for p in family)
        server.kill_hard()
        # Workers and their FFmpeg die with the server: no orphan renders.
        await wait_until(lambda: all_gone(family), 15)

        restarted = serve({"pool": {"max_concurrent": 1}})
        await wait_until(lambda: _ready(client), 60)
        assert "Put 1 interrupted render(s) back in the queue" in restarted.logs()
        for job_id in [running, *queued]:
            done = await client.wait_status(job_id, ("completed", "failed"), 120)
            assert done["status"] == "completed", done
        _, page = await client.get("/api/jobs?limit=10")
        jobs = {j["id"]: j for j in page["jobs"]}
        assert jobs[running]["attempts"] == 2  # the interrupted attempt counted
        assert all(jobs[q]["attempts"] == 1 for q in queued)
        # The queue kept its order across the crash: the interrupted job first, then FIFO.
        order = sorted(jobs, key=lambda i: jobs[i]["started_at"])
        assert order == [running, *queued]
    finally:
        await client.close()


async def test_sigterm_requeues_the_running_render_and_exits_cleanly(
    serve: MakeServer, shared_assets: Path
) -> None:
    server = serve({"pool": {"max_concurrent": 1}, "server": {"shutdown_grace_s": 0.5}})
    client = Client(f"http://127.0.0.1:{server.port}")  # type: ignore[attr-defined]
    try:
        await wait_until(lambda: _ready(client), 60)
        job_id = await client.submit(medium_spec(shared_assets))
        await client.wait_status(job_id, ("processing",))
        assert server.proc is not None
        family = descendants(server.proc.pid)
        server.signal(signal.SIGTERM)
        assert server.wait(30) == 0
        await wait_until(lambda: all_gone(family), 10)
        logs = server.logs()
        assert "Shutting down: no new renders" in logs
        assert f"Job {job_id} back in the queue: the server shut down" in logs

        serve({"pool": {"max_concurrent": 1}})
        await wait_until(lambda: _ready(client), 60)
        done = await client.wait_status(job_id, ("completed", "failed"), 120)
        assert done["status"] == "completed"
        _, job = await client.get(f"/api/jobs/{job_id}")
        assert job["attempts"] == 1  # a clean shutdown gives the attempt back
    finally:
        await client.close()


async def test_sighup_reloads_pool_size_gates_and_keys_without_dropping_jobs(
    serve: MakeServer,
) -> None:
    new_key = "a-brand-new-key-0123456789"
    server = serve({"pool": {"max_concurrent": 1}, "admission": {"min_free_disk_mb": 10**9}})
    client = Client(f"http://127.0.0.1:{server.port}")  # type: ignore[attr-defined]
    newcomer = Client(client.base_url, auth=f"Bearer {new_key}")
    try:
        await wait_until(lambda: _ready(client), 60)
        job_id = await client.submit(tiny_spec())

        async def holding_disk() -> bool:
            _, queue = await client.get("/api/queue-status")
            return queue["holding"] == "disk"

        await wait_until(holding_disk, 15)
        assert (await newcomer.get("/api/queue-status"))[0] == 401

        config = server.config_file.read_text()
        config = config.replace("min_free_disk_mb = 1000000000", "min_free_disk_mb = 1")
        config = config.replace("max_concurrent = 1", "max_concurrent = 2")
        config = config.replace(
            f'api_keys = ["{API_KEY}"]', f'api_keys = ["{API_KEY}", "{new_key}"]'
        )
        server.config_file.write_text(config)
        server.signal(signal.SIGHUP)

        async def reloaded() -> bool:
            status, queue = await newcomer.get("/api/queue-status")
            return status == 200 and queue["maxConcurrent"] == 2

        await wait_until(reloaded, 30)
        done = await client.wait_status(job_id, ("completed",), 60)
        assert done["status"] == "completed"

        async def logged() -> bool:
            return "Config reloaded (2 render slot(s), 1 user(s), 2 key(s))" in server.logs()

        await wait_until(logged, 30)
    finally:
        await client.close()
        await newcomer.close()


async def test_log_lines_follow_the_seed(serve: MakeServer) -> None:
    server = serve({"pool": {"max_concurrent": 1}})
    client = Client(f"http://127.0.0.1:{server.port}")  # type: ignore[attr-defined]
    try:
        await wait_until(lambda: _ready(client), 60)
        job_id = await client.submit(tiny_spec())
        await client.wait_status(job_id, ("completed",))

        async def logged() -> bool:
            return f"Job {job_id} completed" in server.logs()

        await wait_until(logged, 10)
        logs = server.logs()
        assert log_lines(logs, rf"Job {job_id} queued \(Queue: \d+, Active: \d+/1\)")
        assert log_lines(logs, rf"Starting job {job_id} \(Active: 1/1, Queue: \d+\)")
        assert log_lines(logs, rf"Job {job_id} completed in [\d.]+s \(Active: 0/1, Queue: 0\)")
    finally:
        await client.close()


async def test_json_logs_carry_the_event_fields(serve: MakeServer) -> None:
    server = serve({"server": {"log_format": "json"}})
    client = Client(f"http://127.0.0.1:{server.port}")  # type: ignore[attr-defined]
    try:
        await wait_until(lambda: _ready(client), 60)
        job_id = await client.submit(tiny_spec())
        await client.wait_status(job_id, ("completed",))

        async def logged() -> list[dict[str, Any]] | None:
            events = [
                json.loads(line) for line in server.logs().splitlines() if line.startswith("{")
            ]
            done = [e for e in events if e.get("event") == "job.completed"]
            return events if done else None

        events = await wait_until(logged, 10)
        queued = next(e for e in events if e["event"] == "job.queued")
        assert queued["job_id"] == job_id and queued["max_concurrent"] == 2
        assert {"ts", "level", "msg", "queue", "active"} <= set(queued)
    finally:
        await client.close()


def _cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        cwd=cwd,
        env={**env} if env else None,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("sections", "expected"),
    [
        (
            {"pool": {"render_timeout_s": "soon"}, "nope": {"x": 1}},
            ["[nope]: unknown section", "pool.render_timeout_s: must be a number"],
        ),
        (
            {"pool": {"max_concurrent": 0}, "webhooks": {"max_attempts": -1}},
            ["pool.max_concurrent: must be > 0", "webhooks.max_attempts: must be > 0"],
        ),
    ],
)
def test_bad_config_prints_one_line_per_problem_and_exits_2(
    tmp_path: Path, sections: dict[str, Any], expected: list[str]
) -> None:
    bad = write_config(tmp_path / "bad.toml", sections)
    for command in ("check-config", "serve"):
        result = _cli(command, "--config", str(bad))
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == len(expected), lines
        for wanted in expected:
            assert any(line.startswith(f"reelfarm {command}: {wanted}") for line in lines), lines


def test_check_config_prints_the_effective_config_with_env_overrides(tmp_path: Path) -> None:
    import os

    result = _cli(
        "check-config",
        "--config",
        str(ROOT / "config.toml"),
        env={**os.environ, "REELFARM_POOL_MAX_CONCURRENT": "3", "REELFARM_WEBHOOKS_SECRET": "s3"},
    )
    assert result.returncode == 0, result.stderr
    effective = json.loads(result.stdout.split("\n", 1)[1])
    assert effective["pool"]["max_concurrent"] == 3
    assert effective["webhooks"]["secret"] == "***"


def test_serve_refuses_to_bind_beyond_loopback_without_credentials(tmp_path: Path) -> None:
    config = write_config(tmp_path / "open.toml", {"server": {"host": "0.0.0.0"}})  # noqa: S104
    result = _cli("serve", "--config", str(config))
    assert result.returncode == 2
    assert "refusing to listen on 0.0.0.0 with no credentials" in result.stderr
