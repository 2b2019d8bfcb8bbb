"""Periodic upkeep: queued jobs past their TTL fail as expired, renders of dead nodes go back
to the queue, and finished jobs past `retention_h` are deleted with their files."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from server.logs import EventLog
from server.outage import StoreHealth
from server.service import JobService
from server.store.base import StoreUnavailable

SWEEP_S = 1.0
RETENTION_SWEEP_S = 600.0


class Sweeper:
    """Runs on every node: on a shared store each one requeues any dead node's renders, and the
    compare-and-set lets only one of them win each job. Once a second, so a dead node's jobs
    are back in the queue within about a second of their lease running out.

    `on_takeovers(n)` hears of every render it took from a node that is gone (the
    `reelfarm_takeovers_total` counter): the node that won the compare-and-set counts it."""

    def __init__(
        self,
        service: JobService,
        *,
        sweep_s: float = SWEEP_S,
        health: StoreHealth | None = None,
        on_takeovers: Callable[[int], None] = lambda n: None,
    ):
        self._service = service
        self._on_takeovers = on_takeovers
        self._sweep_s = sweep_s
        self._health = health or StoreHealth()
        self._task: asyncio.Task[None] | None = None
        self._log = EventLog()

    async def start(self) -> None:
        """Recover orphans of a previous run before anything is claimed, then sweep on."""
        try:
            recovered = await self._service.recover_orphans()
        except StoreUnavailable as exc:  # the sweep loop recovers them once it is back
            self._health.failed(exc, where="sweeper")
            recovered = 0
        if recovered:
            self._on_takeovers(recovered)
            self._log.emit(
                "server.recovered",
                f"Put {recovered} interrupted render(s) back in the queue",
                recovered=recovered,
            )
        self._task = asyncio.create_task(self._run(), name="sweeper")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _retention_every_s(self) -> float:
        # Often enough that nothing outlives retention_h by more than a tenth of it.
        retention_s = self._service.config.storage.retention_h * 3600
        return max(self._sweep_s, min(RETENTION_SWEEP_S, retention_s / 10))

    async def _run(self) -> None:
        last_retention = 0.0
        while True:
            try:
                await self._service.expire_queued()
                self._on_takeovers(await self._service.recover_orphans())
                if time.monotonic() - last_retention >= self._retention_every_s():
                    last_retention = time.monotonic()
                    swept = await self._service.sweep_retention()
                    if swept:
                        self._log.emit(
                            "retention.swept", f"Deleted {swept} expired job(s)", swept=swept
                        )
            except StoreUnavailable as exc:
                self._health.failed(exc, where="sweeper")
            except Exception as exc:  # one failed sweep must not end the sweeping
                self._log.error("sweeper.error", f"Sweep failed: {exc!r}")
            else:
                self._health.answered()  # every sweep reads the store
            await asyncio.sleep(self._sweep_s)
