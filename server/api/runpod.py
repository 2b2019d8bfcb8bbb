"""Runpod Serverless's queue API at `/v2/{endpoint_id}/…`, so the official `runpod` SDK and
any client written for Runpod work against Reelfarm by changing only the base URL and key.

    POST /run            {input, webhook?, policy?}      → {id, status: IN_QUEUE}
    POST /runsync?wait=  same, waits up to `wait` ms     → the /status object
    GET  /status/{id}                                    → {id, status, delayTime, executionTime,
                                                            output | error}
    GET  /stream/{id}                                    → {status, stream: [{output}, …]}
    POST /cancel/{id}  /retry/{id}  /purge-queue   GET /health

`input` is a Reelfarm spec. The endpoint id is `[runpod] endpoint_id`; any other answers 404.
Each caller is held to `[runpod] requests_per_s` (429 with Retry-After). Statuses and bodies
come from `server.api.runpod_contract`; jobs go through `JobService` like every adapter's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web

from server.api.common import (
    idempotency_key,
    int_param,
    load_job,
    read_json_object,
    service_of,
)
from server.api.runpod_contract import (
    DEFAULT_WAIT_MS,
    MAX_WAIT_MS,
    MIN_WAIT_MS,
    RETRYABLE,
    client_field_errors,
    lifetime_over,
    parse_run_request,
    status_body,
    status_of,
    webhook_message,
)
from server.api.runpod_openapi import OPENAPI_PATHS, OPENAPI_SCHEMAS
from server.api.runpod_ratelimit import RateLimiter
from server.api.runpod_stream import StreamFeeds
from server.auth import principal_of
from server.errors import Conflict, JobNotFound, ValidationFailed
from server.jobs import Api, Job
from server.state import NODES, SERVICE

PREFIX = "/v2/{endpoint_id}"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Collected by server.api.openapi from every adapter.
__all__ = ["OPENAPI_PATHS", "OPENAPI_SCHEMAS", "RUNPOD_STATE", "RunpodState", "setup"]


class Feeds(Protocol):
    """`/stream` chunks: this node's own (`StreamFeeds`), or the cluster's in Redis."""

    def on_state_change(self, job: Job, old: Any) -> None: ...

    def on_progress(self, event: Any) -> None: ...

    async def chunks(self, job: Job) -> list[dict[str, Any]]: ...

    async def close(self) -> None: ...


class Limiter(Protocol):
    """Per-caller request rate: this node's buckets (`RateLimiter`), or the cluster's."""

    async def take(self, caller: str, rate_per_s: float) -> int | None: ...


@dataclass
class RunpodState:
    """What the adapter keeps between calls: stream chunks and per-caller rate buckets."""

    feeds: Feeds = field(default_factory=StreamFeeds)
    limiter: Limiter = field(default_factory=RateLimiter)


RUNPOD_STATE = web.AppKey("runpod_state", RunpodState)


def _endpoint(handler: Handler, *, submits: bool = False) -> Handler:
    """Every call: the endpoint id must be ours, and the caller within its request rate.
    `submits`: a refusal here is a refused submission in the metrics."""

    async def checked(request: web.Request) -> web.StreamResponse:
        service = service_of(request)
        config = service.config.runpod
        endpoint_id = request.match_info["endpoint_id"]
        if endpoint_id != config.endpoint_id:
            raise web.HTTPNotFound(text=f"endpoint {endpoint_id} not found")
        caller = principal_of(request) or f"address:{request.remote}"
        retry_after_s = await request.app[RUNPOD_STATE].limiter.take(caller, config.requests_per_s)
        if retry_after_s is not None:
            if submits:
                service.metrics.job_refused("rate_limited")
            raise web.HTTPTooManyRequests(
                text=f"over {config.requests_per_s:g} requests per second; "
                f"retry in {retry_after_s}s",
                headers={"Retry-After": str(retry_after_s)},
            )
        return await handler(request)

    return checked


async def _submit(request: web.Request) -> Job:
    body = await read_json_object(request)
    service = service_of(request)
    config = service.config
    try:
        run = parse_run_request(
            body,
            default_ttl_s=config.runpod.default_ttl_s,
            max_execution_s=config.pool.render_timeout_s,
            allow_private_buckets=config.outputs.allow_private_client_endpoints,
        )
    except ValidationFailed:
        service.metrics.job_refused("invalid")
        raise
    try:
        return await service.submit(
            run.spec,
            api=Api.RUNPOD,
            owner=principal_of(request),
            webhook_url=run.webhook_url,
            priority=run.priority,
            idempotency_key=idempotency_key(request),
            options=run.options(),
        )
    except ValidationFailed as exc:
        raise client_field_errors(exc, run.webhook_field) from None


async def _load(request: web.Request) -> Job:
    """The caller's job, unless its ttl has run out (then it is gone, as on Runpod)."""
    job = await load_job(request, request.match_info["job_id"])
    if lifetime_over(job):
        raise JobNotFound(job.id)
    return job


async def run(request: web.Request) -> web.Response:
    job = await _submit(request)
    return web.json_response({"id": job.id, "status": status_of(job).value})


async def runsync(request: web.Request) -> web.Response:
    wait_ms = int_param(request, "wait", DEFAULT_WAIT_MS, MIN_WAIT_MS, MAX_WAIT_MS)
    job = await _submit(request)
    job = await service_of(request).wait_terminal(job.id, wait_ms / 1000)
    return web.json_response(status_body(job))


async def status(request: web.Request) -> web.Response:
    return web.json_response(status_body(await _load(request)))


async def stream(request: web.Request) -> web.Response:
    job = await _load(request)
    current = status_of(job)
    body: dict[str, Any] = {
        "status": current.value,
        "stream": await request.app[RUNPOD_STATE].feeds.chunks(job),
    }
    if current in RETRYABLE:
        body["error"] = job.error or "the render failed"
    return web.json_response(body)


async def cancel(request: web.Request) -> web.Response:
    job = await _load(request)
    if not job.terminal:
        service = service_of(request)
        try:
            job = await service.cancel(job.id)
        except Conflict:
            job = await service.require(job.id)  # it finished first: say how
    return web.json_response({"id": job.id, "status": status_of(job).value})


async def retry(request: web.Request) -> web.Response:
    job = await _load(request)
    current = status_of(job)
    if current not in RETRYABLE:
        raise Conflict(f"only FAILED or TIMED_OUT jobs can be retried; job {job.id} is {current}")
    again = await service_of(request).retry(job.id)
    return web.json_response({"id": again.id, "status": status_of(again).value})


async def purge_queue(request: web.Request) -> web.Response:
    # This endpoint's queue: the caller's jobs submitted through it, not other APIs' jobs.
    removed = await service_of(request).purge_queued(owner=principal_of(request), api=Api.RUNPOD)
    return web.json_response({"removed": removed, "status": "completed"})


async def health(request: web.Request) -> web.Response:
    stats = await service_of(request).stats()
    counts = stats["counts"]
    # Every live node's workers: idle slots and renders in flight over the whole cluster.
    nodes = await request.app[NODES].cluster()
    running = sum(n.busy for n in nodes)
    idle = sum(max(0, n.slots - n.busy) for n in nodes)
    return web.json_response(
        {
            "jobs": {
                "completed": counts.get("completed", 0),
                "failed": counts.get("failed", 0),
                "inProgress": counts.get("processing", 0),
                "inQueue": counts.get("queued", 0),
                "retried": stats["retried"],
            },
            "workers": {"idle": idle, "running": running},
        }
    )


def _state_for(store: Any) -> RunpodState:
    """One node alone keeps its own buckets and feeds; nodes sharing a store share them."""
    if store.exclusive:
        return RunpodState()
    # Imported here: a node on SQLite never loads the Redis client.
    from server.api.runpod_stream_shared import SharedStreamFeeds
    from server.store.redis_shared import RedisRateBuckets

    return RunpodState(feeds=SharedStreamFeeds(store), limiter=RedisRateBuckets(store))


def setup(app: web.Application) -> None:
    service = app[SERVICE]
    state = _state_for(service.store)
    app[RUNPOD_STATE] = state

    async def close_feeds(_: web.Application) -> None:
        await state.feeds.close()

    app.on_cleanup.append(close_feeds)
    service.register_webhook_formatter(Api.RUNPOD, webhook_message)
    service.on_state_change(state.feeds.on_state_change)
    service.on_progress(state.feeds.on_progress)

    router = app.router
    router.add_post(f"{PREFIX}/run", _endpoint(run, submits=True))
    router.add_post(f"{PREFIX}/runsync", _endpoint(runsync, submits=True))
    for method in ("GET", "POST"):  # Runpod's own examples use both for these two
        router.add_route(method, f"{PREFIX}/status/{{job_id}}", _endpoint(status))
        router.add_route(method, f"{PREFIX}/stream/{{job_id}}", _endpoint(stream))
    router.add_post(f"{PREFIX}/cancel/{{job_id}}", _endpoint(cancel))
    router.add_post(f"{PREFIX}/retry/{{job_id}}", _endpoint(retry))
    router.add_post(f"{PREFIX}/purge-queue", _endpoint(purge_queue))
    router.add_get(f"{PREFIX}/health", _endpoint(health))
