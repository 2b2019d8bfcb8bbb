"""The Metrics facade on its own: counters and histograms after real state-machine sequences,
the HTTP middleware on a real aiohttp app, and the exposition it serves."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from redis import exceptions as rx

from renderer.gpu import GpuFacts
from server.jobs import ErrorKind, Job, JobState, can_transition, new_job_id
from server.metrics import Metrics
from server.metrics.collectors import gpu_families
from server.metrics.definitions import DEFINITIONS, MAX_LABEL_VALUES, OTHER
from server.metrics.middleware import UNMATCHED_ROUTE
from server.store.base import StoreUnavailable
from server.store.redis_conn import ERROR_KINDS, reachable, set_observer


@pytest.fixture
def metrics(tmp_path: Path) -> Metrics:
    return Metrics(data_dir=tmp_path)


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    assert value is not None, f"{name}{labels} is not exported"
    return value


def move(metrics: Metrics, job: Job, new: JobState, **changes: object) -> Job:
    """One transition as JobService makes it: the snapshot after the move, then the report."""
    assert can_transition(job.state, new), f"{job.state} → {new} is not a legal move"
    moved = job.evolve(state=new, **changes)
    metrics.job_state_changed(moved, job.state, new)
    return moved


def submitted(metrics: Metrics, t0: float) -> Job:
    job = Job(id=new_job_id(), spec={}, created_at=t0, queued_at=t0)
    metrics.job_submitted(str(job.api))
    metrics.job_state_changed(job, None, JobState.QUEUED)
    return job


def test_a_completed_job_counts_once_and_fills_every_histogram(metrics: Metrics) -> None:
    t0 = time.time() - 100
    job = submitted(metrics, t0)
    job = move(metrics, job, JobState.PROCESSING, started_at=t0 + 4.0, attempts=1)
    move(
        metrics,
        job,
        JobState.COMPLETED,
        finished_at=t0 + 9.0,
        result={"duration_s": 10.0, "frames": 300, "encoder": "libx264"},
    )

    assert sample(metrics, "reelfarm_jobs_submitted_total", api="native") == 1
    assert sample(metrics, "reelfarm_jobs_finished_total", outcome="completed") == 1
    assert sample(metrics, "reelfarm_jobs_finished_total", outcome="failed") == 0
    assert sample(metrics, "reelfarm_jobs_started_total") == 1
    assert sample(metrics, "reelfarm_jobs_requeued_total") == 0
    # Queue wait 4 s, render 5 s, speed 10 s of video / 5 s = 2x, turnaround 9 s.
    assert sample(metrics, "reelfarm_job_queue_wait_seconds_sum") == pytest.approx(4.0)
    assert sample(metrics, "reelfarm_job_queue_wait_seconds_bucket", le="2.5") == 0
    assert sample(metrics, "reelfarm_job_queue_wait_seconds_bucket", le="5.0") == 1
    assert sample(metrics, "reelfarm_render_duration_seconds_sum") == pytest.approx(5.0)
    assert sample(metrics, "reelfarm_render_speed_ratio_sum") == pytest.approx(2.0)
    assert sample(metrics, "reelfarm_render_speed_ratio_count") == 1
    assert sample(metrics, "reelfarm_job_turnaround_seconds_sum") == pytest.approx(9.0)
    assert sample(metrics, "reelfarm_rendered_video_seconds_total", encoder="libx264") == 10.0


def test_requeue_then_failure_counts_both_starts_and_one_failure(metrics: Metrics) -> None:
    t0 = time.time() - 50
    job = submitted(metrics, t0)
    job = move(metrics, job, JobState.PROCESSING, started_at=t0 + 1, attempts=1)
    job = move(metrics, job, JobState.QUEUED, queued_at=t0 + 2, started_at=None)
    job = move(metrics, job, JobState.PROCESSING, started_at=t0 + 5, attempts=2)
    move(
        metrics,
        job,
        JobState.FAILED,
        finished_at=t0 + 6,
        error="render failed",
        error_kind=ErrorKind.WORKER_LOST,
    )

    assert sample(metrics, "reelfarm_jobs_started_total") == 2
    assert sample(metrics, "reelfarm_jobs_requeued_total") == 1
    assert sample(metrics, "reelfarm_jobs_finished_total", outcome="failed") == 1
    assert sample(metrics, "reelfarm_jobs_finished_total", outcome="completed") == 0
    assert sample(metrics, "reelfarm_jobs_failed_total", error_kind="worker_lost") == 1
    # Two waits: 1 s before the first start, 3 s after the requeue.
    assert sample(metrics, "reelfarm_job_queue_wait_seconds_count") == 2
    assert sample(metrics, "reelfarm_job_queue_wait_seconds_sum") == pytest.approx(4.0)
    # A failed render is not a render duration or speed sample.
    assert sample(metrics, "reelfarm_render_duration_seconds_count") == 0
    assert sample(metrics, "reelfarm_render_speed_ratio_count") == 0


def test_cancel_and_expiry_are_outcomes_without_renders(metrics: Metrics) -> None:
    t0 = time.time()
    cancelled = submitted(metrics, t0)
    move(metrics, cancelled, JobState.CANCELLED, finished_at=t0 + 1)
    expired = submitted(metrics, t0)
    move(metrics, expired, JobState.FAILED, finished_at=t0 + 2, error_kind=ErrorKind.EXPIRED)
    # A repeated report of the same state is not a second event.
    metrics.job_state_changed(expired, JobState.FAILED, JobState.FAILED)

    assert sample(metrics, "reelfarm_jobs_submitted_total", api="native") == 2
    assert sample(metrics, "reelfarm_jobs_finished_total", outcome="cancelled") == 1
    assert sample(metrics, "reelfarm_jobs_finished_total", outcome="failed") == 1
    assert sample(metrics, "reelfarm_jobs_failed_total", error_kind="expired") == 1
    assert sample(metrics, "reelfarm_jobs_started_total") == 0
    assert sample(metrics, "reelfarm_job_queue_wait_seconds_count") == 0


def test_queue_admission_and_worker_gauges(metrics: Metrics) -> None:
    metrics.queue_state(queued=7, active=2, max_concurrent=3)
    assert sample(metrics, "reelfarm_queue_length") == 7
    assert sample(metrics, "reelfarm_renders_active") == 2
    assert sample(metrics, "reelfarm_renders_max_concurrent") == 3
    assert sample(metrics, "reelfarm_render_slots_available") == 1
    metrics.queue_state(queued=0, active=4, max_concurrent=3)  # a shrink below the active count
    assert sample(metrics, "reelfarm_render_slots_available") == 0

    assert sample(metrics, "reelfarm_admission_open") == 1
    metrics.admission_state("memory")
    metrics.job_held("memory")
    metrics.job_held("memory")
    assert sample(metrics, "reelfarm_admission_open") == 0
    assert sample(metrics, "reelfarm_admission_holding", gate="memory") == 1
    metrics.admission_state("disk")
    assert sample(metrics, "reelfarm_admission_holding", gate="memory") == 0
    assert sample(metrics, "reelfarm_admission_holding", gate="disk") == 1
    metrics.admission_state(None)
    assert sample(metrics, "reelfarm_admission_open") == 1
    assert sample(metrics, "reelfarm_admission_holding", gate="disk") == 0
    assert sample(metrics, "reelfarm_jobs_held_total", reason="memory") == 2

    metrics.job_refused("queue_full")
    metrics.worker_restarted("crashed")
    metrics.frames_rendered(30)
    metrics.frames_rendered(12)
    metrics.frames_rendered(0)
    metrics.webhook_delivered("retry", 0.2)
    metrics.webhook_delivered("delivered", 0.05)
    assert sample(metrics, "reelfarm_jobs_refused_total", reason="queue_full") == 1
    assert sample(metrics, "reelfarm_jobs_refused_total", reason="rate_limited") == 0
    assert sample(metrics, "reelfarm_worker_restarts_total", reason="crashed") == 1
    assert sample(metrics, "reelfarm_frames_rendered_total") == 42
    assert sample(metrics, "reelfarm_webhook_deliveries_total", outcome="retry") == 1
    assert sample(metrics, "reelfarm_webhook_deliveries_total", outcome="failed") == 0
    assert sample(
        metrics, "reelfarm_webhook_delivery_duration_seconds_sum", outcome="delivered"
    ) == pytest.approx(0.05)


def test_every_definition_is_a_typed_attribute(metrics: Metrics) -> None:
    # The table and the facade's annotations name the same instruments, once each.
    assert len({d.name for d in DEFINITIONS}) == len(DEFINITIONS)
    assert [d.attr for d in DEFINITIONS] == list(Metrics.__annotations__)
    for definition in DEFINITIONS:
        assert isinstance(getattr(metrics, definition.attr), definition.kind), definition.attr


def test_unexpected_label_values_are_bounded(metrics: Metrics) -> None:
    for i in range(MAX_LABEL_VALUES + 10):
        metrics.worker_restarted(f"reason_{i}")
    assert sample(metrics, "reelfarm_worker_restarts_total", reason=OTHER) == 10
    assert sample(metrics, "reelfarm_worker_restarts_total", reason="reason_0") == 1


def test_worker_restart_reasons_never_carry_a_pid(metrics: Metrics) -> None:
    for pid in (101, 202, 303):
        metrics.worker_restarted(f"render worker {pid}: killed by SIGKILL")
    metrics.worker_restarted("render worker 404: stopped answering")
    assert sample(metrics, "reelfarm_worker_restarts_total", reason="killed_by_sigkill") == 3
    assert sample(metrics, "reelfarm_worker_restarts_total", reason="stopped_answering") == 1
    reasons = {
        s.labels["reason"]
        for family in metrics.registry.collect()
        if family.name == "reelfarm_worker_restarts"
        for s in family.samples
    }
    assert reasons == {"killed_by_sigkill", "stopped_answering"}


def test_instances_do_not_share_state(tmp_path: Path) -> None:
    first, second = Metrics(data_dir=tmp_path), Metrics(data_dir=tmp_path)
    first.frames_rendered(5)
    assert sample(first, "reelfarm_frames_rendered_total") == 5
    assert sample(second, "reelfarm_frames_rendered_total") == 0
    registry = CollectorRegistry()
    third = Metrics(registry, data_dir=tmp_path)
    assert third.registry is registry


def test_cluster_gauge_and_takeover_counter(metrics: Metrics) -> None:
    # Alone until the registry's first beat reads the others.
    assert sample(metrics, "reelfarm_cluster_nodes") == 1
    metrics.cluster_seen(3)
    assert sample(metrics, "reelfarm_cluster_nodes") == 3
    metrics.cluster_seen(0)  # this node is always one of them
    assert sample(metrics, "reelfarm_cluster_nodes") == 1
    assert sample(metrics, "reelfarm_takeovers_total") == 0
    metrics.renders_taken_over(2)
    metrics.renders_taken_over(0)
    assert sample(metrics, "reelfarm_takeovers_total") == 2


def test_redis_calls_are_timed_by_operation_and_errors_counted_by_kind(metrics: Metrics) -> None:
    # Every kind exists at zero from the start, so rate() has a series to work on.
    for kind in ERROR_KINDS:
        assert sample(metrics, "reelfarm_redis_errors_total", kind=kind) == 0
    metrics.redis_call("claim", 0.0003, None)
    metrics.redis_call("claim", 0.002, None)
    metrics.redis_call("claim", 5.0, "timeout")
    metrics.redis_call("save", 0.01, "no_such_kind")  # a kind outside the closed set
    count = "reelfarm_redis_roundtrip_seconds_count"
    assert sample(metrics, count, operation="claim") == 2  # a failed call is not a round trip
    assert (
        sample(metrics, "reelfarm_redis_roundtrip_seconds_bucket", operation="claim", le="0.0005")
        == 1
    )
    assert sample(metrics, "reelfarm_redis_errors_total", kind="timeout") == 1
    assert sample(metrics, "reelfarm_redis_errors_total", kind="other") == 1
    for i in range(MAX_LABEL_VALUES + 5):
        metrics.redis_call(f"operation_{i}", 0.001, None)
    assert sample(metrics, count, operation=OTHER) == 6  # "claim" took one of the 64


class _Store:
    """Store methods that fail the way redis-py does, behind the real decorator."""

    def __init__(self, error: BaseException | None) -> None:
        self.error = error

    @reachable
    async def claim(self) -> str:
        if self.error is not None:
            raise self.error
        return "job"


@pytest.mark.parametrize(
    ("error", "kind", "unavailable"),
    [
        (rx.ConnectionError("Connection refused"), "connection", True),
        (rx.BusyLoadingError("loading"), "connection", True),
        (ConnectionRefusedError(111, "refused"), "connection", True),
        (rx.TimeoutError("Timeout reading from socket"), "timeout", True),
        (TimeoutError(), "timeout", True),
        (rx.OutOfMemoryError("OOM command not allowed"), "oom", True),
        (rx.ReadOnlyError("READONLY replica"), "other", True),
        (rx.ResponseError("ERR user_script:1: bad"), "other", False),
    ],
)
async def test_the_store_decorator_reports_each_call_to_its_store_observer(
    error: BaseException, kind: str, unavailable: bool
) -> None:
    seen: list[tuple[str, float, str | None]] = []
    failing, healthy, unobserved = _Store(error), _Store(None), _Store(error)
    set_observer(failing, lambda *call: seen.append(call))
    set_observer(healthy, lambda *call: seen.append(call))
    expected = StoreUnavailable if unavailable else type(error)
    with pytest.raises(expected):
        await failing.claim()
    assert await healthy.claim() == "job"
    with pytest.raises(expected):
        await unobserved.claim()  # no observer set: nothing reported, nothing breaks
    assert [(op, error_kind) for op, _, error_kind in seen] == [("claim", kind), ("claim", None)]
    assert all(seconds >= 0 for _, seconds, _ in seen)
    set_observer(healthy, None)
    await healthy.claim()
    assert len(seen) == 2


def test_box_and_build_gauges_read_at_scrape_time(metrics: Metrics, tmp_path: Path) -> None:
    assert 0 <= sample(metrics, "reelfarm_box_cpu_usage_ratio") <= 1
    total = sample(metrics, "reelfarm_box_memory_total_bytes")
    assert 0 < sample(metrics, "reelfarm_box_memory_available_bytes") <= total
    free = sample(metrics, "reelfarm_box_disk_free_bytes")
    assert 0 < free <= sample(metrics, "reelfarm_box_disk_total_bytes")

    # Not yet known: the server reports the FFmpeg it probed.
    builds = _family(metrics, "reelfarm_build_info").samples
    assert len(builds) == 1 and builds[0].labels["ffmpeg"] == "unknown"
    assert builds[0].labels["version"] and builds[0].labels["python"]
    metrics.encoder_in_use("libx264", "7.0.2-static")
    builds = _family(metrics, "reelfarm_build_info").samples
    assert builds[0].labels["ffmpeg"] == "7.0.2-static"
    assert (
        sample(metrics, "reelfarm_encoder_info", encoder="libx264", ffmpeg_version="7.0.2-static")
        == 1
    )

    # A data dir that does not exist yet reads as its nearest existing parent's file system.
    fresh = Metrics(data_dir=tmp_path / "not" / "yet")
    assert sample(fresh, "reelfarm_box_disk_free_bytes") > 0


def test_gpu_families_from_nvml_readings() -> None:
    assert gpu_families([]) == []
    readings = [
        GpuFacts("NVIDIA L4", 23034, 1024, 37.0, 2, 2),
        GpuFacts("Mystery GPU", 8192, 0, 0.0, 0, None),
    ]
    families = {family.name: family for family in gpu_families(readings)}
    values = {
        (name, tuple(sorted(s.labels.items()))): s.value
        for name, family in families.items()
        for s in family.samples
    }
    assert values[("reelfarm_gpu_utilization_ratio", (("gpu", "0"),))] == pytest.approx(0.37)
    assert values[("reelfarm_gpu_memory_used_bytes", (("gpu", "0"),))] == 1024 * 2**20
    assert values[("reelfarm_gpu_memory_total_bytes", (("gpu", "1"),))] == 8192 * 2**20
    assert values[("reelfarm_gpu_encoder_sessions", (("gpu", "0"),))] == 2
    assert values[("reelfarm_gpu_nvenc_engines", (("gpu", "0"),))] == 2
    assert ("reelfarm_gpu_nvenc_engines", (("gpu", "1"),)) not in values
    assert values[("reelfarm_gpu_info", (("gpu", "1"), ("name", "Mystery GPU")))] == 1


async def test_middleware_labels_by_route_template(metrics: Metrics, aiohttp_client) -> None:
    async def show(request: web.Request) -> web.Response:
        job_id = request.match_info["job_id"]
        if job_id == "missing":
            raise web.HTTPNotFound(text="no such job")
        return web.json_response({"id": job_id})

    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("handler bug")

    app = web.Application(middlewares=[metrics.middleware])
    app.router.add_get("/v1/jobs/{job_id}", show)
    app.router.add_get("/boom", boom)
    app.router.add_get("/metrics", metrics.handle_metrics)
    client = await aiohttp_client(app)

    for job_id in ("a1", "b2", "c3", "missing"):
        await client.get(f"/v1/jobs/{job_id}")
    for path in ("/nope/1", "/nope/2", "/also/not/here"):
        assert (await client.get(path)).status == 404
    assert (await client.post("/boom")).status == 405
    assert (await client.get("/boom")).status == 500

    def requests(route: str, method: str, status: str) -> float:
        labels = {"route": route, "method": method, "status": status}
        return sample(metrics, "reelfarm_http_requests_total", **labels)

    route = "/v1/jobs/{job_id}"
    assert requests(route, "GET", "200")
    assert requests(route, "GET", "200") == 3
    assert requests(route, "GET", "404") == 1
    assert requests(UNMATCHED_ROUTE, "GET", "404") == 3
    assert requests(UNMATCHED_ROUTE, "POST", "405") == 1
    assert requests("/boom", "GET", "500") == 1
    assert (
        sample(metrics, "reelfarm_http_request_duration_seconds_count", route=route, method="GET")
        == 4
    )

    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    text = await response.text()
    # No raw path with an id ever becomes a label.
    assert "/v1/jobs/a1" not in text and "/nope/1" not in text
    names = {family.name for family in text_string_to_metric_families(text)}
    assert {"reelfarm_http_requests", "reelfarm_jobs_finished", "reelfarm_build_info"} <= names


def _family(metrics: Metrics, name: str):
    for family in metrics.registry.collect():
        if family.name == name:
            return family
    raise AssertionError(f"{name} not collected")
