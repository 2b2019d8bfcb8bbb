"""A job's webhook deliveries and their outcomes, read from the outbox for the job page.

The store's contract hands deliveries out only to the sender, so this reads each backend's
outbox as it is laid out (`server.store.sqlite_schema`, `server.store.redis_store`). SQLite
keeps every delivery; Redis keeps the pending and the dead ones (a delivered one is deleted
once sent), so there the page says what is still to come or has failed.
"""

from __future__ import annotations

from typing import Any

from server.store import JobStore

# A job rarely has more than its four events; a retried one a few more.
MAX_SHOWN = 50


async def deliveries_of(store: JobStore, job_id: str) -> list[dict[str, Any]]:
    """Oldest first: {event, url, state (pending | delivered | dead), attempts, last_error,
    created_at, next_attempt_at}."""
    from server.store.sqlite import SqliteJobStore

    if isinstance(store, SqliteJobStore):
        return await _from_sqlite(store, job_id)
    try:
        from server.store.redis_store import RedisJobStore
    except ImportError:  # pragma: no cover - redis-py is a dependency
        return []
    if isinstance(store, RedisJobStore):
        return await _from_redis(store, job_id)
    return []


async def _from_sqlite(store: Any, job_id: str) -> list[dict[str, Any]]:
    rows = await store._db.fetch(
        "SELECT event, url, state, attempts, last_error, created_at, next_attempt_at "
        "FROM outbox WHERE job_id = ? ORDER BY id LIMIT ?",
        (job_id, MAX_SHOWN),
    )
    names = ("event", "url", "state", "attempts", "last_error", "created_at", "next_attempt_at")
    return [dict(zip(names, row, strict=True)) for row in rows]


async def _from_redis(store: Any, job_id: str) -> list[dict[str, Any]]:
    redis = store.redis
    prefix = store.prefix
    pending = await redis.lrange(f"{prefix}obq:{job_id}", 0, MAX_SHOWN - 1)
    dead = await redis.smembers(f"{prefix}obdead:{job_id}")
    ids = sorted({int(i) for i in [*pending, *dead]})[:MAX_SHOWN]
    out = []
    for delivery_id in ids:
        fields = await redis.hgetall(f"{prefix}ob:{delivery_id}")
        if fields:
            out.append(_redis_row({_text(k): _text(v) for k, v in fields.items() if k != b"body"}))
    return out


def _redis_row(v: dict[str, str]) -> dict[str, Any]:
    return {
        "event": v.get("event"),
        "url": v.get("url"),
        "state": v.get("state", "pending"),
        "attempts": int(v.get("attempts", "0")),
        "last_error": v.get("last_error"),
        "created_at": float(v.get("created_at", "0")),
        "next_attempt_at": float(v.get("next_attempt_at", "0")),
    }


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value
