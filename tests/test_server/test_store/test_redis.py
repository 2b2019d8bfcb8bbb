"""What only the Redis store has to prove, against real redis-server processes: it refuses a
Redis that would lose jobs, keeps what `add` accepted through `kill -9`, judges leases by the
server's clock, never hands one job to two nodes nor overshoots a per-owner limit under
concurrent claims, applies a retried call once, and fails fast when Redis is away."""

from __future__ import annotations

import asyncio
import secrets
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from support.redis_server import DURABLE, RedisServer, start_redis
from test_server.test_store.helpers import delivery, make_job

from server.config import StorageConfig
from server.jobs import JobState, WebhookEvent
from server.store import make_store
from server.store.base import StoreUnavailable, StoreUnsafe
from server.store.redis_store import RedisJobStore

OpenStore = Callable[..., Awaitable[RedisJobStore]]


@pytest.fixture
async def open_store() -> AsyncIterator[OpenStore]:
    """Open Redis stores (closed at the end), each on its own connection pool."""
    opened: list[RedisJobStore] = []

    async def open_one(url: str, **kw: object) -> RedisJobStore:
        store = RedisJobStore(url, **kw)  # type: ignore[arg-type]
        await store.open()
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        await store.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--appendonly", "no", "--save", ""), "Redis has appendonly no; set appendonly yes"),
        ((*DURABLE, "--maxmemory-policy", "allkeys-lru"), "maxmemory-policy allkeys-lru"),
        # Managed Redis often renames CONFIG: INFO tells the same story.
        (("--appendonly", "no", "--rename-command", "CONFIG", ""), "appendonly no"),
    ],
)
async def test_a_redis_that_would_lose_jobs_is_refused_in_one_line(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    server = start_redis(tmp_path / "redis", args=args)
    try:
        store = RedisJobStore(server.url)
        with pytest.raises(StoreUnsafe) as refused:
            await store.open()
        text = str(refused.value)
        assert message in text and text.startswith("storage.redis_url: ") and "\n" not in text
    finally:
        server.stop()


async def test_config_renamed_on_a_durable_redis_opens(tmp_path: Path) -> None:
    server = start_redis(tmp_path / "redis", args=(*DURABLE, "--rename-command", "CONFIG", ""))
    try:
        store = RedisJobStore(server.url)
        await store.open()
        await store.close()
    finally:
        server.stop()


async def test_a_full_redis_is_store_unavailable_not_an_error(tmp_path: Path) -> None:
    server = start_redis(tmp_path / "redis")
    store = RedisJobStore(server.url)
    try:
        await store.open()
        # Full: noeviction refuses every write with OOM, which is "retry later", not a bug.
        await store._redis.config_set("maxmemory", "1")
        with pytest.raises(StoreUnavailable, match="out of memory"):
            await store.add(make_job())
    finally:
        await store.close()
        server.stop()


async def test_an_accepted_job_survives_kill_9_of_redis(
    redis_server: RedisServer, open_store: OpenStore
) -> None:
    store = await open_store(redis_server.url)
    first = make_job(priority=3, queued_at=1.0, metadata={"k": "v"}, webhook_url="http://x/y")
    second = make_job(priority=3, queued_at=2.0, metadata={"title": "ünïcode ✓ \U0001f3ac"})
    await store.add(first)
    await store.add(second)
    redis_server.kill()  # no shutdown, no save: only what the AOF holds comes back
    redis_server.start()
    assert await store.get(first.id) == first and await store.get(second.id) == second
    assert [j.id for j in await store.queued(limit=10)] == [first.id, second.id]
    # The restart emptied the script cache; the claim loads its script again.
    claimed = await store.claim("n", lease_s=30, now=10.0)
    assert claimed is not None and claimed.id == first.id


async def test_leases_are_judged_by_the_redis_clock(
    shared_redis: RedisServer, open_store: OpenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await open_store(shared_redis.url, prefix=f"t{secrets.token_hex(4)}:")
    await store.add(make_job())
    seconds, micros = await store.redis.time()
    redis_now = seconds + micros / 1e6
    # This box's clock runs an hour fast; the store's answers follow Redis, not it.
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 3600)
    claimed = await store.claim("n", lease_s=30)
    assert claimed is not None and claimed.lease_until is not None
    assert redis_now + 30 <= claimed.lease_until < redis_now + 35
    assert await store.expired_leases() == []
    assert [j.id for j in await store.expired_leases(time.time())] == [claimed.id]


async def test_concurrent_claims_from_many_nodes_hand_each_job_out_once(
    shared_redis: RedisServer, open_store: OpenStore
) -> None:
    prefix = f"t{secrets.token_hex(4)}:"
    nodes = [await open_store(shared_redis.url, prefix=prefix) for _ in range(6)]
    jobs = [make_job(queued_at=float(i)) for i in range(30)]
    for job in jobs:
        await nodes[0].add(job)
    claims = await asyncio.gather(
        *(nodes[i % 6].claim(f"node-{i % 6}", lease_s=30) for i in range(60))
    )
    claimed = [c.id for c in claims if c is not None]
    assert sorted(claimed) == sorted(j.id for j in jobs)  # each once, none lost
    assert await nodes[0].active_counts() == (0, 30)


async def test_concurrent_claims_never_overshoot_the_per_owner_limit(
    shared_redis: RedisServer, open_store: OpenStore
) -> None:
    prefix = f"t{secrets.token_hex(4)}:"
    nodes = [await open_store(shared_redis.url, prefix=prefix) for _ in range(5)]
    for i in range(10):
        await nodes[0].add(make_job(queued_at=float(i), owner="key:a"))
    await nodes[0].add(make_job(queued_at=99.0, owner="key:b"))
    claims = await asyncio.gather(
        *(n.claim(f"node-{i}", lease_s=30, per_owner_limit=2) for i, n in enumerate(nodes * 3))
    )
    owners = sorted(c.owner or "" for c in claims if c is not None)
    assert owners == ["key:a", "key:a", "key:b"]
    assert await nodes[0].active_by_owner() == {"key:a": 2, "key:b": 1}


def _debug_sleep(port: int, seconds: float) -> socket.socket:
    """Freeze the whole server for `seconds` (replies to calls in flight come late)."""
    conn = socket.create_connection(("127.0.0.1", port), timeout=5)
    conn.sendall(f"DEBUG SLEEP {seconds}\r\n".encode())
    return conn


async def test_a_call_retried_after_a_lost_reply_is_applied_once(
    tmp_path: Path, open_store: OpenStore
) -> None:
    server = start_redis(tmp_path / "redis", args=(*DURABLE, "--enable-debug-command", "yes"))
    try:
        # Replies slower than 0.5 s count as lost: redis-py reconnects and sends again, and
        # the first copy still runs when the server wakes.
        store = await open_store(server.url, timeout_s=0.5)
        for i in range(2):
            await store.add(make_job(queued_at=float(i)))
        # Load the scripts first (a NOSCRIPT reply would keep the first copy from running).
        warm = await open_store(server.url, prefix="warm:")
        assert await warm.claim("n", lease_s=30) is None
        assert not await warm.save(make_job(), expect=[JobState.PROCESSING])
        with _debug_sleep(server.port, 0.8):
            claimed = await store.claim("n", lease_s=30)
        assert claimed is not None and await store.active_counts() == (1, 1)
        done = claimed.evolve(state=JobState.COMPLETED, finished_at=time.time())
        hook = delivery(claimed.id, WebhookEvent.COMPLETED)
        with _debug_sleep(server.port, 0.8):
            saved = await store.save(
                done, expect=[JobState.PROCESSING], expect_lease_owner="n", outbox=[hook]
            )
        assert saved and await store.outbox_pending() == 1
    finally:
        server.stop()


async def test_redis_away_is_store_unavailable_fast_and_then_recovers(
    redis_server: RedisServer, open_store: OpenStore
) -> None:
    store = await open_store(redis_server.url)
    job = make_job()
    await store.add(job)
    redis_server.stop()
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        await store.get(job.id)
    with pytest.raises(StoreUnavailable):
        await store.claim("n", lease_s=30)
    assert time.monotonic() - started < 3.0
    redis_server.start()
    assert await store.get(job.id) == job


async def test_nothing_listening_is_store_unavailable_at_open(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(StoreUnavailable):
        await RedisJobStore(f"redis://127.0.0.1:{port}/0").open()


async def test_the_configured_store_and_its_prefix(shared_redis: RedisServer) -> None:
    url = f"{shared_redis.url}?prefix=other:"
    store = make_store(StorageConfig(backend="redis", redis_url=url))
    assert isinstance(store, RedisJobStore)
    assert store.prefix == "other:" and store.exclusive is False
    await store.open()
    try:
        job = make_job()
        await store.add(job)
        assert await shared_redis_keys(store, job.id)
    finally:
        await store.close()


async def shared_redis_keys(store: RedisJobStore, job_id: str) -> bool:
    return bool(await store.redis.exists(f"other:job:{job_id}"))
