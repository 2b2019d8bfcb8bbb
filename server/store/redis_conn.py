"""The Redis side of `RedisJobStore`: the connection (bounded timeouts), the Lua scripts, the
refusal of a Redis configured to lose accepted jobs, and connection errors as
`StoreUnavailable`.

Every store call also reports to the store's observer, if the app set one with
`set_observer`: how long it took when Redis answered, or which kind of error it met. The
store layer knows nothing of metrics; the observer is how they reach it."""

from __future__ import annotations

import functools
import json
import time
import weakref
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any, Concatenate, ParamSpec, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis import exceptions as rx
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.commands.core import AsyncScript

from server.store.base import StoreUnavailable, StoreUnsafe

SCRIPTS = (
    *("add", "claim", "save", "heartbeat", "delete", "nodes"),
    *("outbox_add", "outbox_claim", "outbox_finish"),
    *("read_rank", "read_score", "read_status", "read_idem"),
    *("rate_limit", "stream"),  # shared by the Runpod adapter's nodes (server.store.redis_shared)
)
# Errors that mean "Redis cannot take this right now", not "this call is wrong". A read-only
# replica (just after a failover, before it is promoted) refuses writes the same way, and so
# does a full Redis under `noeviction` (OOM): both pass, so clients are told to retry (503).
UNREACHABLE = (
    rx.ConnectionError,
    rx.TimeoutError,
    rx.ReadOnlyError,
    rx.OutOfMemoryError,
    TimeoutError,
    OSError,
)
DEFAULT_PREFIX = "reelfarm:"

# `observer(operation, seconds, error_kind)`: `error_kind` is None when Redis answered, else
# one of ERROR_KINDS; `operation` is the store method's name (a fixed set, one per method).
Observer = Callable[[str, float, str | None], None]
ERROR_KINDS = ("connection", "timeout", "oom", "other")
# Per store instance, not module-wide: several nodes (tests, one process) each have their own.
_observers: weakref.WeakKeyDictionary[Any, Observer] = weakref.WeakKeyDictionary()

P = ParamSpec("P")
T = TypeVar("T")


def reachable(
    method: Callable[Concatenate[Any, P], Awaitable[T]],
) -> Callable[Concatenate[Any, P], Awaitable[T]]:
    """Turn the connection errors of a store method into `StoreUnavailable`, and report the
    call to the store's observer."""
    operation = method.__name__

    @functools.wraps(method)
    async def call(self: Any, *args: P.args, **kwargs: P.kwargs) -> T:
        observe = _observers.get(self)
        started = time.perf_counter()
        try:
            result = await method(self, *args, **kwargs)
        except (rx.RedisError, OSError) as exc:
            if observe is not None:
                observe(operation, time.perf_counter() - started, error_kind(exc))
            if isinstance(exc, UNREACHABLE):
                raise StoreUnavailable(_reason(exc)) from exc
            raise
        if observe is not None:
            observe(operation, time.perf_counter() - started, None)
        return result

    return call


def set_observer(store: object, observer: Observer | None) -> None:
    """Report every call of `store` (a `RedisJobStore`) to `observer`; None stops it."""
    if observer is None:
        _observers.pop(store, None)
    else:
        _observers[store] = observer


def error_kind(exc: BaseException) -> str:
    """One of ERROR_KINDS: what an operator does about each differs (network, a slow or
    overloaded Redis, memory, anything else)."""
    if isinstance(exc, rx.OutOfMemoryError):
        return "oom"
    if isinstance(exc, rx.TimeoutError | TimeoutError):
        return "timeout"
    if isinstance(exc, rx.ConnectionError | OSError):
        return "connection"
    return "other"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, rx.BusyLoadingError):
        return "Redis is loading its data"
    if isinstance(exc, rx.ReadOnlyError):
        return "Redis is a read-only replica"
    if isinstance(exc, rx.OutOfMemoryError):
        return "Redis is out of memory (maxmemory reached)"
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"Redis: {text[:200]}"


def split_url(url: str) -> tuple[str, str]:
    """(the URL for redis-py, the key prefix): `?prefix=name:` is ours, not redis-py's."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefix = next((v for k, v in query if k == "prefix"), DEFAULT_PREFIX)
    rest = urlencode([(k, v) for k, v in query if k != "prefix"])
    return urlunsplit(parts._replace(query=rest)), prefix


def connect(url: str, *, connect_timeout_s: float, timeout_s: float) -> aioredis.Redis:
    # One retry after a broken connection (a restarted Redis leaves every pooled socket
    # dead); the scripts carry a token per call, so a retried write is not applied twice.
    # Timeouts bound every call: an unreachable Redis is a quick 503, never a hang.
    return aioredis.Redis.from_url(
        url,
        socket_connect_timeout=connect_timeout_s,
        socket_timeout=timeout_s,
        retry=Retry(ExponentialBackoff(cap=0.25, base=0.05), 1),
        retry_on_error=[rx.ConnectionError, rx.TimeoutError],
    )


def load_scripts(client: aioredis.Redis) -> dict[str, AsyncScript]:
    """Each script is `common.lua` (key names, indexes, outbox rows) and its own body,
    registered for EVALSHA (redis-py loads it again after a restart's NOSCRIPT)."""
    folder = resources.files("server.store") / "lua"
    common = (folder / "common.lua").read_text(encoding="utf-8")
    return {
        name: client.register_script(
            common + "\n" + (folder / f"{name}.lua").read_text(encoding="utf-8")
        )
        for name in SCRIPTS
    }


async def run_script(
    script: AsyncScript, prefix: str, payload: dict[str, Any], *binary: bytes
) -> Any:
    """Run one script: the prefix, the payload as JSON (no nulls: Lua would see them as
    true), then binary arguments."""
    text = json.dumps(
        {k: v for k, v in payload.items() if v is not None},
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return await script(keys=[], args=[prefix, text, *binary])


async def check_durable(client: aioredis.Redis) -> None:
    """Refuse a Redis that would lose accepted jobs: no AOF, or an evicting memory policy.
    Managed Redis often renames CONFIG; INFO says the same."""
    try:
        appendonly = (await client.config_get("appendonly")).get("appendonly")
        policy = (await client.config_get("maxmemory-policy")).get("maxmemory-policy")
    except rx.ResponseError:
        persistence = await client.info("persistence")
        memory = await client.info("memory")
        appendonly = "yes" if str(persistence.get("aof_enabled")) == "1" else "no"
        policy = memory.get("maxmemory_policy")
    appendonly, policy = _text(appendonly), _text(policy)
    if appendonly != "yes":
        raise StoreUnsafe(
            f"storage.redis_url: Redis has appendonly {appendonly or 'unknown'}; set appendonly "
            "yes (and appendfsync always or everysec) so accepted jobs survive a restart"
        )
    if policy != "noeviction":
        raise StoreUnsafe(
            f"storage.redis_url: Redis has maxmemory-policy {policy or 'unknown'}, which evicts "
            "keys; use noeviction so accepted jobs are never dropped"
        )


def _text(value: object) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else str(value)
