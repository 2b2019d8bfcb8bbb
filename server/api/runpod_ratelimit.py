"""A token bucket per caller for the Runpod endpoint (`[runpod] requests_per_s`).

Each caller (API key or user; the client address when auth is off) may make `rate` requests a
second on average and a burst of one second's worth. Over that the answer is 429 with
`Retry-After`. The rate is read on every call, so a SIGHUP reload applies at once.

These buckets are the node's own, right for one node (SQLite). Nodes sharing a Redis draw on
buckets kept there (`server.store.redis_shared.RedisRateBuckets`), so a caller spreading its
calls over N nodes still gets `rate`, not N times it.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass

# Callers remembered at once; the least recently seen is forgotten first (it starts full).
MAX_CALLERS = 10_000


@dataclass
class _Bucket:
    tokens: float
    updated: float  # time.monotonic()


class RateLimiter:
    def __init__(self, max_callers: int = MAX_CALLERS):
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._max_callers = max_callers

    def acquire(self, caller: str, rate_per_s: float, now: float | None = None) -> int | None:
        """Take one token: None when allowed, else whole seconds until one is free (>= 1).
        A rate of 0 or less means no limit."""
        if rate_per_s <= 0:
            return None
        now = time.monotonic() if now is None else now
        burst = max(1.0, rate_per_s)
        bucket = self._buckets.get(caller)
        if bucket is None:
            bucket = self._buckets[caller] = _Bucket(tokens=burst, updated=now)
            while len(self._buckets) > self._max_callers:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(caller)
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * rate_per_s)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return max(1, math.ceil((1.0 - bucket.tokens) / rate_per_s))

    async def take(self, caller: str, rate_per_s: float) -> int | None:
        """`acquire` as the adapter calls it, alike for this and the cluster's buckets."""
        return self.acquire(caller, rate_per_s)
