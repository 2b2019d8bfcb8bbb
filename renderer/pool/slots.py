"""Idle workers handed to waiting renders, first come, first served."""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Callable, Iterable

from renderer.pool.handle import WorkerHandle, WorkerState


class Slots:
    """Renders wait here for an idle worker; a worker set free goes to the longest waiting."""

    def __init__(self) -> None:
        self._waiters: collections.deque[asyncio.Future[WorkerHandle]] = collections.deque()

    async def claim(self, workers: Iterable[WorkerHandle]) -> WorkerHandle:
        """An idle worker from `workers`, marked busy; waits in line when none is free."""
        if not self._waiters:
            for worker in workers:
                if worker.state is WorkerState.IDLE and not worker.retiring:
                    worker.state = WorkerState.BUSY
                    return worker
        waiter: asyncio.Future[WorkerHandle] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            # Handed a worker in the same instant as cancelled: give the worker back.
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self.release(waiter.result())
            raise
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)

    def release(self, worker: WorkerHandle) -> None:
        """`worker` is free: to the first render waiting, else idle."""
        if worker.state is WorkerState.GONE or worker.state is WorkerState.LEAVING:
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                worker.state = WorkerState.BUSY
                waiter.set_result(worker)
                return
        worker.state = WorkerState.IDLE

    def close(self, error: Callable[[], BaseException]) -> None:
        """Every render still waiting fails with an `error()` of its own."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(error())
                waiter.exception()
