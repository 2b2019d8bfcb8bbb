"""The SQLite job store: one file in WAL mode (`sqlite_db`), its layout (`sqlite_schema`),
the jobs and queue queries here, and the webhook outbox (`sqlite_outbox`).

A job is on disk before `add` returns, and a burst of submissions shares a few fsyncs (group
commit). A lock file next to the database makes this process the only node on it
(`exclusive`), which is what lets start-up requeue every orphaned render at once.
"""

# SQL text is assembled only from the column constants and "?" placeholders; every value
# travels as a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from server.jobs import Job, JobState
from server.store.base import NodeInfo, ProgressUpdate, QueueLimitReached, WebhookDelivery
from server.store.nodes import LocalNodes
from server.store.sqlite_db import SqliteDatabase
from server.store.sqlite_outbox import SqliteOutbox, insert_deliveries
from server.store.sqlite_schema import (
    ACTIVE_COUNTS,
    JOB_COLUMNS,
    POSITION,
    QUEUE_ORDER,
    SELECT_JOB,
    job_from_row,
    job_row,
)


class StoreLocked(RuntimeError):
    """Another server process already uses this database."""


class SqliteJobStore:
    """`JobStore` on one SQLite file. See `server.store.base` for the contract."""

    exclusive = True

    def __init__(self, path: Path, *, readers: int = 2):
        self.path = Path(path)
        self._db = SqliteDatabase(self.path, readers=readers, after_commit=self._recount)
        self._outbox = SqliteOutbox(self._db)
        # (queued, processing), recounted by the writer after each commit: every status
        # poll needs them, and on a long queue counting per poll would cost O(queue) each.
        self._active: tuple[int, int] = (0, 0)
        self._lock_fd: int | None = None
        self._nodes = LocalNodes()

    # ---- lifecycle -------------------------------------------------------------------------
    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        try:
            await self._db.open()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        await self._db.close()
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

    def _recount(self, conn: sqlite3.Connection) -> None:
        found = dict(conn.execute(ACTIVE_COUNTS).fetchall())
        self._active = (found.get("queued", 0), found.get("processing", 0))

    async def _jobs(self, sql: str, params: Sequence[Any] = ()) -> list[Job]:
        return [job_from_row(r) for r in await self._db.fetch(sql, params)]

    async def _number(self, sql: str, params: Sequence[Any] = ()) -> int:
        return int((await self._db.fetch(sql, params))[0][0])

    # ---- jobs ------------------------------------------------------------------------------
    async def add(self, job: Job, *, max_queued: int | None = None) -> tuple[Job, bool]:
        def body(conn: sqlite3.Connection) -> tuple[Job, bool]:
            if job.idempotency_key is not None:
                row = conn.execute(
                    f"{SELECT_JOB} WHERE coalesce(owner, '') = ? AND idempotency_key = ?",
                    (job.owner or "", job.idempotency_key),
                ).fetchone()
                if row is not None:
                    return job_from_row(row), False
            if max_queued is not None:
                (queued,) = conn.execute(
                    "SELECT COUNT(*) FROM jobs WHERE state = 'queued'"
                ).fetchone()
                if queued >= max_queued:
                    raise QueueLimitReached(queued)
            placeholders = ", ".join("?" * len(JOB_COLUMNS))
            conn.execute(
                f"INSERT INTO jobs ({', '.join(JOB_COLUMNS)}) VALUES ({placeholders})",
                job_row(job),
            )
            return job, True

        return await self._db.transact(body)

    async def get(self, job_id: str) -> Job | None:
        found = await self._jobs(f"{SELECT_JOB} WHERE id = ?", (job_id,))
        return found[0] if found else None

    async def find_by_idempotency_key(self, owner: str | None, key: str) -> Job | None:
        found = await self._jobs(
            f"{SELECT_JOB} WHERE coalesce(owner, '') = ? AND idempotency_key = ?",
            (owner or "", key),
        )
        return found[0] if found else None

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
        return await self._jobs(
            f"{SELECT_JOB}{where} ORDER BY seq DESC LIMIT ? OFFSET ?", (*params, limit, offset)
        )

    async def count(self, *, state: JobState | None = None, owner: str | None = None) -> int:
        where, params = self._where(state, owner)
        return await self._number(f"SELECT COUNT(*) FROM jobs{where}", params)

    async def counts(self) -> dict[JobState, int]:
        rows = await self._db.fetch("SELECT state, COUNT(*) FROM jobs GROUP BY state")
        out = dict.fromkeys(JobState, 0)
        for state, n in rows:
            out[JobState(state)] = n
        return out

    async def active_counts(self) -> tuple[int, int]:
        """(queued, processing) as of the last commit (kept by the writer, no query)."""
        return self._active

    async def job_and_queue(self, job_id: str) -> tuple[Job | None, int | None, int, int]:
        def read() -> tuple[Job | None, int | None, int, int]:
            conn = self._db.reader()
            row = conn.execute(f"{SELECT_JOB} WHERE id = ?", (job_id,)).fetchone()
            queued, processing = self._active
            position = None
            if row is not None and row[1] == JobState.QUEUED.value:
                found = conn.execute(POSITION, (job_id,)).fetchone()
                position = found[0] if found else None
            job = job_from_row(row) if row is not None else None
            return job, position, queued, processing

        return await self._db.read(read)

    async def retried_count(self) -> int:
        return await self._number("SELECT COUNT(*) FROM jobs WHERE attempts > 1")

    async def queued(self, *, limit: int, offset: int = 0) -> list[Job]:
        return await self._jobs(
            f"{SELECT_JOB} WHERE state = 'queued' {QUEUE_ORDER} LIMIT ? OFFSET ?", (limit, offset)
        )

    async def position(self, job_id: str) -> int | None:
        rows = await self._db.fetch(POSITION, (job_id,))
        return int(rows[0][0]) if rows else None

    async def active_by_owner(self) -> dict[str, int]:
        rows = await self._db.fetch(
            "SELECT owner, COUNT(*) FROM jobs WHERE state = 'processing' AND owner IS NOT NULL "
            "GROUP BY owner",
        )
        return dict(rows)

    async def claim(
        self,
        node_id: str,
        *,
        lease_s: float,
        now: float | None = None,
        skip_owners: Collection[str] = (),
        per_owner_limit: int | None = None,
    ) -> Job | None:
        now = time.time() if now is None else now
        clause, params = _owner_clause(skip_owners, per_owner_limit)

        def body(conn: sqlite3.Connection) -> Job | None:
            row = conn.execute(
                f"{SELECT_JOB} WHERE state = 'queued'{clause} {QUEUE_ORDER} LIMIT 1", params
            ).fetchone()
            if row is None:
                return None
            head = job_from_row(row)
            job = head.evolve(
                state=JobState.PROCESSING,
                attempts=head.attempts + 1,
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

        return await self._db.transact(body)

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
            params: list[Any] = [*job_row(job)[1:], job.id, *states]
            if expect_lease_owner is not None:
                sql += " AND lease_owner = ?"
                params.append(expect_lease_owner)
            if conn.execute(sql, params).rowcount != 1:
                return False
            insert_deliveries(conn, outbox)
            return True

        return await self._db.transact(body)

    async def heartbeat(
        self,
        node_id: str,
        progress: Mapping[str, ProgressUpdate],
        *,
        lease_s: float,
        now: float | None = None,
    ) -> set[str]:
        items = list(progress.items())
        now = time.time() if now is None else now

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
        return await self._db.transact(body)

    async def processing(self) -> list[Job]:
        return await self._jobs(f"{SELECT_JOB} WHERE state = 'processing'")

    async def expired_leases(self, now: float | None = None) -> list[Job]:
        return await self._jobs(
            f"{SELECT_JOB} WHERE state = 'processing' AND coalesce(lease_until, 0) < ?",
            (time.time() if now is None else now,),
        )

    async def expired_queued(self, now: float | None = None, *, limit: int) -> list[Job]:
        return await self._jobs(
            f"{SELECT_JOB} WHERE state = 'queued' AND expires_at IS NOT NULL AND expires_at < ? "
            f"{QUEUE_ORDER} LIMIT ?",
            (time.time() if now is None else now, limit),
        )

    async def finished_before(self, ts: float, *, limit: int) -> list[Job]:
        return await self._jobs(
            f"{SELECT_JOB} WHERE state IN ('completed', 'failed', 'cancelled') "
            "AND finished_at < ? ORDER BY finished_at LIMIT ?",
            (ts, limit),
        )

    async def delete(self, job_ids: Collection[str]) -> int:
        ids = list(job_ids)
        if not ids:
            return 0

        def body(conn: sqlite3.Connection) -> int:
            marks = ", ".join("?" * len(ids))
            conn.execute(f"DELETE FROM outbox WHERE job_id IN ({marks})", ids)
            return conn.execute(f"DELETE FROM jobs WHERE id IN ({marks})", ids).rowcount

        return await self._db.transact(body)

    # ---- webhook outbox (sqlite_outbox) ----------------------------------------------------
    async def outbox_add(self, deliveries: Sequence[WebhookDelivery]) -> None:
        await self._outbox.add(deliveries)

    async def outbox_claim(
        self, node_id: str, *, now: float | None = None, limit: int, lease_s: float
    ) -> list[WebhookDelivery]:
        now = time.time() if now is None else now
        return await self._outbox.claim(node_id, now=now, limit=limit, lease_s=lease_s)

    async def outbox_done(self, delivery_id: int) -> None:
        await self._outbox.done(delivery_id)

    async def outbox_retry(
        self,
        delivery_id: int,
        *,
        attempts: int,
        retry_in_s: float,
        error: str,
        now: float | None = None,
    ) -> None:
        due = (time.time() if now is None else now) + retry_in_s
        await self._outbox.retry(delivery_id, attempts=attempts, next_attempt_at=due, error=error)

    async def outbox_give_up(self, delivery_id: int, *, attempts: int, error: str) -> None:
        await self._outbox.give_up(delivery_id, attempts=attempts, error=error)

    async def outbox_pending(self) -> int:
        return await self._outbox.pending()

    # ---- node registry ---------------------------------------------------------------------
    # One process per data dir (the lock file), so the registry is this process's own node.
    async def node_heartbeat(self, node: NodeInfo, *, ttl_s: float) -> None:
        self._nodes.beat(node, ttl_s=ttl_s)

    async def nodes(self) -> list[NodeInfo]:
        return self._nodes.live()

    async def node_gone(self, node_id: str) -> None:
        self._nodes.gone(node_id)


def _owner_clause(
    skip_owners: Collection[str], per_owner_limit: int | None
) -> tuple[str, list[Any]]:
    """The claim's owner filter: not a skipped owner, nor one at its processing limit."""
    clause, params = "", list(skip_owners)
    if params:
        clause += f" AND (owner IS NULL OR owner NOT IN ({', '.join('?' * len(params))}))"
    if per_owner_limit is not None:
        clause += (
            " AND (owner IS NULL OR (SELECT COUNT(*) FROM jobs AS p"
            " WHERE p.state = 'processing' AND p.owner = jobs.owner) < ?)"
        )
        params.append(per_owner_limit)
    return clause, params
