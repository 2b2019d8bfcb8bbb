"""Group commit for SQLite: one writer thread runs every write that is waiting in one
transaction, each in its own savepoint, and pays one fsync for all of them.

With `synchronous = FULL` a commit costs an fsync (milliseconds); a hundred clients submitting
at once would otherwise queue behind a hundred fsyncs. Here they share a few, and each write
still succeeds or fails on its own (a failing one rolls back to its savepoint only). A write's
future resolves after its transaction is on disk, so a caller never acts on an unsaved change.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

# Writes per transaction at most: bounds how long one commit holds the write lock.
MAX_BATCH = 128


@dataclass(frozen=True, slots=True)
class _Write:
    body: Callable[[sqlite3.Connection], Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop


class GroupCommitWriter:
    """Owns the writing connection on its own thread; `await run(body)` from the loop."""

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        *,
        after_commit: Callable[[sqlite3.Connection], None] = lambda conn: None,
        max_batch: int = MAX_BATCH,
    ):
        self._connect = connect
        self._after_commit = after_commit
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Write | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._ready: asyncio.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        """Open the connection on the writer thread; raises what opening raised."""
        self._loop = asyncio.get_running_loop()
        self._ready = self._loop.create_future()
        self._thread = threading.Thread(target=self._main, name="store-write", daemon=True)
        self._thread.start()
        await self._ready

    async def run(self, body: Callable[[sqlite3.Connection], T]) -> T:
        """Run `body(conn)` inside the next transaction; its result once committed. A caller
        that is cancelled meanwhile does not stop the write (it may already be on disk)."""
        if self._thread is None or not self._thread.is_alive():
            raise RuntimeError("store is not open")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Write(body, future, loop))
        return await asyncio.shield(future)

    async def close(self) -> None:
        """Finish the writes already queued, then close the connection."""
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            await asyncio.to_thread(self._thread.join)
        self._thread = None

    def _main(self) -> None:
        try:
            conn = self._connect()
        except BaseException as exc:  # reported to start(), the thread ends
            self._resolve_ready(exc)
            return
        self._resolve_ready(None)
        try:
            stopping = False
            while not stopping:
                first = self._queue.get()
                if first is None:
                    break
                batch = [first]
                while len(batch) < self._max_batch:
                    try:
                        more = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        stopping = True
                        break
                    batch.append(more)
                self._commit(conn, batch)
        finally:
            conn.close()

    def _resolve_ready(self, error: BaseException | None) -> None:
        assert self._loop is not None and self._ready is not None  # set by start()
        ready = self._ready

        def resolve() -> None:
            if ready.done():
                return
            if error is None:
                ready.set_result(None)
            else:
                ready.set_exception(error)

        self._loop.call_soon_threadsafe(resolve)

    def _commit(self, conn: sqlite3.Connection, batch: list[_Write]) -> None:
        outcomes: list[tuple[_Write, Any, BaseException | None]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for write in batch:
                conn.execute("SAVEPOINT one_write")
                try:
                    result = write.body(conn)
                except Exception as exc:  # this write fails alone; the others go on
                    conn.execute("ROLLBACK TO one_write")
                    conn.execute("RELEASE one_write")
                    outcomes.append((write, None, exc))
                else:
                    conn.execute("RELEASE one_write")
                    outcomes.append((write, result, None))
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            outcomes = [(write, None, exc) for write in batch]
        # Before anyone hears of the writes, so what after_commit caches is never behind them.
        with contextlib.suppress(sqlite3.Error):
            self._after_commit(conn)
        for write, result, error in outcomes:
            with contextlib.suppress(RuntimeError):  # the caller's loop has closed
                write.loop.call_soon_threadsafe(_settle, write.future, result, error)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)
