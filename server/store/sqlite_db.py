"""One SQLite file reached from the event loop: one writer thread, a few reader threads.

Blocking SQLite calls run off the event loop. Writes go to one thread (SQLite has one writer
anyway) that commits whatever is waiting as one group (`group_commit`), with
`synchronous = FULL`, so a write is on disk before it returns and a burst of them shares a
few fsyncs. Reads run on their own connections, which WAL lets proceed while a write
commits, so a status poll never waits behind an fsync.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from server.store.group_commit import GroupCommitWriter
from server.store.sqlite_schema import migrate

T = TypeVar("T")


class SqliteDatabase:
    """`await transact(body)` to write, `await fetch(sql)` or `await read(fn)` to read."""

    def __init__(
        self,
        path: Path,
        *,
        readers: int,
        after_commit: Callable[[sqlite3.Connection], None],
    ):
        self.path = path
        self._readers = readers
        # Also run once the schema is in place, so what it caches is right from the start.
        self._after_commit = after_commit
        self._writer = GroupCommitWriter(self._open_writer, after_commit=after_commit)
        self._reader_pool: ThreadPoolExecutor | None = None
        self._reader_conns: list[sqlite3.Connection] = []
        self._reader_local = threading.local()
        self._conns_lock = threading.Lock()

    async def open(self) -> None:
        """Start the readers and the writer; raises what opening the file raised."""
        self._reader_pool = ThreadPoolExecutor(self._readers, thread_name_prefix="store-read")
        await self._writer.start()

    async def close(self) -> None:
        await self._writer.close()
        if self._reader_pool is not None:
            self._reader_pool.shutdown(wait=True)
        self._reader_pool = None
        with self._conns_lock:
            conns, self._reader_conns = self._reader_conns, []
        for conn in conns:
            conn.close()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=30.0
        )
        conn.execute("PRAGMA busy_timeout = 30000")
        return conn

    def _open_writer(self) -> sqlite3.Connection:
        conn = self._connect()
        conn.execute("PRAGMA journal_mode = WAL")
        # FULL: the WAL is synced at every commit, so an accepted job is on disk, not only in
        # the page cache, when the client hears about it.
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = OFF")
        migrate(conn, self.path)
        self._after_commit(conn)
        return conn

    def reader(self) -> sqlite3.Connection:
        """This reader thread's own connection (call only from inside `read`)."""
        conn = getattr(self._reader_local, "conn", None)
        if conn is None:
            conn = self._connect()
            conn.execute("PRAGMA query_only = ON")
            self._reader_local.conn = conn
            with self._conns_lock:
                self._reader_conns.append(conn)
        return conn

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` on a reader thread."""
        if self._reader_pool is None:
            raise RuntimeError("store is not open")
        return await asyncio.get_running_loop().run_in_executor(self._reader_pool, fn, *args)

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Every row of one query, read on a reader thread."""
        return await self.read(self._query, sql, params)

    def _query(self, sql: str, params: Sequence[Any]) -> list[Any]:
        return self.reader().execute(sql, params).fetchall()

    async def transact(self, body: Callable[[sqlite3.Connection], T]) -> T:
        """Run `body` in a write transaction (grouped with others waiting; see group_commit)."""
        return await self._writer.run(body)
