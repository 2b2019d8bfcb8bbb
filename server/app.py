"""The aiohttp application: state behind typed `AppKey`s, resources opened and closed in
`cleanup_ctx`, one error middleware, and the API adapters registered from one list.

    app = create_app(config)          # nothing opened yet
    web.run_app(app)                  # or `reelfarm serve` (server.lifecycle), which adds
                                      # signal handling, draining and reloads

An adapter is a module in `server/api/` with `setup(app)` (routes, formatters) and, for the
OpenAPI document, `OPENAPI_PATHS` (and optionally `OPENAPI_SCHEMAS`, both kept in its
`*_openapi.py` beside it). Add it to `API_MODULES`. Its state lives behind the typed keys
of `server.state`.
"""

from __future__ import annotations

import asyncio
import os
import time
import traceback
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import psutil
from aiohttp import web

from renderer.pool import WorkerPool
from renderer.types import RenderOptions
from server import auth, capacity, console
from server.admission import Admission
from server.api import cluster, health, native, node, openapi, reels, runpod
from server.config import Config, redacted_url
from server.errors import QueueFull, ServiceError, Unavailable, ValidationFailed
from server.logs import EventLog
from server.metrics import Metrics
from server.nodes import NodeRegistry, package_version, resolve_node_id
from server.outage import RETRY_MAX_S, StoreHealth
from server.scheduler import Scheduler
from server.service import JobService
from server.state import (
    ADMISSION,
    AUTH,
    CONFIG,
    CONFIG_PATH,
    METRICS,
    MODULES,
    NODES,
    POOL,
    SCHEDULER,
    SERVICE,
    STORE,
    STORE_HEALTH,
    SWEEPER,
    WEBHOOKS,
)
from server.store import JobStore, NodeInfo, StoreUnavailable, make_store
from server.sweeper import Sweeper
from server.webhooks import WebhookSender

# The API adapters, in registration order. Each exposes setup(app) and OPENAPI_PATHS.
API_MODULES: tuple[ModuleType, ...] = (health, node, reels, native, runpod, cluster, openapi)
# What a client is told when the job store cannot be reached, and when to come back.
STORE_AWAY = "the job store is unavailable, retry shortly"
STORE_RETRY_AFTER_S = 2
# While the store does not answer at start-up, say so again this often.
WAITING_LOG_S = 30.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(config: Config, *, config_path: str | Path | None = None) -> web.Application:
    """Build the app; the store, pool, scheduler and webhook sender start with it."""
    metrics = Metrics(data_dir=config.storage.data_dir)
    authenticator = auth.Authenticator(config.auth)
    app = web.Application(
        client_max_size=int(config.server.max_body_mb * 2**20),
        middlewares=[
            metrics.middleware,  # outermost: sees the final status of every answer
            error_middleware,
            auth.middleware(authenticator, on_refused=lambda r: _refused(metrics, r)),
        ],
    )
    node_id = resolve_node_id(config.server.node_id)
    store = make_store(config.storage)
    if config.storage.backend == "redis":  # imported here: a SQLite node never loads redis-py
        from server.store.redis_conn import set_observer

        set_observer(store, metrics.redis_call)
    store_health = StoreHealth()
    service = JobService(store, config, metrics=metrics, node_id=node_id)
    sender = WebhookSender(
        store,
        node_id=node_id,
        config=lambda: service.config.webhooks,
        on_delivered=metrics.webhook_delivered,
        health=store_health,
    )
    service.set_outbox_listener(sender.wake)
    admission = _make_admission(config)
    pool = _make_pool(config, service, metrics)
    scheduler = Scheduler(service, pool, admission=admission, metrics=metrics, health=store_health)

    app[CONFIG] = config
    app[CONFIG_PATH] = str(config_path or "")
    app[METRICS] = metrics
    app[AUTH] = authenticator
    app[STORE] = store
    app[SERVICE] = service
    app[WEBHOOKS] = sender
    app[ADMISSION] = admission
    app[POOL] = pool
    app[SCHEDULER] = scheduler
    app[SWEEPER] = Sweeper(service, health=store_health, on_takeovers=metrics.renders_taken_over)
    app[STORE_HEALTH] = store_health
    app[NODES] = NodeRegistry(
        store,
        _describer(node_id, scheduler, pool),
        health=store_health,
        on_count=metrics.cluster_seen,
    )
    app[MODULES] = API_MODULES

    app.router.add_get("/metrics", metrics.handle_metrics)
    for module in API_MODULES:
        module.setup(app)
    console.setup(app)  # a page, not an API: outside the OpenAPI document
    app.cleanup_ctx.append(_lifecycle)
    return app


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    """Open in dependency order, close in reverse; a failure part-way closes what opened."""
    store = app[STORE]
    await open_store(store, app[CONFIG])
    try:
        await app[SWEEPER].start()  # requeues the last run's orphans before any claim
        await app[WEBHOOKS].start()
        await app[SCHEDULER].start()
        await app[NODES].start()
        yield
    finally:
        # Unregistered first, so other nodes stop counting this one's slots at once.
        await app[NODES].stop()
        # serve() drains with the grace period first; here anything left is requeued.
        await app[SCHEDULER].stop()
        await app[POOL].stop()
        await app[WEBHOOKS].stop()
        await app[SWEEPER].stop()
        app[ADMISSION].close()
        await store.close()


async def open_store(store: JobStore, config: Config) -> None:
    """Open the store, waiting for as long as it does not answer (Redis starting beside the
    node, or restarting): the node comes up by itself once it does, instead of leaving that to
    a supervisor. A store that answers but is unsafe (`StoreUnsafe`) is not waited for."""
    log = EventLog()
    started = time.monotonic()
    last_said = -WAITING_LOG_S
    delay_s = 0.25
    while True:
        try:
            await store.open()
        except StoreUnavailable as exc:
            waited_s = time.monotonic() - started
            if waited_s - last_said >= WAITING_LOG_S:
                last_said = waited_s
                log.warning(
                    "store.waiting",
                    f"Waiting for the job store at {redacted_url(config.storage.redis_url)} "
                    f"({exc.reason}); retrying, waited {waited_s:.0f}s",
                    reason=exc.reason,
                )
            await asyncio.sleep(delay_s)
            delay_s = min(delay_s * 2, RETRY_MAX_S)
            continue
        if time.monotonic() - started > 1.0:
            log.emit("store.open", f"Job store open after {time.monotonic() - started:.1f}s")
        return


def _describer(node_id: str, scheduler: Scheduler, pool: WorkerPool) -> Callable[[], NodeInfo]:
    version = package_version()

    def describe() -> NodeInfo:
        jobs = scheduler.rendering()
        return NodeInfo(
            id=node_id,
            slots=scheduler.max_concurrent,
            busy=len(jobs),
            encoder=pool.encoder or "unknown",
            gpu=None,  # the registry knows the GPUs
            version=version,
            jobs=jobs,
        )

    return describe


def pool_size(config: Config) -> tuple[int, int]:
    """(slots, render threads) from `[pool]`; "auto" by the rule in `server.capacity`."""
    cpus = os.cpu_count() or 1
    if isinstance(config.pool.max_concurrent, int):
        slots = config.pool.max_concurrent
    else:
        available_mb = psutil.virtual_memory().available // 2**20
        slots = capacity.auto_max_concurrent(cpus, available_mb, capacity.gpu_facts())
    if isinstance(config.pool.render_threads, int):
        threads = config.pool.render_threads
    else:
        threads = capacity.render_threads(cpus, slots)
    return slots, threads


def _make_pool(config: Config, service: JobService, metrics: Metrics) -> WorkerPool:
    slots, threads = pool_size(config)
    options = RenderOptions(
        ffmpeg=None if config.encoder.ffmpeg == "auto" else config.encoder.ffmpeg,
        prefer=config.encoder.prefer,
        theme_dirs=config.themes.dirs,
        assets=service.asset_policy(),
    )
    log = EventLog()

    def on_worker_restart(reason: str) -> None:
        metrics.worker_restarted(reason)
        log.warning("pool.worker_restarted", f"Render worker replaced: {reason}", reason=reason)

    return WorkerPool(
        slots,
        options,
        threads_per_render=threads,
        nice=config.pool.worker_nice,
        max_duration_s=config.admission.max_duration_s,
        on_worker_restart=on_worker_restart,
    )


def _make_admission(config: Config) -> Admission:
    return Admission(config.admission, config.storage.data_dir)


def _refused(metrics: Metrics, request: web.Request) -> None:
    if request.method == "POST":
        metrics.job_refused("unauthorized")


# ---- errors ----------------------------------------------------------------------------------
def error_body(message: str, errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"success": False, "error": message}
    if errors is not None:
        body["errors"] = errors
    return body


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure becomes one JSON answer; a traceback goes to the log, never the client."""
    try:
        return await handler(request)
    except ServiceError as exc:
        return service_error_response(exc)
    except StoreUnavailable as exc:
        request.app[STORE_HEALTH].failed(exc, where="API")
        return service_error_response(Unavailable(STORE_AWAY, STORE_RETRY_AFTER_S))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        message = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else None
        headers = {k: v for k, v in exc.headers.items() if k.lower() != "content-type"}
        return web.json_response(
            error_body(message or exc.reason), status=exc.status, headers=headers
        )
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception:
        incident = uuid.uuid4().hex[:12]
        EventLog().error(
            "http.internal_error",
            f"{request.method} {request.path} failed (incident {incident}): "
            + traceback.format_exc(),
            incident=incident,
        )
        return web.json_response(error_body(f"internal error (incident {incident})"), status=500)


def service_error_response(exc: ServiceError) -> web.Response:
    headers = {}
    errors = None
    if isinstance(exc, ValidationFailed):
        errors = [e.as_dict() for e in exc.errors]
    if isinstance(exc, QueueFull | Unavailable):
        headers["Retry-After"] = str(exc.retry_after_s)
    return web.json_response(error_body(exc.message, errors), status=exc.status, headers=headers)
