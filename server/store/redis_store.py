"""The Redis job store: one queue, one set of job records and one webhook outbox shared by
every node, each change that must be atomic one Lua script (`server/store/lua/`).

Layout, under the key prefix (`reelfarm:` unless the URL says `?prefix=`):

- `job:<id>`: a hash, one field per attribute (`redis_codec`), plus `_seq` (insertion order),
  `_qm` (its queue member, while queued) and `_w` (the last save's token).
- `queue`: the queued jobs, all scored 0 so members sort by bytes: priority descending, then
  `queued_at`, then `_seq` (`redis_codec.queue_key`), then the id — the order SQLite's index
  gives. A requeued job keeps its `queued_at` and `_seq`, so the same member: its old place.
- `leases` (processing, by lease end), `finished` (terminal, by finish time), `expiry`
  (queued with a TTL, by expiry); `all`, `st:<state>`, `ow:<owner>`, `os:<state>:<owner>`
  by `_seq` for listings and counts; `busy` (processing jobs per owner), `idem`
  (owner + key → id), `retried` (ids with more than one attempt).
- The outbox: `ob:<id>` per delivery, `obq:<job>` its job's pending ones in order, `obdue`
  (each job's oldest pending one, by due time), `obpending`, `obdead:<job>`.
- `nodes:info`, `nodes:until`, `nodes:seen`: the node registry.

Times judged by the store (`now=None`) are the Redis server's `TIME`, read inside the script.
Every write carries a random token, so redis-py retrying a call whose reply was lost does not
apply it twice (a save answers True, a claim hands back the job it already took).

Needs Redis 6.2 or newer (`ZRANGE ... BYSCORE`). Not for Redis Cluster: the scripts touch
keys they compute (one primary, with replicas or Sentinel for failover, is the shape).
"""

from __future__ import annotations

import dataclasses
import json
import secrets
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript

from server.jobs import Job, JobState
from server.store.base import NodeInfo, ProgressUpdate, QueueLimitReached, WebhookDelivery
from server.store.redis_codec import (
    delivery_from_fields,
    delivery_row,
    dumps,
    idempotency_field,
    index_of,
    job_fields,
    job_from_fields,
    number,
    pairs,
)
from server.store.redis_conn import (
    check_durable,
    connect,
    load_scripts,
    reachable,
    run_script,
    split_url,
)

# A delivery's last error is kept short: it is for operators, not a log of the response.
MAX_ERROR_CHARS = 500


def _when(now: float | None) -> str | None:
    return None if now is None else number(now)


def _delivery_key(delivery_id: int) -> str:
    # Fixed width, as the scripts write them, so ids sort as numbers.
    return f"{delivery_id:016d}"


class RedisJobStore:
    """`JobStore` on one Redis shared by every node. See `server.store.base` for the contract."""

    # Several nodes share the store: a job found processing at start-up may be another
    # node's live render; dead nodes' jobs come back through `expired_leases`.
    exclusive = False

    def __init__(
        self,
        url: str,
        *,
        prefix: str | None = None,
        connect_timeout_s: float = 2.0,
        timeout_s: float = 5.0,
    ):
        self.url, url_prefix = split_url(url)
        self.prefix = prefix if prefix is not None else url_prefix
        self._connect_timeout_s = connect_timeout_s
        self._timeout_s = timeout_s
        self._redis: aioredis.Redis | None = None
        self._scripts: dict[str, AsyncScript] = {}

    # ---- lifecycle -------------------------------------------------------------------------
    @reachable
    async def open(self) -> None:
        client = connect(
            self.url, connect_timeout_s=self._connect_timeout_s, timeout_s=self._timeout_s
        )
        try:
            await client.ping()
            await check_durable(client)
        except BaseException:
            await client.aclose()
            raise
        self._redis, self._scripts = client, load_scripts(client)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    @property
    def scripts(self) -> Mapping[str, AsyncScript]:
        """The loaded scripts by name, for the other shared structures (`redis_shared`)."""
        return self._scripts

    @property
    def redis(self) -> aioredis.Redis:
        if self._redis is None:
            raise RuntimeError("the Redis job store is not open")
        return self._redis

    def _key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    async def _run(self, name: str, payload: dict[str, Any], *binary: bytes) -> Any:
        return await run_script(self._scripts[name], self.prefix, payload, *binary)

    @staticmethod
    def _jobs(rows: list[Any]) -> list[Job]:
        return [job_from_fields(pairs(row)) for row in rows]

    # ---- jobs ------------------------------------------------------------------------------
    @reachable
    async def add(self, job: Job, *, max_queued: int | None = None) -> tuple[Job, bool]:
        fields, unset = job_fields(job)
        payload = {"id": job.id, "set": fields, "unset": unset, "index": index_of(job)}
        payload.update(token=secrets.token_hex(8), max_queued=max_queued)
        reply = await self._run("add", payload)
        if reply[0] == -1:
            raise QueueLimitReached(int(reply[1]))
        if reply[0] == 0:
            return job_from_fields(pairs(reply[1])), False
        return job, True

    @reachable
    async def get(self, job_id: str) -> Job | None:
        fields = await self.redis.hgetall(self._key("job", job_id))
        return job_from_fields(fields) if fields else None

    @reachable
    async def find_by_idempotency_key(self, owner: str | None, key: str) -> Job | None:
        found = await self._run("read_idem", {"field": idempotency_field(owner, key)})
        return job_from_fields(pairs(found)) if found else None

    @staticmethod
    def _index(state: JobState | None, owner: str | None) -> str:
        if state is not None and owner is not None:
            return f"os:{state.value}:{owner}"
        if state is not None:
            return f"st:{state.value}"
        return f"ow:{owner}" if owner is not None else "all"

    @reachable
    async def list(
        self,
        *,
        state: JobState | None = None,
        owner: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Job]:
        if limit <= 0:
            return []
        payload = {"key": self._index(state, owner), "start": offset, "stop": offset + limit - 1}
        return self._jobs(await self._run("read_rank", {**payload, "rev": True}))

    @reachable
    async def count(self, *, state: JobState | None = None, owner: str | None = None) -> int:
        return int(await self.redis.zcard(self._key(self._index(state, owner))))

    @reachable
    async def counts(self) -> dict[JobState, int]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for state in JobState:
                pipe.zcard(self._key("st", state.value))
            found = await pipe.execute()
        return {state: int(n) for state, n in zip(JobState, found, strict=True)}

    @reachable
    async def active_counts(self) -> tuple[int, int]:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zcard(self._key("queue"))
            pipe.zcard(self._key("leases"))
            queued, processing = await pipe.execute()
        return int(queued), int(processing)

    @reachable
    async def job_and_queue(self, job_id: str) -> tuple[Job | None, int | None, int, int]:
        fields, position, queued, processing = await self._run("read_status", {"id": job_id})
        job = job_from_fields(pairs(fields)) if fields else None
        return job, (int(position) if position else None), int(queued), int(processing)

    @reachable
    async def retried_count(self) -> int:
        return int(await self.redis.scard(self._key("retried")))

    @reachable
    async def queued(self, *, limit: int, offset: int = 0) -> list[Job]:
        if limit <= 0:
            return []
        payload = {"key": "queue", "start": offset, "stop": offset + limit - 1, "queue": True}
        return self._jobs(await self._run("read_rank", payload))

    async def position(self, job_id: str) -> int | None:
        return (await self.job_and_queue(job_id))[1]

    @reachable
    async def active_by_owner(self) -> dict[str, int]:
        found = await self.redis.hgetall(self._key("busy"))
        return {k.decode(): int(v) for k, v in found.items() if int(v) > 0}

    @reachable
    async def claim(
        self,
        node_id: str,
        *,
        lease_s: float,
        now: float | None = None,
        skip_owners: Collection[str] = (),
        per_owner_limit: int | None = None,
    ) -> Job | None:
        payload = {"node": node_id, "lease_s": number(lease_s), "skip": sorted(skip_owners)}
        payload.update(token=secrets.token_hex(8), limit=per_owner_limit, now=_when(now))
        found = await self._run("claim", payload)
        return job_from_fields(pairs(found)) if found else None

    @reachable
    async def save(
        self,
        job: Job,
        *,
        expect: Collection[JobState],
        expect_lease_owner: str | None = None,
        outbox: Sequence[WebhookDelivery] = (),
    ) -> bool:
        fields, unset = job_fields(job)
        payload = {"id": job.id, "expect": [s.value for s in expect], "set": fields}
        payload.update(unset=unset, index=index_of(job), outbox=[delivery_row(d) for d in outbox])
        payload.update(token=secrets.token_hex(8), lease_owner=expect_lease_owner)
        return bool(await self._run("save", payload, *(d.body for d in outbox)))

    @reachable
    async def heartbeat(
        self,
        node_id: str,
        progress: Mapping[str, ProgressUpdate],
        *,
        lease_s: float,
        now: float | None = None,
    ) -> set[str]:
        if not progress:
            return set()
        items = [
            [job_id, number(p.progress), str(p.frames_done), str(p.frames_total)]
            for job_id, p in progress.items()
        ]
        payload = {"node": node_id, "lease_s": number(lease_s), "items": items, "now": _when(now)}
        return {i.decode() for i in await self._run("heartbeat", payload)}

    @reachable
    async def processing(self) -> list[Job]:
        return self._jobs(await self._run("read_rank", {"key": "leases", "start": 0, "stop": -1}))

    async def _below(self, index: str, below: float | None, limit: int) -> list[Any]:
        payload = {"key": index, "limit": limit, "below": _when(below)}
        return await self._run("read_score", payload)

    @reachable
    async def expired_leases(self, now: float | None = None) -> list[Job]:
        # Every one at once, as SQLite answers: the sweeper requeues them all in one pass.
        return self._jobs(await self._below("leases", now, -1))

    @reachable
    async def expired_queued(self, now: float | None = None, *, limit: int) -> list[Job]:
        """The `limit` that expired first, in queue order."""
        rows = [pairs(row) for row in await self._below("expiry", now, limit)]
        return [job_from_fields(row) for row in sorted(rows, key=lambda row: row[b"_qm"])]

    @reachable
    async def finished_before(self, ts: float, *, limit: int) -> list[Job]:
        return self._jobs(await self._below("finished", ts, limit))

    @reachable
    async def delete(self, job_ids: Collection[str]) -> int:
        ids = list(job_ids)
        return int(await self._run("delete", {"ids": ids})) if ids else 0

    # ---- webhook outbox --------------------------------------------------------------------
    @reachable
    async def outbox_add(self, deliveries: Sequence[WebhookDelivery]) -> None:
        if deliveries:
            rows = [delivery_row(d) for d in deliveries]
            await self._run("outbox_add", {"rows": rows}, *(d.body for d in deliveries))

    @reachable
    async def outbox_claim(
        self, node_id: str, *, now: float | None = None, limit: int, lease_s: float
    ) -> list[WebhookDelivery]:
        payload = {"node": node_id, "limit": limit, "lease_s": number(lease_s)}
        found = await self._run("outbox_claim", {**payload, "now": _when(now)})
        return [delivery_from_fields(pairs(row)) for row in found]

    async def _finish(self, delivery_id: int, mode: str, **extra: Any) -> None:
        await self._run("outbox_finish", {"id": _delivery_key(delivery_id), "mode": mode, **extra})

    @reachable
    async def outbox_done(self, delivery_id: int) -> None:
        await self._finish(delivery_id, "done")

    @reachable
    async def outbox_retry(
        self,
        delivery_id: int,
        *,
        attempts: int,
        retry_in_s: float,
        error: str,
        now: float | None = None,
    ) -> None:
        await self._finish(
            delivery_id,
            "retry",
            attempts=str(attempts),
            retry_in_s=number(retry_in_s),
            now=_when(now),
            error=error[:MAX_ERROR_CHARS],
        )

    @reachable
    async def outbox_give_up(self, delivery_id: int, *, attempts: int, error: str) -> None:
        await self._finish(
            delivery_id, "dead", attempts=str(attempts), error=error[:MAX_ERROR_CHARS]
        )

    @reachable
    async def outbox_pending(self) -> int:
        return int(await self.redis.get(self._key("obpending")) or 0)

    # ---- node registry ---------------------------------------------------------------------
    @reachable
    async def node_heartbeat(self, node: NodeInfo, *, ttl_s: float) -> None:
        info = dumps({**dataclasses.asdict(node), "seen_at": None})
        await self._run("nodes", {"mode": "beat", "id": node.id, "info": info, "ttl_s": ttl_s})

    @reachable
    async def nodes(self) -> list[NodeInfo]:
        found = []
        for _, info, seen in await self._run("nodes", {"mode": "list"}):
            raw = json.loads(info)
            raw.update(jobs=tuple(raw["jobs"]), seen_at=float(seen))
            found.append(NodeInfo(**raw))
        return sorted(found, key=lambda n: n.id)

    @reachable
    async def node_gone(self, node_id: str) -> None:
        await self._run("nodes", {"mode": "gone", "id": node_id})
