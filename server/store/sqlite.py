"""The SQLite job store: one file in WAL mode, one writer thread, a few reader threads.

Blocking SQLite calls run off the event loop. Writes go to one thread (SQLite has one writer
anyway) that commits whatever is waiting as one group (`group_commit`), with
`synchronous = FULL`, so a job is on disk before `add` returns and a burst of submissions
shares a few fsyncs. Reads run on their own connections, which WAL lets proceed while a write
commits, so a status poll never waits behind an fsync. A lock file next to the database
makes this process the only node on it (`exclusive`), which is what lets start-up requeue
every orphaned render at once.
"""

# SQL text is assembled only from the column constants below and "?" placeholders; every value
# travels as a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from server.jobs import Api, ErrorKind, Job, JobState, WebhookEvent
from server.store.base import ProgressUpdate, QueueLimitReached, WebhookDelivery
from server.store.group_commit import GroupCommitWriter

T = TypeVar("T")

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    state           TEXT NOT NULL,
    api             TEXT NOT NULL,
    priority        INTEGER NOT NULL,
    created_at      REAL NOT NULL,
    queued_at       REAL,
    started_at      REAL,
    finished_at     REAL,
    expires_at      REAL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    progress        REAL NOT NULL DEFAULT 0,
    frames_done     INTEGER NOT NULL DEFAULT 0,
    frames_total    INTEGER NOT NULL DEFAULT 0,
    error           TEXT,
    error_kind      TEXT,
    result          TEXT,
    webhook_url     TEXT,
    metadata        TEXT NOT NULL,
    owner           TEXT,
    idempotency_key TEXT,
    options         TEXT NOT NULL,
    lease_owner     TEXT,
    lease_until     REAL,
    spec            TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_queue ON jobs (state, priority DESC, queued_at, seq);
CREATE INDEX IF NOT EXISTS jobs_finished ON jobs (state, finished_at);
CREATE INDEX IF NOT EXISTS jobs_owner ON jobs (owner, seq);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_idempotency
    ON jobs (coalesce(owner, ''), idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE TABLE IF NOT EXISTS outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id          TEXT NOT NULL,
    url             TEXT NOT NULL,
    event           TEXT NOT NULL,
    body            BLOB NOT NULL,
    headers         TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    created_at      REAL NOT NULL,
    last_error      TEXT,
    lease_owner     TEXT,
    lease_until     REAL
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (state, job_id, id);
"""

JOB_COLUMNS = (
    *("id", "state", "api", "priority", "created_at", "queued_at", "started_at", "finished_at"),
    *("expires_at", "attempts", "progress", "frames_done", "frames_total", "error", "error_kind"),
    *("result", "webhook_url", "metadata", "owner", "idempotency_key", "options", "lease_owner"),
    *("lease_until", "spec"),
)
_SELECT_JOB = f"SELECT {', '.join(JOB_COLUMNS)} FROM jobs"
_QUEUE_ORDER = "ORDER BY priority DESC, queued_at, seq"
_ACTIVE_COUNTS = (
    "SELECT state, COUNT(*) FROM jobs WHERE state IN ('queued', 'processing') GROUP BY state"
)
# A queued job's place: the queued jobs ahead of it in queue order, plus itself (0: not queued).
# Two range scans of the queue index (higher priorities; then this priority up to the job).
_POSITION = """
    SELECT (SELECT COUNT(*) FROM jobs WHERE state = 'queued' AND priority > j.p)
         + (SELECT COUNT(*) FROM jobs WHERE state = 'queued' AND priority = j.p
                AND (queued_at, seq) <= (j.t, j.s))
    FROM (SELECT priority p, queued_at t, seq s FROM jobs WHERE id = ? AND state = 'queued') j
"""
OUTBOX_COLUMNS = "id job_id url event body headers attempts next_attempt_at created_at last_error"


class StoreLocked(RuntimeError):
    """Another server process already uses this database."""


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _job_row(job: Job) -> tuple[Any, ...]:
    return (
        job.id,
        job.state.value,
        job.api.value,
        job.priority,
        job.created_at,
        job.queued_at,
        job.started_at,
        job.finished_at,
        job.expires_at,
        job.attempts,
        job.progress,
        job.frames_done,
        job.frames_total,
        job.error,
        job.error_kind.value if job.error_kind else None,
        None if job.result is None else _dumps(job.result),
        job.webhook_url,
        _dumps(job.metadata),
        job.owner,
        job.idempotency_key,
        _dumps(job.options),
        job.lease_owner,
        job.lease_until,
        _dumps(job.spec),
    )


def _job_from_row(row: Sequence[Any]) -> Job:
    v = dict(zip(JOB_COLUMNS, row, strict=True))
    return Job(
        id=v["id"],
        state=JobState(v["state"]),
        api=Api(v["api"]),
        priority=v["priority"],
        created_at=v["created_at"],
        queued_at=v["queued_at"],
        started_at=v["started_at"],
        finished_at=v["finished_at"],
        expires_at=v["expires_at"],
        attempts=v["attempts"],
        progress=v["progress"],
        frames_done=v["frames_done"],
        frames_total=v["frames_total"],
        error=v["error"],
        error_kind=ErrorKind(v["error_kind"]) if v["error_kind"] else None,
        result=None if v["result"] is None else json.loads(v["result"]),
        webhook_url=v["webhook_url"],
        metadata=json.loads(v["metadata"]),
        owner=v["owner"],
        idempotency_key=v["idempotency_key"],
        options=json.loads(v["options"]),
        lease_owner=v["lease_owner"],
        lease_until=v["lease_until"],
        spec=json.loads(v["spec"]),
    )


def _delivery_from_row(row: Sequence[Any]) -> WebhookDelivery:
    (id_, job_id, url, event, body, headers, attempts, next_at, created, last_error) = row
    return WebhookDelivery(
        id=id_,
        job_id=job_id,
        url=url,
        event=WebhookEvent(event),
        body=bytes(body),
        headers=json.loads(headers),
        attempts=attempts,
        next_attempt_at=next_at,
        created_at=created,
        last_error=last_error,
    )


class SqliteJobStore:
    """`JobStore` on one SQLite file. See `server.store.base` for the contract."""

    exclusive = True

    def __init__(self, path: Path, *, readers: int = 2):
        self.path = Path(path)
        self._readers = readers
        self._writer = GroupCommitWriter(self._open_writer, after_commit=self._recount)
        # (queued, processing), recounted by the writer after each commit: every status
        # poll needs them, and on a long queue counting per poll would cost O(queue) each.
        self._active: tuple[int, int] = (0, 0)
        self._reader_pool: ThreadPoolExecutor | None = None
        self._reader_conns: list[sqlite3.Connection] = []
        self._reader_local = threading.local()
        self._conns_lock = threading.Lock()
        self._lock_fd: int | None = None

    # ---- lifecycle -------------------------------------------------------------------------
    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        self._reader_pool = ThreadPoolExecutor(self._readers, thread_name_prefix="store-read")
        try:
            await self._writer.start()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        await self._writer.close()
        if self._reader_pool is not None:
            self._reader_pool.shutdown(wait=True)
        self._reader_pool = None
        with self._conns_lock:
            conns, self._reader_conns = self._reader_conns, []
        for conn in conns:
            conn.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None

    def _take_lock(self) -> None:
        fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreLocked(
                f"{self.path} is in use by another reelfarm server (lock {self.path}.lock)"
            ) from None
        self._lock_fd = fd

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
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"{self.path}: schema version {version} is newer than this server's "
                f"({SCHEMA_VERSION})"
            )
        conn.executescript(SCHEMA)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._recount(conn)
        return conn

    def _recount(self, conn: sqlite3.Connection) -> None:
        found = dict(conn.execute(_ACTIVE_COUNTS).fetchall())
        self._active = (found.get("queued", 0), found.get("processing", 0))

    def _reader(self) -> sqlite3.Connection:
        conn = getattr(self._reader_local, "conn", None)
        if conn is None:
            conn = self._connect()
            conn.execute("PRAGMA query_only = ON")
            self._reader_local.conn = conn
            with self._conns_lock:
                self._reader_conns.append(conn)
        return conn

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        if self._reader_pool is None:
            raise RuntimeError("store is not open")
        return await asyncio.get_running_loop().run_in_executor(self._reader_pool, fn, *args)

    async def _transact(self, body: Callable[[sqlite3.Connection], T]) -> T:
        """Run `body` in a write transaction (grouped with others waiting; see group_commit)."""
        return await self._writer.run(body)

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self._reader().execute(sql, params).fetchall()

    # ---- jobs ------------------------------------------------------------------------------
    async def add(self, job: Job, *, max_queued: int | None = None) -> tuple[Job, bool]:
        def body(conn: sqlite3.Connection) -> tuple[Job, bool]:
            if job.idempotency_key is not None:
                row = conn.execute(
                    f"{_SELECT_JOB} WHERE coalesce(owner, '') = ? AND idempotency_key = ?",
                    (job.owner or "", job.idempotency_key),
                ).fetchone()
                if row is not None:
                    return _job_from_row(row), False
            if max_queued is not None:
                (queued,) = conn.execute(
                    "SELECT COUNT(*) FROM jobs WHERE state = 'queued'"
                ).fetchone()
                if queued >= max_queued:
                    raise QueueLimitReached(queued)
            placeholders = ", ".join("?" * len(JOB_COLUMNS))
            conn.execute(
                f"INSERT INTO jobs ({', '.join(JOB_COLUMNS)}) VALUES ({placeholders})",
                _job_row(job),
            )
            return job, True

        return await self._transact(body)

    async def get(self, job_id: str) -> Job | None:
        rows = await self._read(self._query, f"{_SELECT_JOB} WHERE id = ?", (job_id,))
        return _job_from_row(rows[0]) if rows else None

    async def find_by_idempotency_key(self, owner: str | None, key: str) -> Job | None:
        rows = await self._read(
            self._query,
            f"{_SELECT_JOB} WHERE coalesce(owner, '') = ? AND idempotency_key = ?",
            (owner or "", key),
        )
        return _job_from_row(rows[0]) if rows else None

    @staticmethod
    def _where(state: JobState | None, owner: str | None) -> tuple[str, list[Any]]:
        clauses, params = [], []
        if state is not None:
            clauses.append("state = ?")
            params.append(state.value)
        if owner is not None:
            clauses.append("owner = ?")
            params.append(owner)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params

    async def list(
        self,
        *,
        state: JobState | None = None,
        owner: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Job]:
        where, params = self._where(state, owner)
        rows = await self._read(
            self._query,
            f"{_SELECT_JOB}{where} ORDER BY seq DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [_job_from_row(r) for r in rows]

    async def count(self, *, state: JobState | None = None, owner: str | None = None) -> int:
        where, params = self._where(state, owner)
        rows = await self._read(self._query, f"SELECT COUNT(*) FROM jobs{where}", params)
        return int(rows[0][0])

    async def counts(self) -> dict[JobState, int]:
        rows = await self._read(self._query, "SELECT state, COUNT(*) FROM jobs GROUP BY state")
        out = dict.fromkeys(JobState, 0)
        for state, n in rows:
            out[JobState(state)] = n
        return out

    async def active_counts(self) -> tuple[int, int]:
        """(queued, processing) as of the last commit (kept by the writer, no query)."""
        return self._active

    async def job_and_queue(self, job_id: str) -> tuple[Job | None, int | None, int, int]:
        def read() -> tuple[Job | None, int | None, int, int]:
            conn = self._reader()
            row = conn.execute(f"{_SELECT_JOB} WHERE id = ?", (job_id,)).fetchone()
            queued, processing = self._active
            position = None
            if row is not None and row[1] == JobState.QUEUED.value:
                found = conn.execute(_POSITION, (job_id,)).fetchone()
                position = found[0] if found else None
            job = _job_from_row(row) if row is not None else None
            return job, position, queued, processing

        return await self._read(read)

    async def retried_count(self) -> int:
        rows = await self._read(self._query, "SELECT COUNT(*) FROM jobs WHERE attempts > 1")
        return int(rows[0][0])

    async def queued(self, *, limit: int, offset: int = 0) -> list[Job]:
        rows = await self._read(
            self._query,
            f"{_SELECT_JOB} WHERE state = 'queued' {_QUEUE_ORDER} LIMIT ? OFFSET ?",
            (limit, offset),
        )
        return [_job_from_row(r) for r in rows]

    async def position(self, job_id: str) -> int | None:
        rows = await self._read(self._query, _POSITION, (job_id,))
        return int(rows[0][0]) if rows else None

    async def active_by_owner(self) -> dict[str, int]:
        rows = await self._read(
            self._query,
            "SELECT owner, COUNT(*) FROM jobs WHERE state = 'processing' AND owner IS NOT NULL "
            "GROUP BY owner",
        )
        return dict(rows)

    async def claim(
        self, node_id: str, *, lease_s: float, now: float, skip_owners: Collection[str] = ()
    ) -> Job | None:
        skip = list(skip_owners)

        def body(conn: sqlite3.Connection) -> Job | None:
            owner_clause = ""
            if skip:
                owner_clause = (
                    f" AND (owner IS NULL OR owner NOT IN ({', '.join('?' * len(skip))}))"
                )
            row = conn.execute(
                f"{_SELECT_JOB} WHERE state = 'queued'{owner_clause} {_QUEUE_ORDER} LIMIT 1",
                skip,
            ).fetchone()
            if row is None:
                return None
            job = _job_from_row(row).evolve(
                state=JobState.PROCESSING,
                attempts=_job_from_row(row).attempts + 1,
                started_at=now,
                progress=0.0,
                frames_done=0,
                lease_owner=node_id,
                lease_until=now + lease_s,
            )
            conn.execute(
                "UPDATE jobs SET state = 'processing', attempts = ?, started_at = ?, "
                "progress = 0, frames_done = 0, lease_owner = ?, lease_until = ? WHERE id = ?",
                (job.attempts, now, node_id, job.lease_until, job.id),
            )
            return job

        return await self._transact(body)

    async def save(
        self,
        job: Job,
        *,
        expect: Collection[JobState],
        expect_lease_owner: str | None = None,
        outbox: Sequence[WebhookDelivery] = (),
    ) -> bool:
        states = [s.value for s in expect]

        def body(conn: sqlite3.Connection) -> bool:
            sets = ", ".join(f"{c} = ?" for c in JOB_COLUMNS[1:])
            sql = (
                f"UPDATE jobs SET {sets} WHERE id = ? AND state IN ({', '.join('?' * len(states))})"
            )
            params: list[Any] = [*_job_row(job)[1:], job.id, *states]
            if expect_lease_owner is not None:
                sql += " AND lease_owner = ?"
                params.append(expect_lease_owner)
            if conn.execute(sql, params).rowcount != 1:
                return False
            self._insert_outbox(conn, outbox)
            return True

        return await self._transact(body)

    async def heartbeat(
        self, node_id: str, progress: Mapping[str, ProgressUpdate], *, lease_s: float, now: float
    ) -> set[str]:
        items = list(progress.items())

        def body(conn: sqlite3.Connection) -> set[str]:
            lost = set()
            for job_id, p in items:
                cur = conn.execute(
                    "UPDATE jobs SET lease_until = ?, progress = ?, frames_done = ?, "
                    "frames_total = ? WHERE id = ? AND state = 'processing' AND lease_owner = ?",
                    (now + lease_s, p.progress, p.frames_done, p.frames_total, job_id, node_id),
                )
                if cur.rowcount != 1:
                    lost.add(job_id)
            return lost

        if not items:
            return set()
        return await self._transact(body)

    async def processing(self) -> list[Job]:
        rows = await self._read(self._query, f"{_SELECT_JOB} WHERE state = 'processing'")
        return [_job_from_row(r) for r in rows]

    async def expired_leases(self, now: float) -> list[Job]:
        rows = await self._read(
            self._query,
            f"{_SELECT_JOB} WHERE state = 'processing' AND coalesce(lease_until, 0) < ?",
            (now,),
        )
        return [_job_from_row(r) for r in rows]

    async def expired_queued(self, now: float, *, limit: int) -> list[Job]:
        rows = await self._read(
            self._query,
            f"{_SELECT_JOB} WHERE state = 'queued' AND expires_at IS NOT NULL AND expires_at < ? "
            f"{_QUEUE_ORDER} LIMIT ?",
            (now, limit),
        )
        return [_job_from_row(r) for r in rows]

    async def finished_before(self, ts: float, *, limit: int) -> list[Job]:
        rows = await self._read(
            self._query,
            f"{_SELECT_JOB} WHERE state IN ('completed', 'failed', 'cancelled') "
            "AND finished_at < ? ORDER BY finished_at LIMIT ?",
            (ts, limit),
        )
        return [_job_from_row(r) for r in rows]

    async def delete(self, job_ids: Collection[str]) -> int:
        ids = list(job_ids)
        if not ids:
            return 0

        def body(conn: sqlite3.Connection) -> int:
            marks = ", ".join("?" * len(ids))
            conn.execute(f"DELETE FROM outbox WHERE job_id IN ({marks})", ids)
            return conn.execute(f"DELETE FROM jobs WHERE id IN ({marks})", ids).rowcount

        return await self._transact(body)

    # ---- webhook outbox --------------------------------------------------------------------
    @staticmethod
    def _insert_outbox(conn: sqlite3.Connection, deliveries: Sequence[WebhookDelivery]) -> None:
        conn.executemany(
            "INSERT INTO outbox (job_id, url, event, body, headers, attempts, next_attempt_at, "
            "created_at, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    d.job_id,
                    d.url,
                    d.event.value,
                    d.body,
                    _dumps(dict(d.headers)),
                    d.attempts,
                    d.next_attempt_at,
                    d.created_at,
                    d.last_error,
                )
                for d in deliveries
            ],
        )

    async def outbox_add(self, deliveries: Sequence[WebhookDelivery]) -> None:
        if deliveries:
            await self._transact(lambda conn: self._insert_outbox(conn, deliveries))

    async def outbox_claim(
        self, node_id: str, *, now: float, limit: int, lease_s: float
    ) -> list[WebhookDelivery]:
        def body(conn: sqlite3.Connection) -> list[WebhookDelivery]:
            # The oldest pending delivery of each job, if it is due and not leased elsewhere:
            # a job's later events wait for its earlier ones.
            rows = conn.execute(
                f"""
                SELECT {", ".join(OUTBOX_COLUMNS.split())} FROM outbox WHERE id IN (
                    SELECT MIN(id) FROM outbox WHERE state = 'pending' GROUP BY job_id)
                AND next_attempt_at <= ? AND coalesce(lease_until, 0) < ?
                ORDER BY next_attempt_at, id LIMIT ?
                """,
                (now, now, limit),
            ).fetchall()
            conn.executemany(
                "UPDATE outbox SET lease_owner = ?, lease_until = ? WHERE id = ?",
                [(node_id, now + lease_s, r[0]) for r in rows],
            )
            return [_delivery_from_row(r) for r in rows]

        return await self._transact(body)

    async def outbox_done(self, delivery_id: int) -> None:
        await self._transact(
            lambda conn: conn.execute(
                "UPDATE outbox SET state = 'delivered', lease_owner = NULL, body = x'' "
                "WHERE id = ?",
                (delivery_id,),
            ),
        )

    async def outbox_retry(
        self, delivery_id: int, *, attempts: int, next_attempt_at: float, error: str
    ) -> None:
        await self._transact(
            lambda conn: conn.execute(
                "UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ?, "
                "lease_owner = NULL, lease_until = NULL WHERE id = ?",
                (attempts, next_attempt_at, error[:500], delivery_id),
            ),
        )

    async def outbox_give_up(self, delivery_id: int, *, attempts: int, error: str) -> None:
        await self._transact(
            lambda conn: conn.execute(
                "UPDATE outbox SET state = 'dead', attempts = ?, last_error = ?, "
                "lease_owner = NULL WHERE id = ?",
                (attempts, error[:500], delivery_id),
            ),
        )

    async def outbox_pending(self) -> int:
        rows = await self._read(self._query, "SELECT COUNT(*) FROM outbox WHERE state = 'pending'")
        return int(rows[0][0])
