"""What the nodes of a Redis cluster share besides jobs: per-caller rate buckets and the
Runpod `/stream` chunks. Each operation is one Lua script (`lua/rate_limit.lua`,
`lua/stream.lua`), judged by the Redis server's clock, so the answer is the same whichever
node a client reaches."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from server.store.redis_codec import number
from server.store.redis_conn import reachable, run_script
from server.store.redis_store import RedisJobStore

StreamMode = Literal["reset", "start", "progress", "final", "clear"]
# What `take` is told of the job now: its final output is recorded once; a render with
# nothing recorded shows its current progress; an ended job has no chunks left.
TakeState = Literal["completed", "processing", "ended", "other"]
# A stream nobody reads is dropped after this long without a write or a read.
STREAM_TTL_S = 24 * 3600


class RedisRateBuckets:
    """Token buckets per caller on Redis: every node draws on one bucket per caller."""

    def __init__(self, store: RedisJobStore):
        self._store = store

    @reachable
    async def take(self, caller: str, rate_per_s: float) -> int | None:
        """Take one token: None when allowed, else whole seconds until one is free (>= 1).
        A rate of 0 or less means no limit."""
        if rate_per_s <= 0:
            return None
        payload = {
            # A digest: bounded key length, and no caller name (an API key's) in Redis.
            "caller": hashlib.sha256(caller.encode()).hexdigest()[:32],
            "rate": number(rate_per_s),
            "burst": number(max(1.0, rate_per_s)),
        }
        wait = int(await self._run("rate_limit", payload))
        return None if wait == 0 else wait

    async def _run(self, name: str, payload: dict[str, Any]) -> Any:
        return await run_script(self._store.scripts[name], self._store.prefix, payload)


class RedisStreamChunks:
    """The chunk list of each Runpod job's stream on Redis (see `lua/stream.lua`)."""

    def __init__(self, store: RedisJobStore, *, max_chunks: int):
        self._store = store
        self._max_chunks = max_chunks

    @reachable
    async def record(
        self,
        mode: StreamMode,
        job_id: str,
        chunk: dict[str, Any] | None = None,
        percent: int | None = None,
        attempt: int | None = None,
    ) -> None:
        payload = {"mode": mode, "id": job_id, "percent": percent, "attempt": attempt}
        await self._run(payload, chunk)

    @reachable
    async def take(
        self,
        job_id: str,
        state: TakeState,
        chunk: dict[str, Any] | None,
        percent: int | None,
        attempt: int,
    ) -> list[dict[str, Any]]:
        """The chunks recorded since the last take, by any node, oldest first."""
        payload = {"mode": "take", "id": job_id, "state": state, "percent": percent}
        payload["attempt"] = attempt
        return [json.loads(raw) for raw in await self._run(payload, chunk)]

    async def _run(self, payload: dict[str, Any], chunk: dict[str, Any] | None) -> Any:
        payload.update(max=self._max_chunks, ttl_s=STREAM_TTL_S)
        if chunk is not None:
            payload["chunk"] = json.dumps(chunk, separators=(",", ":"))
        return await run_script(self._store.scripts["stream"], self._store.prefix, payload)
