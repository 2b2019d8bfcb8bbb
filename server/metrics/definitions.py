"""Every metric Reelfarm exports, one row each, and the guards that bound their label values.

Names, help texts and labels are a contract: deploy/dashboard.json, deploy/alerts.yml and the
operators' own queries read them, so a row changes only together with those.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

# Label values seen per metric label before new ones read "other" (see LabelGuard).
MAX_LABEL_VALUES = 64
OTHER = "other"

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
# The kinds of Redis error (server.store.redis_conn.ERROR_KINDS; the store layer is below this
# one, so the words are repeated rather than imported).
REDIS_ERROR_KINDS: tuple[str, ...] = ("connection", "timeout", "oom", "other")

QUEUE_WAIT_BUCKETS_S = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600)
RENDER_DURATION_BUCKETS_S = (0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 900, 1800, 3600)
# Video seconds per wall second: below 1 a render is slower than real time.
RENDER_SPEED_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 20, 50)
HTTP_DURATION_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
WEBHOOK_DURATION_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
# A store call on a healthy loopback or LAN Redis is well under a millisecond; the top buckets
# catch the 2 s connect and 5 s call timeouts.
REDIS_ROUNDTRIP_BUCKETS_S = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
)  # fmt: skip

Instrument = Counter | Gauge | Histogram | Info


@dataclass(frozen=True)
class MetricDef:
    """One metric family: the `Metrics` attribute that holds it, and what Prometheus sees."""

    attr: str
    kind: type[Instrument]
    name: str
    labels: tuple[str, ...] = ()
    help: str = ""
    buckets: tuple[float, ...] | None = None
    # Values of its one label created at zero with the family (see APIS above).
    known: tuple[str, ...] = ()

    def create(self, registry: CollectorRegistry) -> Instrument:
        options = {} if self.buckets is None else {"buckets": self.buckets}
        metric = self.kind(self.name, self.help, self.labels, registry=registry, **options)
        for value in self.known:
            metric.labels(value)
        return metric


# One row per metric, in exposition order, two lines a row so the table reads in one screen
# (the formatter would spread each row over eight).
# Counters pass their name with `_total` and Info without `_info`: prometheus_client adds it.
# fmt: off
DEFINITIONS: tuple[MetricDef, ...] = (
    # Jobs: counted once per move of the state machine -------------------------------------
    MetricDef("jobs_submitted", Counter, "reelfarm_jobs_submitted_total", ("api",), known=APIS,
        help="Jobs accepted into the queue, by the client API that sent them."),
    MetricDef("jobs_refused", Counter, "reelfarm_jobs_refused_total", ("reason",),
        known=REFUSAL_REASONS, help="Submissions turned away before queueing, by reason."),
    MetricDef("jobs_finished", Counter, "reelfarm_jobs_finished_total", ("outcome",),
        known=FINISH_OUTCOMES,
        help="Jobs that reached a terminal state, by outcome (completed, failed, cancelled)."),
    MetricDef("jobs_failed", Counter, "reelfarm_jobs_failed_total", ("error_kind",),
        help="Failed jobs by error kind (render, asset, timeout, worker_lost, expired)."),
    MetricDef("jobs_requeued", Counter, "reelfarm_jobs_requeued_total",
        help="Renders put back in the queue (worker lost, lease expired, shutdown, client retry)."),
    MetricDef("jobs_started", Counter, "reelfarm_jobs_started_total",
        help="Renders started (a requeued job starts again)."),
    MetricDef("jobs_held", Counter, "reelfarm_jobs_held_total", ("reason",),
        help="Times admission began holding queued jobs back, by gate (cpu, memory, ...)."),
    MetricDef("queue_wait", Histogram, "reelfarm_job_queue_wait_seconds",
        buckets=QUEUE_WAIT_BUCKETS_S,
        help="Seconds a job waited in the queue before its render started."),
    MetricDef("render_duration", Histogram, "reelfarm_render_duration_seconds",
        buckets=RENDER_DURATION_BUCKETS_S,
        help="Wall-clock seconds of completed renders, start to finish."),
    MetricDef("render_speed", Histogram, "reelfarm_render_speed_ratio",
        buckets=RENDER_SPEED_BUCKETS,
        help="Video seconds produced per wall-clock second, per completed render."),
    MetricDef("job_turnaround", Histogram, "reelfarm_job_turnaround_seconds",
        buckets=QUEUE_WAIT_BUCKETS_S,
        help="Seconds from submission to completion of completed jobs (what a client waits)."),
    MetricDef("video_seconds", Counter, "reelfarm_rendered_video_seconds_total", ("encoder",),
        help="Seconds of finished video produced, by the encoder that produced them."),
    MetricDef("frames", Counter, "reelfarm_frames_rendered_total",
        help="Frames encoded by the workers, from the progress they report back."),
    # Queue, slots and admission ------------------------------------------------------------
    MetricDef("queue_length", Gauge, "reelfarm_queue_length",
        help="Jobs waiting in the queue."),
    MetricDef("renders_active", Gauge, "reelfarm_renders_active",
        help="Renders running now."),
    MetricDef("max_concurrent", Gauge, "reelfarm_renders_max_concurrent",
        help="Render slots this node runs at most (pool.max_concurrent, resolved)."),
    MetricDef("slots_available", Gauge, "reelfarm_render_slots_available",
        help="Render slots free now: max concurrent minus active."),
    MetricDef("admission_open", Gauge, "reelfarm_admission_open",
        help="1 while admission starts new renders, 0 while a gate holds them."),
    MetricDef("admission_holding", Gauge, "reelfarm_admission_holding", ("gate",),
        help="1 for the admission gate holding renders now, 0 for gates seen before."),
    # Workers, webhooks, encoder ------------------------------------------------------------
    MetricDef("worker_restarts", Counter, "reelfarm_worker_restarts_total", ("reason",),
        help="Worker processes replaced, by reason (killed_by_sigkill, stopped_answering, ...)."),
    MetricDef("webhook_deliveries", Counter, "reelfarm_webhook_deliveries_total", ("outcome",),
        known=WEBHOOK_OUTCOMES,
        help="Webhook delivery attempts by outcome (delivered, retry, failed, refused)."),
    MetricDef("webhook_duration", Histogram, "reelfarm_webhook_delivery_duration_seconds",
        ("outcome",), buckets=WEBHOOK_DURATION_BUCKETS_S,
        help="Seconds one webhook delivery attempt took, by outcome."),
    MetricDef("encoder", Info, "reelfarm_encoder",
        help="The video encoder renders use now and the FFmpeg that runs it."),
    # Cluster: the node registry, take-overs, the Redis job store ----------------------------
    MetricDef("cluster_nodes", Gauge, "reelfarm_cluster_nodes",
        help="Live nodes in the registry as this node last read it (every beat; 1 on SQLite)."),
    MetricDef("takeovers", Counter, "reelfarm_takeovers_total",
        help="Renders this node took from a node whose lease ran out (requeued, or failed "
             "when out of attempts); on SQLite, the previous run's renders at start-up."),
    MetricDef("redis_roundtrip", Histogram, "reelfarm_redis_roundtrip_seconds", ("operation",),
        buckets=REDIS_ROUNDTRIP_BUCKETS_S,
        help="Seconds a job-store call to Redis took when Redis answered, by store operation "
             "(one script or pipeline each, mostly); no series on SQLite."),
    MetricDef("redis_errors", Counter, "reelfarm_redis_errors_total", ("kind",),
        known=REDIS_ERROR_KINDS,
        help="Job-store calls to Redis that failed, by kind (connection, timeout, oom, other); "
             "0 on SQLite."),
    # HTTP: filled by the request middleware ------------------------------------------------
    MetricDef("http_requests", Counter, "reelfarm_http_requests_total",
        ("route", "method", "status"),
        help="HTTP requests by route template, method and status code."),
    MetricDef("http_duration", Histogram, "reelfarm_http_request_duration_seconds",
        ("route", "method"), buckets=HTTP_DURATION_BUCKETS_S,
        help="Seconds from request to response, by route template and method."),
)
# fmt: on


class LabelGuard:
    """Caps the distinct values of one label; a value past the cap is reported as `other`.

    Label values come from small fixed sets (states, APIs, refusal reasons, route templates);
    the cap is there so that a bug elsewhere cannot blow up the series count.
    """

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


@dataclass(frozen=True)
class LabelGuards:
    """A guard per label that `Metrics` fills with words from other modules."""

    api: LabelGuard = field(default_factory=lambda: LabelGuard(APIS))
    refusal: LabelGuard = field(default_factory=lambda: LabelGuard(REFUSAL_REASONS))
    outcome: LabelGuard = field(default_factory=lambda: LabelGuard(FINISH_OUTCOMES))
    hold: LabelGuard = field(default_factory=LabelGuard)
    gate: LabelGuard = field(default_factory=LabelGuard)
    error_kind: LabelGuard = field(default_factory=LabelGuard)
    encoder: LabelGuard = field(default_factory=LabelGuard)
    restart: LabelGuard = field(default_factory=LabelGuard)
    # Shared by the delivery counter and histogram, so both see the same values.
    webhook: LabelGuard = field(default_factory=lambda: LabelGuard(WEBHOOK_OUTCOMES))
    redis_operation: LabelGuard = field(default_factory=LabelGuard)
    # Closed set: a word the store layer adds later reads "other" until it is listed here.
    redis_error: LabelGuard = field(
        default_factory=lambda: LabelGuard(REDIS_ERROR_KINDS, limit=len(REDIS_ERROR_KINDS))
    )


_WORKER_PREFIX = re.compile(r"^.*?\bworker\s+\d+\s*:\s*", re.IGNORECASE)
_NOT_WORD = re.compile(r"[^a-z0-9]+")


def restart_reason_label(reason: str) -> str:
    """A label word from the pool's sentence, at most 48 characters long:
    `render worker 4242: killed by SIGKILL` → `killed_by_sigkill`."""
    reason = _WORKER_PREFIX.sub("", reason)
    word = _NOT_WORD.sub("_", reason.lower()).strip("_")[:48].rstrip("_")
    return word or "unknown"
