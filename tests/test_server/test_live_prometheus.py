"""A real Prometheus scrapes a real `reelfarm serve` through a few tiny renders.

The server starts with admission held (a disk floor no box meets), so the queue is observably
full; a SIGHUP with a sane floor lets the renders through. Prometheus (Debian's package, on
loopback, 1 s scrapes, deploy/alerts.yml loaded) must then report what happened: jobs
completed, the queue drained, every frame the workers encoded. Every PromQL expression of the
dashboard and the rules must run against it.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.live import Running, http_get, http_post_json, start
from support.serverkit import free_port
from support.waiting import wait_until_blocking

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"

JOBS = 3
FPS = 10
SCENE_S = 1.0
FRAMES_PER_JOB = int(FPS * SCENE_S)
# A floor no disk meets: the disk gate holds every job until the SIGHUP lowers it.
HOLDING_DISK_MB = 1 << 40
STARTUP_S = 60.0
RENDERS_S = 90.0

pytestmark = pytest.mark.timeout(240)


def tiny_spec(n: int) -> dict[str, Any]:
    return {
        "width": 180,
        "height": 320,
        "fps": FPS,
        "scenes": [{"type": "title", "title": f"Metrics {n}", "duration": SCENE_S}],
    }


# Processes -------------------------------------------------------------------------------------


def write_server_config(path: Path, port: int, data_dir: Path, min_free_disk_mb: int) -> None:
    path.write_text(
        f"""
[server]
host = "127.0.0.1"
port = {port}
log_level = "warning"
shutdown_grace_s = 5

[pool]
max_concurrent = 1
render_threads = 1

[themes]
prepare_at_start = false

[admission]
min_free_disk_mb = {min_free_disk_mb}
min_free_memory_mb = 64
cpu_high_percent = 100

[encoder]
prefer = ["libx264"]
quality = "draft"

[storage]
data_dir = "{data_dir}"
"""
    )


@pytest.fixture(scope="module")
def reelfarm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Running, Path]]:
    """`reelfarm serve` on a loopback port, with admission holding every job."""
    home = tmp_path_factory.mktemp("reelfarm")
    port = free_port()
    config = home / "config.toml"
    write_server_config(config, port, home / "data", HOLDING_DISK_MB)
    server = start(
        [sys.executable, "-m", "server.cli", "serve", "--config", str(config)],
        home / "server.log",
        f"http://127.0.0.1:{port}",
        cwd=home,
    )
    try:
        wait_until_blocking(lambda: answers(server, "/readyz"), STARTUP_S, "reelfarm /readyz")
        yield server, config
    finally:
        server.stop()


def answers(running: Running, path: str) -> bool:
    """True once `path` answers 200; fails at once, with the log, if the process exited."""
    _exited(running)
    return http_get(running.url + path)[0] == 200


def _exited(running: Running) -> None:
    if running.process.poll() is not None:
        raise AssertionError(f"exited with {running.process.returncode}:\n{running.output()}")


@dataclass
class Prometheus:
    running: Running

    def evaluate(self, expr: str) -> tuple[int, dict[str, Any]]:
        """The HTTP status and the whole answer to an instant query, an error included."""
        status, body = http_get(
            f"{self.running.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        )
        return status, json.loads(body)

    def query(self, expr: str) -> dict[str, Any]:
        status, answer = self.evaluate(expr)
        assert status == 200 and answer["status"] == "success", (expr, answer)
        return answer["data"]

    def value(self, expr: str) -> float | None:
        """The single value of an instant query, None while it returns no series."""
        result = self.query(expr)["result"]
        if not result:
            return None
        assert len(result) == 1, (expr, result)
        return float(result[0]["value"][1])

    def api(self, path: str) -> dict[str, Any]:
        status, body = http_get(f"{self.running.url}/api/v1/{path}")
        answer = json.loads(body)
        assert status == 200 and answer["status"] == "success", (path, answer)
        return answer["data"]


@pytest.fixture(scope="module")
def prometheus(
    prometheus_bin: str, reelfarm: tuple[Running, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Prometheus]:
    """Debian's Prometheus with the shipped scrape config, aimed at the server, 1 s scrapes."""
    server, _ = reelfarm
    home = tmp_path_factory.mktemp("prometheus")
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = [str(DEPLOY / "alerts.yml")]
    job = next(job for job in config["scrape_configs"] if job["job_name"] == "reelfarm")
    job["static_configs"] = [{"targets": [server.url.removeprefix("http://")]}]
    config["scrape_configs"] = [job]
    (home / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    running = start(
        [
            prometheus_bin,
            f"--config.file={home / 'prometheus.yml'}",
            f"--storage.tsdb.path={home / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        home / "prometheus.log",
        f"http://127.0.0.1:{port}",
        cwd=home,
    )
    try:
        wait_until_blocking(lambda: answers(running, "/-/ready"), STARTUP_S, "Prometheus /-/ready")
        yield Prometheus(running)
    finally:
        running.stop()


@dataclass(frozen=True)
class RenderedRun:
    job_ids: tuple[str, ...]


@pytest.fixture(scope="module")
def rendered(reelfarm: tuple[Running, Path], prometheus: Prometheus) -> RenderedRun:
    """Queue the jobs while admission holds, check Prometheus sees them wait, then release."""
    server, config = reelfarm
    job_ids = []
    for n in range(JOBS):
        status, body = http_post_json(f"{server.url}/api/generate-video-async", tiny_spec(n))
        assert status == 200, body
        job_ids.append(body["jobId"])
    status, body = http_post_json(
        f"{server.url}/api/generate-video-async", {"scenes": [{"type": "nope"}]}
    )
    assert status == 400, body

    # Prometheus sees the queue held by the disk gate.
    wait_until_blocking(
        lambda: prometheus.value("reelfarm_queue_length") == JOBS,
        30,
        f"reelfarm_queue_length == {JOBS} in Prometheus",
    )
    assert prometheus.value("reelfarm_admission_open") == 0
    holding = prometheus.query("reelfarm_admission_holding == 1")["result"]
    gates = [series["metric"]["gate"] for series in holding]
    # The disk gate is the one this test closes; the cpu gate is judged first and may hold
    # instead while other processes saturate a shared box (this one's renders are excluded).
    assert gates in (["disk"], ["cpu"]), holding
    assert prometheus.value("reelfarm_renders_active") == 0

    # Release: a sane disk floor, applied by SIGHUP.
    data_dir = config.parent / "data"
    write_server_config(config, int(server.url.rsplit(":", 1)[1]), data_dir, 64)
    server.process.send_signal(signal.SIGHUP)
    for job_id in job_ids:
        wait_until_blocking(
            lambda job_id=job_id: _job_done(server, job_id),
            RENDERS_S,
            f"job {job_id} to complete",
        )
    return RenderedRun(tuple(job_ids))


def _job_done(server: Running, job_id: str) -> bool:
    _exited(server)
    status, body = http_get(f"{server.url}/api/job-status/{job_id}")
    assert status == 200, body
    state = json.loads(body)["status"]
    assert state in {"queued", "processing", "completed"}, body
    return state == "completed"


# Tests -----------------------------------------------------------------------------------------


def test_prometheus_reports_the_renders(prometheus: Prometheus, rendered: RenderedRun) -> None:
    completed = 'sum(reelfarm_jobs_finished_total{outcome="completed"})'
    wait_until_blocking(lambda: prometheus.value(completed) == JOBS, 30, f"{completed} == {JOBS}")
    wait_until_blocking(
        lambda: (
            prometheus.value("reelfarm_queue_length") == 0
            and prometheus.value("reelfarm_renders_active") == 0
        ),
        30,
        "the queue to drain in Prometheus",
    )
    assert prometheus.value('sum(reelfarm_jobs_finished_total{outcome="failed"})') == 0
    assert prometheus.value('reelfarm_jobs_submitted_total{api="node"}') == JOBS
    assert prometheus.value('reelfarm_jobs_refused_total{reason="invalid"}') == 1
    assert prometheus.value("reelfarm_admission_open") == 1
    assert prometheus.value("reelfarm_render_slots_available") == 1
    assert prometheus.value("reelfarm_renders_max_concurrent") == 1
    # Every frame each worker encoded reached the server: none lost between processes.
    assert prometheus.value("reelfarm_frames_rendered_total") == JOBS * FRAMES_PER_JOB
    for histogram in (
        "reelfarm_job_queue_wait_seconds",
        "reelfarm_render_duration_seconds",
        "reelfarm_render_speed_ratio",
        "reelfarm_job_turnaround_seconds",
    ):
        assert prometheus.value(f"{histogram}_count") == JOBS, histogram
    # The jobs waited while held, so the queue-wait sum is well above zero.
    assert prometheus.value("reelfarm_job_queue_wait_seconds_sum") > 0
    video_s = prometheus.value('reelfarm_rendered_video_seconds_total{encoder="libx264"}')
    assert video_s == pytest.approx(JOBS * SCENE_S)
    assert prometheus.value('reelfarm_encoder_info{encoder="libx264"}') == 1
    build = prometheus.query("reelfarm_build_info")["result"]
    assert len(build) == 1 and build[0]["metric"]["ffmpeg"] not in ("", "unknown"), build


def test_http_routes_are_templates_not_paths(prometheus: Prometheus, rendered: RenderedRun) -> None:
    status_route = "/api/job-status/{jobId}"
    wait_until_blocking(
        lambda: prometheus.value(
            f'sum(reelfarm_http_requests_total{{route="{status_route}", status="200"}})'
        ),
        30,
        "job-status requests in Prometheus",
    )
    routes = {
        series["metric"]["route"]
        for series in prometheus.query("count by (route) (reelfarm_http_requests_total)")["result"]
    }
    assert {"/api/generate-video-async", status_route, "/metrics", "/readyz"} <= routes
    assert not any(job_id in route for route in routes for job_id in rendered.job_ids)


def test_scrape_target_is_healthy(prometheus: Prometheus, rendered: RenderedRun) -> None:
    targets = prometheus.api("targets")["activeTargets"]
    assert len(targets) == 1
    assert targets[0]["health"] == "up", targets[0]
    assert targets[0]["lastError"] == ""


def test_every_dashboard_and_rule_expression_runs(
    prometheus: Prometheus,
    rendered: RenderedRun,
    dashboard_exprs: list[tuple[str, str]],
    rule_exprs: list[tuple[str, str]],
) -> None:
    # rate() needs two samples in its window: wait until the series born at the first
    # completion has been scraped a few times.
    newest = "min(count_over_time(reelfarm_rendered_video_seconds_total[1m]))"
    wait_until_blocking(lambda: (prometheus.value(newest) or 0) >= 3, 30, f"{newest} >= 3")
    answers = [
        (where, expr, *prometheus.evaluate(expr)) for where, expr in [*dashboard_exprs, *rule_exprs]
    ]
    # Every expression, not only the first that breaks: each runs without error or warning...
    failed = [
        f"{where}: {expr} -> HTTP {status}, {answer.get('errorType')}: {answer.get('error')}"
        for where, expr, status, answer in answers
        if status != 200 or answer.get("status") != "success"
    ]
    assert not failed, "expressions Prometheus refused:\n" + "\n".join(failed)
    warned = [
        f"{where}: {expr} -> {answer['warnings']}"
        for where, expr, _, answer in answers
        if answer.get("warnings")
    ]
    assert not warned, "expressions with warnings:\n" + "\n".join(warned)
    # ...and yields an instant vector: panels plot series and rules fire or record per series,
    # so a scalar or string result is a mistake that would draw or alert on nothing.
    mistyped = [
        f"{where}: {expr} -> {answer['data']['resultType']}"
        for where, expr, _, answer in answers
        if answer["data"]["resultType"] != "vector"
    ]
    assert not mistyped, "expressions that are not instant vectors:\n" + "\n".join(mistyped)
    empty = {where for where, _, _, answer in answers if not answer["data"]["result"]}
    # After real renders, the panels an operator opens first show data.
    for title in (
        "Queued",
        "Rendering",
        "Free slots",
        "Admission",
        "Completed (1h)",
        "Queue and slots",
        "Jobs per minute",
        "Frames encoded per second",
        "Video seconds produced per minute",
        "Queue wait",
        "Render duration",
        "Turnaround (submit to done)",
        "Render speed (video s per wall s)",
        "HTTP p95 latency by route",
        "CPU busy",
        "Memory available",
        "Data dir free",
        "Build and encoder",
    ):
        assert title not in empty, f"panel {title!r} shows no data after renders"


def test_alert_rules_evaluate_cleanly(
    prometheus: Prometheus, rendered: RenderedRun, alert_rules: list[dict[str, Any]]
) -> None:
    def evaluated() -> list[dict[str, Any]] | None:
        rules = [r for g in prometheus.api("rules")["groups"] for r in g["rules"]]
        done = all(r["health"] != "unknown" for r in rules)
        return rules if rules and done else None

    rules = wait_until_blocking(evaluated, 30, "every rule to be evaluated once")
    assert len(rules) == len(
        yaml.safe_load((DEPLOY / "alerts.yml").read_text())["groups"][0]["rules"]
    )
    broken = {r["name"]: r.get("lastError") for r in rules if r["health"] != "ok"}
    assert not broken, broken
    # A healthy box that just rendered fires nothing.
    firing = [r["name"] for r in rules if r.get("state") == "firing"]
    assert not firing, firing


def test_promtool_accepts_a_real_scrape(
    promtool: str, reelfarm: tuple[Running, Path], rendered: RenderedRun
) -> None:
    server, _ = reelfarm
    status, body = http_get(f"{server.url}/metrics")
    assert status == 200
    result = subprocess.run(
        [promtool, "check", "metrics"], input=body, capture_output=True, timeout=30, check=False
    )
    assert result.returncode == 0, (result.stdout + result.stderr).decode()
    text = body.decode()
    assert 'reelfarm_jobs_finished_total{outcome="completed"} 3.0' in text
