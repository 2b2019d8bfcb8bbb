"""The job store as this node last found it: reachable, or away since when and why.

Every background loop (scheduler, heartbeat, sweeper, webhook sender, node registration) and
the error middleware report a `StoreUnavailable` here instead of logging it themselves, so an
outage is one line when it starts and one when it ends, however many loops notice it. Only a
call that always reaches the store (the node registration beat, a sweep) reports it back,
so a loop that had nothing to ask cannot end an outage it never tested. `/readyz` answers 503
while an outage lasts.

`until_stored` retries one piece of bookkeeping (a finished render's result) until the store
answers, so a render that ends during an outage is saved once the store is back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from server.logs import EventLog
from server.store.base import StoreUnavailable

T = TypeVar("T")

# Retries of a result's save start quickly (a Redis restart takes about a second) and back off
# to this, so a long outage costs one attempt per few seconds per render, not a busy loop.
RETRY_FIRST_S = 0.25
RETRY_MAX_S = 4.0


class StoreHealth:
    """Whether the store answers, from what this node's own calls found."""

    def __init__(self) -> None:
        self.reason: str | None = None  # the first failure's reason while away
        self._since = 0.0
        self._log = EventLog()

    @property
    def available(self) -> bool:
        return self.reason is None

    def failed(self, exc: StoreUnavailable, *, where: str) -> None:
        """A call found the store away; the first one of an outage logs it."""
        if self.reason is not None:
            return
        self.reason = exc.reason
        self._since = time.monotonic()
        self._log.error(
            "store.unavailable",
            f"The job store is unavailable ({exc.reason}; noticed by the {where}); "
            "API calls answer 503 and background work retries until it is back",
            reason=exc.reason,
        )

    def answered(self) -> None:
        """A call reached the store; the first one after an outage logs its end."""
        if self.reason is None:
            return
        down_s = time.monotonic() - self._since
        self.reason = None
        self._log.emit(
            "store.available",
            f"The job store answers again after {down_s:.1f}s",
            down_s=round(down_s, 3),
        )


async def until_stored(
    body: Callable[[], Awaitable[T]],
    health: StoreHealth,
    *,
    where: str,
    give_up: Callable[[], bool] = lambda: False,
) -> T:
    """`await body()`, again after each `StoreUnavailable` (backing off), until it goes through
    or `give_up()` says to stop trying (the node is shutting down: the job's lease then runs
    out and another node, or this one after a restart, renders it again)."""
    delay_s = RETRY_FIRST_S
    while True:
        try:
            return await body()
        except StoreUnavailable as exc:
            health.failed(exc, where=where)
            if give_up():
                raise
        await asyncio.sleep(delay_s)
        delay_s = min(delay_s * 2, RETRY_MAX_S)
