"""The JobStore contract, each body run against SQLite and against a real Redis (the `store`
fixture): order, claims, leases, compare-and-set, idempotency, the queue bound, the outbox's
per-job order, the node registry."""

from __future__ import annotations

import asyncio
import time

from support.waiting import wait_until
from test_server.test_store.helpers import delivery, make_job

from server.jobs import JobState, WebhookEvent
from server.store.base import JobStore, NodeInfo, ProgressUpdate, QueueLimitReached


async def test_queue_order_is_priority_then_fifo(store: JobStore) -> None:
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


async def test_claim_takes_the_head_once_under_a_lease(store: JobStore) -> None:
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


async def test_claim_skips_owners_at_their_limit(store: JobStore) -> None:
    busy, other = make_job(queued_at=1.0, owner="key:a"), make_job(queued_at=2.0, owner="key:b")
    await store.add(busy)
    await store.add(other)
    claimed = await store.claim("n", lease_s=30, now=10.0, skip_owners={"key:a"})
    assert claimed is not None and claimed.id == other.id
    assert await store.active_by_owner() == {"key:b": 1}


async def test_save_is_compare_and_set_on_state_and_lease(store: JobStore) -> None:
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


async def test_idempotency_key_returns_the_first_job_per_owner(store: JobStore) -> None:
    first = make_job(owner="user:a", idempotency_key="k1")
    stored, created = await store.add(first)
    assert created and stored == first
    again, created = await store.add(make_job(owner="user:a", idempotency_key="k1"))
    assert not created and again.id == first.id
    _, created = await store.add(make_job(owner="user:b", idempotency_key="k1"))
    assert created  # keys are per owner
    assert await store.count() == 2


async def test_queue_bound_is_enforced_atomically(store: JobStore) -> None:
    results = await asyncio.gather(
        *(store.add(make_job(), max_queued=3) for _ in range(6)), return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, QueueLimitReached)]
    assert len(refused) == 3
    assert (await store.active_counts())[0] == 3


async def test_heartbeat_renews_and_reports_lost_renders(store: JobStore) -> None:
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


async def test_outbox_hands_out_one_delivery_per_job_in_order(store: JobStore) -> None:
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
    await store.outbox_retry(
        started_a.id or 0, attempts=1, retry_in_s=8.0, now=12.0, error="HTTP 500"
    )
    assert await store.outbox_claim("n", now=12.0, limit=10, lease_s=30) == []
    retried = await store.outbox_claim("n", now=21.0, limit=10, lease_s=30)
    assert [(d.job_id, d.event, d.attempts) for d in retried] == [("a", WebhookEvent.STARTED, 1)]
    await store.outbox_done(retried[0].id or 0)
    after = await store.outbox_claim("n", now=22.0, limit=10, lease_s=30)
    assert [(d.job_id, d.event) for d in after] == [("a", WebhookEvent.COMPLETED)]


async def test_retention_lists_old_terminal_jobs_and_delete_removes_them(
    store: JobStore,
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


async def test_ties_keep_insertion_order_and_a_requeued_job_its_place(store: JobStore) -> None:
    jobs = [make_job(2, 7.0) for _ in range(4)] + [make_job(2, 6.5)]
    for job in jobs:
        await store.add(job)
    expected = [jobs[4].id, *(j.id for j in jobs[:4])]
    assert [j.id for j in await store.queued(limit=10)] == expected
    head = await store.claim("n", lease_s=30, now=10.0)
    assert head is not None and head.id == jobs[4].id
    requeued = head.evolve(state=JobState.QUEUED, lease_owner=None, lease_until=None)
    assert await store.save(requeued, expect=[JobState.PROCESSING], expect_lease_owner="n")
    assert [j.id for j in await store.queued(limit=10)] == expected
    assert await store.queued(limit=2, offset=3) == [
        await store.get(jobs[2].id),
        await store.get(jobs[3].id),
    ]
    again = await store.claim("n", lease_s=30, now=11.0)
    assert again is not None and again.id == jobs[4].id and again.attempts == 2
    assert await store.retried_count() == 1


async def test_claim_stops_at_the_per_owner_limit(store: JobStore) -> None:
    a1, a2 = make_job(queued_at=1.0, owner="key:a"), make_job(queued_at=2.0, owner="key:a")
    b, free = make_job(queued_at=3.0, owner="key:b"), make_job(queued_at=4.0)
    for job in (a1, a2, b, free):
        await store.add(job)
    ids = []
    for _ in range(4):
        claimed = await store.claim("n", lease_s=30, now=10.0, per_owner_limit=1)
        ids.append(claimed.id if claimed else None)
    assert ids == [a1.id, b.id, free.id, None]
    assert await store.active_by_owner() == {"key:a": 1, "key:b": 1}
    # a1 ends: key:a has room again and its next job goes.
    running = await store.get(a1.id)
    assert running is not None
    done = running.evolve(state=JobState.COMPLETED, finished_at=20.0)
    assert await store.save(done, expect=[JobState.PROCESSING])
    claimed = await store.claim("n", lease_s=30, now=21.0, per_owner_limit=1)
    assert claimed is not None and claimed.id == a2.id


async def test_times_default_to_the_stores_clock(store: JobStore) -> None:
    await store.add(make_job())
    before = time.time()
    claimed = await store.claim("n", lease_s=30)
    assert claimed is not None and claimed.lease_until is not None
    assert before - 1 <= claimed.lease_until - 30 <= time.time() + 1
    assert await store.expired_leases() == []
    progress = {claimed.id: ProgressUpdate(1.0, 1, 9)}
    assert await store.heartbeat("n", progress, lease_s=0.001) == set()
    expired = await store.expired_leases(time.time() + 5)
    assert [j.id for j in expired] == [claimed.id]


async def test_status_read_lists_and_counts(store: JobStore) -> None:
    a, b = make_job(queued_at=1.0, owner="u:1"), make_job(queued_at=2.0, owner="u:2")
    c = make_job(queued_at=3.0, owner="u:1")
    for job in (a, b, c):
        await store.add(job)
    await store.claim("n", lease_s=30, now=5.0)
    assert await store.job_and_queue(c.id) == (c, 2, 2, 1)
    found, position, queued, processing = await store.job_and_queue(a.id)
    assert found is not None and found.state is JobState.PROCESSING and position is None
    assert (queued, processing) == (2, 1)
    assert await store.job_and_queue("missing") == (None, None, 2, 1)
    assert [j.id for j in await store.list()] == [c.id, b.id, a.id]
    assert [j.id for j in await store.list(owner="u:1")] == [c.id, a.id]
    assert [j.id for j in await store.list(state=JobState.QUEUED, limit=1, offset=1)] == [b.id]
    assert [j.id for j in await store.list(state=JobState.QUEUED, owner="u:1")] == [c.id]
    assert await store.count() == 3 and await store.count(owner="u:1") == 2
    assert await store.count(state=JobState.PROCESSING, owner="u:1") == 1
    counts = await store.counts()
    assert counts[JobState.QUEUED] == 2 and counts[JobState.PROCESSING] == 1
    assert counts[JobState.COMPLETED] == 0
    assert [j.id for j in await store.processing()] == [a.id]


async def test_queued_jobs_expire_and_a_deleted_key_is_free_again(store: JobStore) -> None:
    soon, later = make_job(expires_at=50.0), make_job(expires_at=500.0)
    keyed = make_job(owner="u", idempotency_key="k")
    for job in (soon, later, keyed):
        await store.add(job)
    assert [j.id for j in await store.expired_queued(100.0, limit=10)] == [soon.id]
    assert await store.find_by_idempotency_key("u", "k") == keyed
    assert await store.find_by_idempotency_key(None, "k") is None
    assert await store.delete([keyed.id, "missing"]) == 1
    assert await store.find_by_idempotency_key("u", "k") is None
    _, created = await store.add(make_job(owner="u", idempotency_key="k"))
    assert created


async def test_save_writes_its_outbox_rows_only_when_it_wins(store: JobStore) -> None:
    job = make_job()
    await store.add(job)
    cancelled = job.evolve(state=JobState.CANCELLED, finished_at=5.0)
    hook = delivery(job.id, WebhookEvent.CANCELLED, b"\x00binary\xff")
    assert not await store.save(cancelled, expect=[JobState.PROCESSING], outbox=[hook])
    assert await store.outbox_pending() == 0
    assert await store.save(cancelled, expect=[JobState.QUEUED], outbox=[hook])
    assert await store.outbox_pending() == 1
    (sent,) = await store.outbox_claim("n", now=10.0, limit=10, lease_s=30)
    assert (sent.job_id, sent.event, sent.body) == (job.id, WebhookEvent.CANCELLED, hook.body)
    # A lease that ran out makes it due again, for any sender.
    (again,) = await store.outbox_claim("n2", now=41.0, limit=10, lease_s=30)
    assert again.id == sent.id
    await store.outbox_done(again.id or 0)
    assert await store.outbox_pending() == 0


async def test_a_delivery_given_up_lets_the_next_event_go(store: JobStore) -> None:
    await store.outbox_add(
        [delivery("a", WebhookEvent.STARTED), delivery("a", WebhookEvent.COMPLETED)]
    )
    (first,) = await store.outbox_claim("n", now=1.0, limit=10, lease_s=30)
    await store.outbox_give_up(first.id or 0, attempts=6, error="HTTP 500 " * 100)
    assert await store.outbox_pending() == 1
    (second,) = await store.outbox_claim("n", now=2.0, limit=10, lease_s=30)
    assert second.event is WebhookEvent.COMPLETED
    assert await store.delete(["a"]) == 0  # no job "a", but its outbox rows go
    assert await store.outbox_pending() == 0
    assert await store.outbox_claim("n", now=100.0, limit=10, lease_s=30) == []


async def test_nodes_register_expire_and_leave(store: JobStore) -> None:
    a = NodeInfo("node-a", slots=2, busy=1, encoder="libx264", gpu=None, version="1", jobs=("j",))
    b = NodeInfo("node-b", slots=4, busy=0, encoder="h264_nvenc", gpu="H200", version="1", jobs=())
    before = time.time()
    await store.node_heartbeat(b, ttl_s=30)
    await store.node_heartbeat(a, ttl_s=30)
    live = await store.nodes()
    assert [n.id for n in live] == ["node-a", "node-b"]
    assert live[0].jobs == ("j",) and live[1].gpu == "H200" and live[1].slots == 4
    assert all(before - 1 <= n.seen_at <= time.time() + 1 for n in live)
    await store.node_gone("node-b")
    await store.node_heartbeat(a, ttl_s=0.05)

    async def none_live() -> bool:
        return await store.nodes() == []

    await wait_until(none_live, 5.0, what="the node's TTL to run out")
