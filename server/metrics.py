"""Prometheus metrics: one facade that the job state machine, the pool and the app report to.

Every name starts with `reelfarm_` and carries its base unit (`_seconds`, `_bytes`, `_ratio`,
`_total` for counters). No label holds a job id or anything else per job: label values come
from small fixed sets (states, APIs, refusal reasons, route templates), and an unexpected value
past `MAX_LABEL_VALUES` per label is folded into `"other"` so a bug elsewhere cannot blow up
the series count.

Counters change in one place per event: `JobService` calls `job_state_changed` on every move
of the state machine, the admission loop `queue_state` / `admission_state`, the pool
`frames_rendered` with the progress deltas its workers report back. Box and GPU gauges are read
at scrape time by `BoxCollector`, so they are never stale and cost nothing between scrapes.

Wiring (in the app factory)::

    metrics = Metrics(data_dir=config.storage.data_dir)
    app = web.Application(middlewares=[metrics.middleware, ...])   # outermost: sees final status
    app.router.add_get("/metrics", metrics.handle_metrics)
"""

from __future__ import annotations

import asyncio
import os
import platform
import re
import shutil
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil
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
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from server.capacity import GpuFacts, Nvml

if TYPE_CHECKING:
    from server.jobs import Job, JobState

# Label values seen per metric label before new ones read "other" (see the module docstring).
MAX_LABEL_VALUES = 64
OTHER = "other"
# Requests that matched no route (404, and 405 from the router) share this route label.
UNMATCHED_ROUTE = "unmatched"

# Known label values, pre-created at zero so that `rate()` and ratios over them exist from the
# first scrape instead of appearing (and reading as "no data") after the first event.
APIS: tuple[str, ...] = ("node", "reels", "native", "runpod")
FINISH_OUTCOMES: tuple[str, ...] = ("completed", "failed", "cancelled")
REFUSAL_REASONS: tuple[str, ...] = (
    "queue_full",
    "invalid",
    "rate_limited",
    "per_key_limit",
    "unauthorized",
)
WEBHOOK_OUTCOMES: tuple[str, ...] = ("delivered", "retry", "failed", "refused")

QUEUE_WAIT_BUCKETS_S = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600)
RENDER_DURATION_BUCKETS_S = (0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 900, 1800, 3600)
# Video seconds per wall second: below 1 a render is slower than real time.
RENDER_SPEED_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 20, 50)
HTTP_DURATION_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
WEBHOOK_DURATION_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

_WORKER_PREFIX = re.compile(r"^.*?\bworker\s+\d+\s*:\s*", re.IGNORECASE)
_NOT_WORD = re.compile(r"[^a-z0-9]+")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _LabelGuard:
    """Caps the distinct values of one label; a value past the cap is reported as `other`."""

    def __init__(self, known: Iterable[str] = (), limit: int = MAX_LABEL_VALUES) -> None:
        self._seen: set[str] = set(known)
        self._limit = limit
        self._lock = threading.Lock()

    def __call__(self, value: object) -> str:
        text = str(value) if value is not None else ""
        with self._lock:
            if text in self._seen:
                return text
            if len(self._seen) >= self._limit:
                return OTHER
            self._seen.add(text)
            return text


class Metrics:
    """Everything Reelfarm exports to Prometheus, in its own registry (no global state)."""

    def __init__(self, registry: CollectorRegistry | None = None, *, data_dir: Path) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.data_dir = Path(data_dir)
        reg = self.registry

        self._api = _LabelGuard(APIS)
        self._refusal = _LabelGuard(REFUSAL_REASONS)
        self._outcome = _LabelGuard(FINISH_OUTCOMES)
        self._hold = _LabelGuard()
        self._gate = _LabelGuard()
        self._error_kind = _LabelGuard()
        self._encoder = _LabelGuard()
        self._restart = _LabelGuard()
        self._webhook = _LabelGuard(WEBHOOK_OUTCOMES)
        self._route = _LabelGuard([UNMATCHED_ROUTE])
        self._method = _LabelGuard()
        self._status = _LabelGuard()

        # Jobs ------------------------------------------------------------------------------
        self.jobs_submitted = Counter(
            "reelfarm_jobs_submitted_total",
            "Jobs accepted into the queue, by the client API that sent them.",
            ["api"],
            registry=reg,
        )
        self.jobs_refused = Counter(
            "reelfarm_jobs_refused_total",
            "Submissions turned away before queueing, by reason.",
            ["reason"],
            registry=reg,
        )
        self.jobs_finished = Counter(
            "reelfarm_jobs_finished_total",
            "Jobs that reached a terminal state, by outcome (completed, failed, cancelled).",
            ["outcome"],
            registry=reg,
        )
        self.jobs_failed = Counter(
            "reelfarm_jobs_failed_total",
            "Failed jobs by error kind (render, asset, timeout, worker_lost, expired).",
            ["error_kind"],
            registry=reg,
        )
        self.jobs_requeued = Counter(
            "reelfarm_jobs_requeued_total",
            "Renders put back in the queue (worker lost, lease expired, shutdown, client retry).",
            registry=reg,
        )
        self.jobs_started = Counter(
            "reelfarm_jobs_started_total",
            "Renders started (a requeued job starts again).",
            registry=reg,
        )
        self.jobs_held = Counter(
            "reelfarm_jobs_held_total",
            "Times admission began holding queued jobs back, by gate (cpu, memory, ...).",
            ["reason"],
            registry=reg,
        )
        self.queue_wait = Histogram(
            "reelfarm_job_queue_wait_seconds",
            "Seconds a job waited in the queue before its render started.",
            buckets=QUEUE_WAIT_BUCKETS_S,
            registry=reg,
        )
        self.render_duration = Histogram(
            "reelfarm_render_duration_seconds",
            "Wall-clock seconds of completed renders, start to finish.",
            buckets=RENDER_DURATION_BUCKETS_S,
            registry=reg,
        )
        self.render_speed = Histogram(
            "reelfarm_render_speed_ratio",
            "Video seconds produced per wall-clock second, per completed render.",
            buckets=RENDER_SPEED_BUCKETS,
            registry=reg,
        )
        self.job_turnaround = Histogram(
            "reelfarm_job_turnaround_seconds",
            "Seconds from submission to completion of completed jobs (what a client waits).",
            buckets=QUEUE_WAIT_BUCKETS_S,
            registry=reg,
        )
        self.video_seconds = Counter(
            "reelfarm_rendered_video_seconds_total",
            "Seconds of finished video produced, by the encoder that produced them.",
            ["encoder"],
            registry=reg,
        )
        self.frames = Counter(
            "reelfarm_frames_rendered_total",
            "Frames encoded by the workers, from the progress they report back.",
            registry=reg,
        )

        # Queue, slots and admission --------------------------------------------------------
        self.queue_length = Gauge(
            "reelfarm_queue_length", "Jobs waiting in the queue.", registry=reg
        )
        self.renders_active = Gauge("reelfarm_renders_active", "Renders running now.", registry=reg)
        self.max_concurrent = Gauge(
            "reelfarm_renders_max_concurrent",
            "Render slots this node runs at most (pool.max_concurrent, resolved).",
            registry=reg,
        )
        self.slots_available = Gauge(
            "reelfarm_render_slots_available",
            "Render slots free now: max concurrent minus active.",
            registry=reg,
        )
        self.admission_open = Gauge(
            "reelfarm_admission_open",
            "1 while admission starts new renders, 0 while a gate holds them.",
            registry=reg,
        )
        self.admission_holding = Gauge(
            "reelfarm_admission_holding",
            "1 for the admission gate holding renders now, 0 for gates seen before.",
            ["gate"],
            registry=reg,
        )
        self.admission_open.set(1)
        self._holding: str | None = None
        self._holding_lock = threading.Lock()

        # Workers, webhooks, encoder --------------------------------------------------------
        self.worker_restarts = Counter(
            "reelfarm_worker_restarts_total",
            "Worker processes replaced, by reason (killed_by_sigkill, stopped_answering, ...).",
            ["reason"],
            registry=reg,
        )
        self.webhook_deliveries = Counter(
            "reelfarm_webhook_deliveries_total",
            "Webhook delivery attempts by outcome (delivered, retry, failed, refused).",
            ["outcome"],
            registry=reg,
        )
        self.webhook_duration = Histogram(
            "reelfarm_webhook_delivery_duration_seconds",
            "Seconds one webhook delivery attempt took, by outcome.",
            ["outcome"],
            buckets=WEBHOOK_DURATION_BUCKETS_S,
            registry=reg,
        )
        self.encoder = Info(
            "reelfarm_encoder",
            "The video encoder renders use now and the FFmpeg that runs it.",
            registry=reg,
        )

        # HTTP -------------------------------------------------------------------------------
        self.http_requests = Counter(
            "reelfarm_http_requests_total",
            "HTTP requests by route template, method and status code.",
            ["route", "method", "status"],
            registry=reg,
        )
        self.http_duration = Histogram(
            "reelfarm_http_request_duration_seconds",
            "Seconds from request to response, by route template and method.",
            ["route", "method"],
            buckets=HTTP_DURATION_BUCKETS_S,
            registry=reg,
        )

        for api in APIS:
            self.jobs_submitted.labels(api)
        for reason in REFUSAL_REASONS:
            self.jobs_refused.labels(reason)
        for outcome in FINISH_OUTCOMES:
            self.jobs_finished.labels(outcome)
        for outcome in WEBHOOK_OUTCOMES:
            self.webhook_deliveries.labels(outcome)

        self.box = BoxCollector(self.data_dir)
        self.build = BuildInfoCollector()
        reg.register(self.box)
        reg.register(self.build)

    # Jobs ------------------------------------------------------------------------------------

    def job_submitted(self, api: str) -> None:
        """A job was accepted and is durable; `api` is node, reels, native or runpod."""
        self.jobs_submitted.labels(self._api(api)).inc()

    def job_refused(self, reason: str) -> None:
        """A submission was turned away (queue_full, invalid, rate_limited, ...)."""
        self.jobs_refused.labels(self._refusal(reason)).inc()

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
            self.jobs_finished.labels(self._outcome(new)).inc()
            if new == "failed":
                self.jobs_failed.labels(self._error_kind(job.error_kind or "unknown")).inc()
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
            encoder = self._encoder(result.get("encoder") or "unknown")
            self.video_seconds.labels(encoder).inc(duration_s)

    def job_held(self, reason: str) -> None:
        """Admission began holding queued jobs back; `reason` names the gate (cpu, disk, ...)."""
        self.jobs_held.labels(self._hold(reason)).inc()

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
            self._holding = self._gate(holding) if holding is not None else None
            if self._holding is not None:
                self.admission_holding.labels(self._holding).set(1)
            self.admission_open.set(0 if self._holding is not None else 1)

    # Workers, webhooks, encoder --------------------------------------------------------------

    def worker_restarted(self, reason: str) -> None:
        """The pool replaced a worker process; `reason` says why ("killed by SIGKILL", ...).

        The pool's sentence may name the worker ("render worker 4242: ..."); that part is
        dropped and the rest made a label word, so a pid never becomes a label value.
        """
        self.worker_restarts.labels(self._restart(restart_reason_label(reason))).inc()

    def webhook_delivered(self, outcome: str, seconds: float) -> None:
        """One delivery attempt ended: delivered, retry (will try again), failed or refused."""
        label = self._webhook(outcome)
        self.webhook_deliveries.labels(label).inc()
        self.webhook_duration.labels(label).observe(max(0.0, seconds))

    def encoder_in_use(self, encoder: str, ffmpeg_version: str) -> None:
        """The encoder chosen by the start-up probe (or a fallback) and the FFmpeg running it."""
        self.encoder.info({"encoder": encoder, "ffmpeg_version": ffmpeg_version})
        self.build.ffmpeg_version = ffmpeg_version

    # HTTP ------------------------------------------------------------------------------------

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Count every request by route template (never the raw path) and time it."""
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        except asyncio.CancelledError:
            # The client went away mid-request; 499 ("client closed request") rather than a
            # 500 that would read as a server fault.
            status = 499
            raise
        finally:
            route = self._route(_route_template(request))
            method = self._method(request.method)
            self.http_requests.labels(route, method, self._status(status)).inc()
            self.http_duration.labels(route, method).observe(time.perf_counter() - started)

    async def handle_metrics(self, request: web.Request) -> web.Response:
        """`GET /metrics`: the text exposition format; scraping runs in a thread (NVML, disk)."""
        body = await asyncio.to_thread(generate_latest, self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    def close(self) -> None:
        """Release the NVML session the box collector may hold (optional; exit does it too)."""
        self.box.close()


def restart_reason_label(reason: str) -> str:
    """A label word from the pool's sentence, at most 48 characters long:
    `render worker 4242: killed by SIGKILL` → `killed_by_sigkill`."""
    reason = _WORKER_PREFIX.sub("", reason)
    word = _NOT_WORD.sub("_", reason.lower()).strip("_")[:48].rstrip("_")
    return word or "unknown"


def _route_template(request: web.Request) -> str:
    match_info = request.match_info
    if match_info.http_exception is not None:
        return UNMATCHED_ROUTE
    resource = match_info.route.resource
    if resource is None:
        return UNMATCHED_ROUTE
    return resource.canonical


def _queue_wait_s(job: Job, now: float) -> float:
    queued_at = job.queued_at if job.queued_at is not None else job.created_at
    started_at = job.started_at if job.started_at is not None else now
    return max(0.0, started_at - queued_at)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if value >= 0 else None


class BoxCollector(Collector):
    """CPU, memory and data-dir disk of this box, and its GPUs via NVML, read at scrape time."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._lock = threading.Lock()
        self._last_cpu: Any = None  # psutil cpu_times at the previous scrape
        self._nvml: Nvml | None = None

    def describe(self) -> Iterable[Metric]:
        # Declared so the registry never calls collect() at registration time; the families
        # are dynamic (GPUs appear only on GPU boxes).
        return ()

    def collect(self) -> Iterator[Metric]:
        yield from self._cpu()
        yield from self._memory()
        yield from self._disk()
        yield from gpu_families(self._gpus())

    def close(self) -> None:
        with self._lock:
            if self._nvml is not None:
                self._nvml.close()
                self._nvml = None

    def _cpu(self) -> Iterator[Metric]:
        # The busy share of CPU time since the previous scrape, from this collector's own
        # snapshot: psutil.cpu_percent() keeps one process-wide reference point that the
        # admission sampler moves too.
        with self._lock:
            now = psutil.cpu_times()
            before, self._last_cpu = self._last_cpu, now
        usage = _busy_ratio(before, now)
        cpu = GaugeMetricFamily(
            "reelfarm_box_cpu_usage_ratio",
            "Share of all cores busy since the previous scrape (since boot on the first).",
        )
        cpu.add_metric([], usage)
        yield cpu
        cores = GaugeMetricFamily("reelfarm_box_cpu_cores", "Logical CPU cores of this box.")
        cores.add_metric([], float(psutil.cpu_count() or 1))
        yield cores
        load = GaugeMetricFamily("reelfarm_box_load1", "One-minute load average.")
        load.add_metric([], os.getloadavg()[0])
        yield load

    def _memory(self) -> Iterator[Metric]:
        memory = psutil.virtual_memory()
        available = GaugeMetricFamily(
            "reelfarm_box_memory_available_bytes", "Memory available to new processes."
        )
        available.add_metric([], float(memory.available))
        yield available
        total = GaugeMetricFamily("reelfarm_box_memory_total_bytes", "Physical memory.")
        total.add_metric([], float(memory.total))
        yield total

    def _disk(self) -> Iterator[Metric]:
        path = _existing_parent(self.data_dir)
        try:
            usage = shutil.disk_usage(path)
        except OSError:
            return
        free = GaugeMetricFamily(
            "reelfarm_box_disk_free_bytes", "Free bytes on the file system of the data dir."
        )
        free.add_metric([], float(usage.free))
        yield free
        total = GaugeMetricFamily(
            "reelfarm_box_disk_total_bytes", "Size of the file system of the data dir."
        )
        total.add_metric([], float(usage.total))
        yield total

    def _gpus(self) -> list[GpuFacts]:
        with self._lock:
            if self._nvml is None:
                # One NVML session for the collector's life: opening one per scrape can take
                # hundreds of milliseconds on boxes without persistence mode.
                self._nvml = Nvml()
            return self._nvml.facts() if self._nvml.available else []


def _busy_ratio(before: Any, now: Any) -> float:
    def busy_and_total(times: Any) -> tuple[float, float]:
        total = sum(times)
        idle = times.idle + getattr(times, "iowait", 0.0)
        return total - idle, total

    busy_now, total_now = busy_and_total(now)
    if before is None:
        return busy_now / total_now if total_now > 0 else 0.0
    busy_before, total_before = busy_and_total(before)
    elapsed = total_now - total_before
    if elapsed <= 0:
        return 0.0
    return min(1.0, max(0.0, (busy_now - busy_before) / elapsed))


def _existing_parent(path: Path) -> Path:
    # The data dir may not exist yet on a fresh box; its file system is the nearest parent's.
    path = path.absolute()
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(path.anchor or "/")


def gpu_families(gpus: Sequence[GpuFacts]) -> list[Metric]:
    """The GPU gauges for the given NVML readings; no families at all on a box without GPUs."""
    if not gpus:
        return []
    info = GaugeMetricFamily(
        "reelfarm_gpu_info", "Each GPU NVML sees, by index and model name.", labels=["gpu", "name"]
    )
    utilization = GaugeMetricFamily(
        "reelfarm_gpu_utilization_ratio", "GPU busy share (NVML utilization).", labels=["gpu"]
    )
    used = GaugeMetricFamily("reelfarm_gpu_memory_used_bytes", "GPU memory in use.", labels=["gpu"])
    total = GaugeMetricFamily("reelfarm_gpu_memory_total_bytes", "GPU memory.", labels=["gpu"])
    sessions = GaugeMetricFamily(
        "reelfarm_gpu_encoder_sessions",
        "NVENC sessions open on the GPU, from every process.",
        labels=["gpu"],
    )
    engines = GaugeMetricFamily(
        "reelfarm_gpu_nvenc_engines",
        "NVENC engines of the GPU model (0 for H100/H200/A100/B200); absent when unknown.",
        labels=["gpu"],
    )
    for index, gpu in enumerate(gpus):
        label = str(index)
        info.add_metric([label, gpu.name], 1.0)
        utilization.add_metric([label], gpu.utilization_percent / 100.0)
        used.add_metric([label], float(gpu.memory_used_mb) * 2**20)
        total.add_metric([label], float(gpu.memory_total_mb) * 2**20)
        sessions.add_metric([label], float(gpu.encoder_sessions))
        if gpu.nvenc_engines is not None:
            engines.add_metric([label], float(gpu.nvenc_engines))
    return [info, utilization, used, total, sessions, engines]


class BuildInfoCollector(Collector):
    """`reelfarm_build_info{version, python, ffmpeg}`: the FFmpeg label fills in once known."""

    def __init__(self) -> None:
        try:
            self.version = metadata.version("reelfarm")
        except metadata.PackageNotFoundError:
            self.version = "unknown"
        self.python = platform.python_version()
        # Set by Metrics.encoder_in_use once the server has probed the FFmpeg it will run.
        self.ffmpeg_version = "unknown"

    def describe(self) -> Iterable[Metric]:
        return list(self.collect())

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily(
            "reelfarm_build_info",
            "Always 1; the labels say which Reelfarm, Python and FFmpeg run here.",
            labels=["version", "python", "ffmpeg"],
        )
        info.add_metric([self.version, self.python, self.ffmpeg_version], 1.0)
        yield info
