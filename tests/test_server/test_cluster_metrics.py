"""The cluster view in /metrics as Prometheus would scrape it: live nodes, take-overs, Redis
round-trip latency and Redis errors, from real in-process nodes on a real redis-server (AOF on)
and, for comparison, one node on SQLite.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from support.redis_server import RedisServer
from support.redis_server import redis_server as redis_server  # the fixture
from support.serverkit import InProcessServer, StartServer, serving, tiny_spec
from support.waiting import wait_until

from server.state import STORE

# A node that never claims: its disk gate asks for more free space than any box has, so jobs
# stay queued for the test to claim through the store itself.
HOLDS_ALL = {"admission": {"min_free_disk_mb": 2**40}}
# A lease that runs out long before any test deadline; the sweeper looks once a second.
GHOST_LEASE_S = 0.3


@pytest.fixture
async def start_node(
    tmp_path: Path, shared_assets: Path, redis_server: RedisServer
) -> AsyncIterator[StartServer]:
    on_redis = {"storage": {"backend": "redis", "redis_url": redis_server.url}}
    async with serving(tmp_path, shared_assets, {**on_redis, **HOLDS_ALL}) as start:
        yield start


async def scrape(server: InProcessServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the node's /metrics: (name, sorted labels) → value."""
    status, body, headers = await server.client.request("GET", "/metrics", raw=True)
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def total(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str) -> float:
    """The sum over every series of `name` (e.g. a histogram's _count over all operations)."""
    return sum(v for (n, _), v in samples.items() if n == name)


async def test_two_nodes_count_each_other_and_time_their_redis_calls(
    start_node: StartServer,
) -> None:
    first = await start_node()
    second = await start_node()

    async def both_see_two() -> bool:
        found = [value(await scrape(node), "reelfarm_cluster_nodes") for node in (first, second)]
        return found == [2.0, 2.0]

    # Each node reads the registry every beat (2 s); the first one started alone.
    await wait_until(both_see_two, 15, what="reelfarm_cluster_nodes == 2 on both nodes")

    job_id = await first.client.submit(tiny_spec())
    await first.client.status(job_id)
    samples = await scrape(first)
    # The submission and the status read are store operations of their own, timed by name.
    assert value(samples, "reelfarm_redis_roundtrip_seconds_count", operation="add") >= 1
    assert value(samples, "reelfarm_redis_roundtrip_seconds_count", operation="node_heartbeat")
    assert total(samples, "reelfarm_redis_roundtrip_seconds_sum") > 0
    # Loopback Redis answers well inside the top bucket.
    assert value(
        samples, "reelfarm_redis_roundtrip_seconds_bucket", operation="add", le="+Inf"
    ) == value(samples, "reelfarm_redis_roundtrip_seconds_bucket", operation="add", le="1.0")
    for kind in ("connection", "timeout", "oom", "other"):
        assert value(samples, "reelfarm_redis_errors_total", kind=kind) == 0
    assert value(samples, "reelfarm_takeovers_total") == 0

    # A clean stop leaves the registry at once; the survivor counts one at its next beat.
    await second.stop()

    async def alone() -> bool:
        return value(await scrape(first), "reelfarm_cluster_nodes") == 1.0

    await wait_until(alone, 10, what="reelfarm_cluster_nodes back to 1")


async def test_a_render_whose_lease_runs_out_counts_one_takeover(start_node: StartServer) -> None:
    node = await start_node()
    job_id = await node.client.submit(tiny_spec())
    # A node that is never heard from again claims it with a tiny lease.
    claimed = await node.app[STORE].claim("ghost-node", lease_s=GHOST_LEASE_S)
    assert claimed is not None and claimed.id == job_id
    assert value(await scrape(node), "reelfarm_takeovers_total") == 0

    async def taken_over() -> float | None:
        return value(await scrape(node), "reelfarm_takeovers_total") or None

    assert await wait_until(taken_over, 10, what="reelfarm_takeovers_total > 0") == 1.0
    body = await node.client.status(job_id)
    assert body["status"] == "queued"  # back in the queue, for a node with room to render it
    samples = await scrape(node)
    assert value(samples, "reelfarm_jobs_requeued_total") == 1.0
    assert value(samples, "reelfarm_redis_roundtrip_seconds_count", operation="expired_leases")


async def test_redis_errors_count_by_kind_while_redis_is_down(
    start_node: StartServer, redis_server: RedisServer
) -> None:
    node = await start_node()
    job_id = await node.client.submit(tiny_spec())
    before = await scrape(node)
    assert value(before, "reelfarm_redis_errors_total", kind="connection") == 0

    redis_server.kill()
    status, _, _ = await node.client.request("GET", f"/api/job-status/{job_id}")
    assert status == 503
    during = await scrape(node)
    connection_errors = value(during, "reelfarm_redis_errors_total", kind="connection")
    assert connection_errors >= 1
    assert value(during, "reelfarm_redis_errors_total", kind="oom") == 0
    answered = "reelfarm_redis_roundtrip_seconds_count"

    async def failed_calls_add_errors_not_round_trips() -> bool:
        # A reply Redis sent just before it died may still be read afterwards (a call in
        # flight on a loaded box), so look for a quiet span: failing calls in it add errors
        # and no round trip. Were failed calls timed, no span would be quiet.
        first = await scrape(node)
        status, _, _ = await node.client.request("GET", f"/api/job-status/{job_id}")
        assert status == 503
        then = await scrape(node)
        errors = value(then, "reelfarm_redis_errors_total", kind="connection")
        return errors > value(first, "reelfarm_redis_errors_total", kind="connection") and (
            total(then, answered) == total(first, answered) > 0
        )

    await wait_until(failed_calls_add_errors_not_round_trips, 10, interval_s=0.2)

    redis_server.start()
    await node.wait_ready(20)
    assert (await node.client.status(job_id))["status"] == "queued"


async def test_on_sqlite_one_node_and_no_redis_series(tmp_path: Path, shared_assets: Path) -> None:
    async with serving(tmp_path, shared_assets) as start:
        node = await start()
        job_id = await node.client.submit(tiny_spec())
        await node.client.wait_status(job_id, ("completed",))
        samples = await scrape(node)
    assert value(samples, "reelfarm_cluster_nodes") == 1.0
    assert value(samples, "reelfarm_takeovers_total") == 0
    # Nothing to time on SQLite: the histogram has no series; the error kinds read 0.
    assert total(samples, "reelfarm_redis_roundtrip_seconds_count") == 0
    assert not [n for n, _ in samples if n.startswith("reelfarm_redis_roundtrip_seconds")]
    assert {
        value(samples, "reelfarm_redis_errors_total", kind=k) for k in ("connection", "other")
    } == {0.0}
