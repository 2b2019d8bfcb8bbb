"""The SQLite job store against the JobStore contract: order, claims, leases, compare-and-set,
idempotency, the queue bound, the outbox's per-job order, durability across reopen."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.jobs import Job, JobState, WebhookEvent, new_job_id
from server.store.base import ProgressUpdate, QueueLimitReached, WebhookDelivery
from server.store.sqlite import SqliteJobStore, StoreLocked


def make_job(priority: int = 0, queued_at: float | None = None, **kw: object) -> Job:
    now = time.time() if queued_at is None else queued_at
    return Job(id=new_job_id(), spec={"scenes": []}, priority=priority, queued_at=now, **kw)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteJobStore]:
    s = SqliteJobStore(tmp_path / "jobs.db")
    await s.open()
    yield s
    await s.close()


async def test_queue_order_is_priority_then_fifo(store: SqliteJobStore) -> None:
    jobs = [
        make_job(0, 1.0),
        make_job(5, 2.0),
        make_job(0, 3.0),
        make_job(5, 4.0),
        make_job(9, 5.0),
    ]
    for job in jobs:
        await store.add(job)
    order = [j.id for j in await store.queued(limit=10)]
    expected = [jobs[4].id, jobs[1].id, jobs[3].id, jobs[0].id, jobs[2].id]
    assert order == expected
    assert [await store.position(i) for i in expected] == [1, 2, 3, 4, 5]


async def test_claim_takes_the_head_once_under_a_lease(store: SqliteJobStore) -> None:
    first, second = make_job(queued_at=1.0), make_job(queued_at=2.0)
    await store.add(first)
    await store.add(second)
    claims = await asyncio.gather(*(store.claim("node-a", lease_s=30, now=100.0) for _ in range(3)))
    claimed = [c for c in claims if c is not None]
    assert [c.id for c in claimed] == [first.id, second.id]
    head = claimed[0]
    assert head.state is JobState.PROCESSING
    assert head.attempts == 1 and head.lease_owner == "node-a" and head.lease_until == 130.0
    assert await store.position(first.id) is None
    assert await store.active_counts() == (0, 2)


async def test_claim_skips_owners_at_their_limit(store: SqliteJobStore) -> None:
    busy, other = make_job(queued_at=1.0, owner="key:a"), make_job(queued_at=2.0, owner="key:b")
    await store.add(busy)
    await store.add(other)
    claimed = await store.claim("n", lease_s=30, now=10.0, skip_owners={"key:a"})
    assert claimed is not None and claimed.id == other.id
    assert await store.active_by_owner() == {"key:b": 1}


async def test_save_is_compare_and_set_on_state_and_lease(store: SqliteJobStore) -> None:
    job = make_job()
    await store.add(job)
    running = await store.claim("node-a", lease_s=30, now=time.time())
    assert running is not None
    done = running.evolve(state=JobState.COMPLETED, finished_at=time.time())
    # Another node cannot complete it, and a stale "queued" expectation does not match.
    assert not await store.save(done, expect=[JobState.PROCESSING], expect_lease_owner="node-b")
    assert not await store.save(done, expect=[JobState.QUEUED])
    assert await store.save(done, expect=[JobState.PROCESSING], expect_lease_owner="node-a")
    stored = await store.get(job.id)
    assert stored is not None and stored.state is JobState.COMPLETED


async def test_idempotency_key_returns_the_first_job_per_owner(store: SqliteJobStore) -> None:
    first = make_job(owner="user:a", idempotency_key="k1")
    stored, created = await store.add(first)
    assert created and stored == first
    again, created = await store.add(make_job(owner="user:a", idempotency_key="k1"))
    assert not created and again.id == first.id
    _, created = await store.add(make_job(owner="user:b", idempotency_key="k1"))
    assert created  # keys are per owner
    assert await store.count() == 2


async def test_queue_bound_is_enforced_atomically(store: SqliteJobStore) -> None:
    results = await asyncio.gather(
        *(store.add(make_job(), max_queued=3) for _ in range(6)), return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, QueueLimitReached)]
    assert len(refused) == 3
    assert (await store.active_counts())[0] == 3


async def test_heartbeat_renews_and_reports_lost_renders(store: SqliteJobStore) -> None:
    a, b = make_job(queued_at=1.0), make_job(queued_at=2.0)
    await store.add(a)
    await store.add(b)
    ja = await store.claim("n1", lease_s=10, now=100.0)
    jb = await store.claim("n1", lease_s=10, now=100.0)
    assert ja is not None and jb is not None
    # b is cancelled elsewhere: the heartbeat says this node no longer holds it.
    assert await store.save(
        jb.evolve(state=JobState.CANCELLED, lease_owner=None), expect=[JobState.PROCESSING]
    )
    lost = await store.heartbeat(
        "n1",
        {ja.id: ProgressUpdate(50.0, 5, 10), jb.id: ProgressUpdate(10.0, 1, 10)},
        lease_s=10,
        now=105.0,
    )
    assert lost == {jb.id}
    renewed = await store.get(ja.id)
    assert renewed is not None and renewed.lease_until == 115.0 and renewed.progress == 50.0
    assert [j.id for j in await store.expired_leases(116.0)] == [ja.id]
    assert await store.expired_leases(114.0) == []


async def test_outbox_hands_out_one_delivery_per_job_in_order(store: SqliteJobStore) -> None:
    def delivery(job_id: str, event: WebhookEvent) -> WebhookDelivery:
        return WebhookDelivery(job_id, "http://x/hook", event, b"{}", next_attempt_at=0.0)

    await store.outbox_add(
        [
            delivery("a", WebhookEvent.STARTED),
            delivery("a", WebhookEvent.COMPLETED),
            delivery("b", WebhookEvent.STARTED),
        ]
    )
    first = await store.outbox_claim("n", now=10.0, limit=10, lease_s=30)
    assert sorted((d.job_id, d.event) for d in first) == [
        ("a", WebhookEvent.STARTED),
        ("b", WebhookEvent.STARTED),
    ]
    # Leased: nothing more for a second sender, and a's completion waits for its start.
    assert await store.outbox_claim("n2", now=11.0, limit=10, lease_s=30) == []
    started_a = next(d for d in first if d.job_id == "a")
    await store.outbox_retry(started_a.id or 0, attempts=1, next_attempt_at=20.0, error="HTTP 500")
    assert await store.outbox_claim("n", now=12.0, limit=10, lease_s=30) == []
    retried = await store.outbox_claim("n", now=21.0, limit=10, lease_s=30)
    assert [(d.job_id, d.event, d.attempts) for d in retried] == [("a", WebhookEvent.STARTED, 1)]
    await store.outbox_done(retried[0].id or 0)
    after = await store.outbox_claim("n", now=22.0, limit=10, lease_s=30)
    assert [(d.job_id, d.event) for d in after] == [("a", WebhookEvent.COMPLETED)]


async def test_jobs_survive_reopen_and_the_lock_keeps_a_second_server_out(
    tmp_path: Path,
) -> None:
    path = tmp_path / "jobs.db"
    store = SqliteJobStore(path)
    await store.open()
    job = make_job(priority=3, metadata={"k": "v"}, webhook_url="http://x/y")
    await store.add(job)
    second = SqliteJobStore(path)
    with pytest.raises(StoreLocked):
        await second.open()
    await store.close()

    reopened = SqliteJobStore(path)
    await reopened.open()
    try:
        assert await reopened.get(job.id) == job
    finally:
        await reopened.close()


async def test_retention_lists_old_terminal_jobs_and_delete_removes_them(
    store: SqliteJobStore,
) -> None:
    old = make_job()
    await store.add(old)
    await store.save(
        old.evolve(state=JobState.COMPLETED, finished_at=1000.0), expect=[JobState.QUEUED]
    )
    fresh = make_job()
    await store.add(fresh)
    assert [j.id for j in await store.finished_before(2000.0, limit=10)] == [old.id]
    assert await store.delete([old.id]) == 1
    assert await store.get(old.id) is None and await store.get(fresh.id) is not None
