"""`Metrics`: the one object the job state machine, the pool and the app report to."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    generate_latest,
)

from server.metrics.collectors import BoxCollector, BuildInfoCollector
from server.metrics.definitions import (
    DEFINITIONS,
    FINISH_OUTCOMES,
    LabelGuards,
    restart_reason_label,
)
from server.metrics.middleware import request_metrics

if TYPE_CHECKING:
    from server.jobs import Job, JobState


class Metrics:
    """Everything Reelfarm exports to Prometheus, in its own registry (no global state).

    One attribute per row of `DEFINITIONS`, under the row's `attr`.
    """

    jobs_submitted: Counter
    jobs_refused: Counter
    jobs_finished: Counter
    jobs_failed: Counter
    jobs_requeued: Counter
    jobs_started: Counter
    jobs_held: Counter
    queue_wait: Histogram
    render_duration: Histogram
    render_speed: Histogram
    job_turnaround: Histogram
    video_seconds: Counter
    frames: Counter
    queue_length: Gauge
    renders_active: Gauge
    max_concurrent: Gauge
    slots_available: Gauge
    admission_open: Gauge
    admission_holding: Gauge
    worker_restarts: Counter
    webhook_deliveries: Counter
    webhook_duration: Histogram
    encoder: Info
    cluster_nodes: Gauge
    takeovers: Counter
    redis_roundtrip: Histogram
    redis_errors: Counter
    http_requests: Counter
    http_duration: Histogram

    def __init__(self, registry: CollectorRegistry | None = None, *, data_dir: Path) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.data_dir = Path(data_dir)
        self._labels = LabelGuards()
        for definition in DEFINITIONS:
            setattr(self, definition.attr, definition.create(self.registry))
        self.admission_open.set(1)
        self.cluster_nodes.set(1)  # this node, until the registry's first beat says otherwise
        self._holding: str | None = None
        self._holding_lock = threading.Lock()
        self.middleware = request_metrics(self.http_requests, self.http_duration)
        self.box = BoxCollector(self.data_dir)
        self.build = BuildInfoCollector()
        self.registry.register(self.box)
        self.registry.register(self.build)

    # Jobs ------------------------------------------------------------------------------------

    def job_submitted(self, api: str) -> None:
        """A job was accepted and is durable; `api` is node, reels, native or runpod."""
        self.jobs_submitted.labels(self._labels.api(api)).inc()

    def job_refused(self, reason: str) -> None:
        """A submission was turned away (queue_full, invalid, rate_limited, ...)."""
        self.jobs_refused.labels(self._labels.refusal(reason)).inc()

    def job_state_changed(self, job: Job, old: JobState | None, new: JobState) -> None:
        """Record one move of the state machine; `job` is the snapshot after the move."""
        if old == new:
            return
        now = time.time()
        if new == "processing":
            self.jobs_started.inc()
            self.queue_wait.observe(_queue_wait_s(job, now))
        elif new == "queued" and old is not None:
            self.jobs_requeued.inc()
        elif new in FINISH_OUTCOMES:
            self.jobs_finished.labels(self._labels.outcome(new)).inc()
            if new == "failed":
                error_kind = self._labels.error_kind(job.error_kind or "unknown")
                self.jobs_failed.labels(error_kind).inc()
            elif new == "completed":
                self._observe_completed(job, now)

    def _observe_completed(self, job: Job, now: float) -> None:
        result = job.result or {}
        finished_at = job.finished_at if job.finished_at is not None else now
        duration_s = _number(result.get("duration_s"))  # seconds of video produced
        self.job_turnaround.observe(max(0.0, finished_at - job.created_at))
        if job.started_at is not None:
            render_s = max(0.0, finished_at - job.started_at)
            self.render_duration.observe(render_s)
            if duration_s is not None and render_s > 0:
                self.render_speed.observe(duration_s / render_s)
        if duration_s is not None:
            encoder = self._labels.encoder(result.get("encoder") or "unknown")
            self.video_seconds.labels(encoder).inc(duration_s)

    def job_held(self, reason: str) -> None:
        """Admission began holding queued jobs back; `reason` names the gate (cpu, disk, ...)."""
        self.jobs_held.labels(self._labels.hold(reason)).inc()

    def frames_rendered(self, n: int) -> None:
        """Add `n` frames encoded (a worker's progress delta); non-positive deltas are ignored."""
        if n > 0:
            self.frames.inc(n)

    # Queue and admission ---------------------------------------------------------------------

    def queue_state(self, *, queued: int, active: int, max_concurrent: int) -> None:
        """The queue and the slots as the scheduler sees them now."""
        self.queue_length.set(max(0, queued))
        self.renders_active.set(max(0, active))
        self.max_concurrent.set(max(0, max_concurrent))
        self.slots_available.set(max(0, max_concurrent - active))

    def admission_state(self, holding: str | None) -> None:
        """`None` when admission is open, else the name of the gate holding renders back."""
        with self._holding_lock:
            if self._holding is not None:
                self.admission_holding.labels(self._holding).set(0)
            self._holding = self._labels.gate(holding) if holding is not None else None
            if self._holding is not None:
                self.admission_holding.labels(self._holding).set(1)
            self.admission_open.set(0 if self._holding is not None else 1)

    # Workers, webhooks, encoder --------------------------------------------------------------

    def worker_restarted(self, reason: str) -> None:
        """The pool replaced a worker process; `reason` says why ("killed by SIGKILL", ...).

        The pool's sentence may name the worker ("render worker 4242: ..."); that part is
        dropped and the rest made a label word, so a pid never becomes a label value.
        """
        self.worker_restarts.labels(self._labels.restart(restart_reason_label(reason))).inc()

    def webhook_delivered(self, outcome: str, seconds: float) -> None:
        """One delivery attempt ended: delivered, retry (will try again), failed or refused."""
        label = self._labels.webhook(outcome)
        self.webhook_deliveries.labels(label).inc()
        self.webhook_duration.labels(label).observe(max(0.0, seconds))

    def encoder_in_use(self, encoder: str, ffmpeg_version: str) -> None:
        """The encoder chosen by the start-up probe (or a fallback) and the FFmpeg running it."""
        self.encoder.info({"encoder": encoder, "ffmpeg_version": ffmpeg_version})
        self.build.ffmpeg_version = ffmpeg_version

    # Cluster ---------------------------------------------------------------------------------

    def cluster_seen(self, nodes: int) -> None:
        """The node registry's last beat found `nodes` live nodes, this one included."""
        self.cluster_nodes.set(max(1, nodes))

    def renders_taken_over(self, n: int) -> None:
        """The sweeper took `n` renders from nodes whose lease ran out."""
        if n > 0:
            self.takeovers.inc(n)

    def redis_call(self, operation: str, seconds: float, error_kind: str | None) -> None:
        """One job-store call to Redis (`server.store.redis_conn.Observer`): timed when Redis
        answered, counted by kind when it failed."""
        if error_kind is None:
            self.redis_roundtrip.labels(self._labels.redis_operation(operation)).observe(
                max(0.0, seconds)
            )
        else:
            self.redis_errors.labels(self._labels.redis_error(error_kind)).inc()

    # Exposition ------------------------------------------------------------------------------

    async def handle_metrics(self, request: web.Request) -> web.Response:
        """`GET /metrics`: the text exposition format; scraping runs in a thread (NVML, disk)."""
        body = await asyncio.to_thread(generate_latest, self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    def close(self) -> None:
        """Release the NVML session the box collector may hold (optional; exit does it too)."""
        self.box.close()


def _queue_wait_s(job: Job, now: float) -> float:
    queued_at = job.queued_at if job.queued_at is not None else job.created_at
    started_at = job.started_at if job.started_at is not None else now
    return max(0.0, started_at - queued_at)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if value >= 0 else None
