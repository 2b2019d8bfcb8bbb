"""The webhook outbox on SQLite: deliveries written with the state change that caused them,
handed out one job at a time in event order, each under a short lease."""

# SQL text is assembled only from the column constants and "?" placeholders; every value
# travels as a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from server.store.base import WebhookDelivery
from server.store.sqlite_db import SqliteDatabase
from server.store.sqlite_schema import OUTBOX_COLUMNS, delivery_from_row, dumps

# A delivery's last error is kept short: it is for operators, not a log of the response.
MAX_ERROR_CHARS = 500


def insert_deliveries(conn: sqlite3.Connection, deliveries: Sequence[WebhookDelivery]) -> None:
    """Inside a write transaction: the job change and its deliveries commit together."""
    conn.executemany(
        "INSERT INTO outbox (job_id, url, event, body, headers, attempts, next_attempt_at, "
        "created_at, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                d.job_id,
                d.url,
                d.event.value,
                d.body,
                dumps(dict(d.headers)),
                d.attempts,
                d.next_attempt_at,
                d.created_at,
                d.last_error,
            )
            for d in deliveries
        ],
    )


class SqliteOutbox:
    """The `outbox_*` half of `SqliteJobStore` (see `server.store.base` for the contract)."""

    def __init__(self, db: SqliteDatabase):
        self._db = db

    async def add(self, deliveries: Sequence[WebhookDelivery]) -> None:
        if deliveries:
            await self._db.transact(lambda conn: insert_deliveries(conn, deliveries))

    async def claim(
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
            return [delivery_from_row(r) for r in rows]

        return await self._db.transact(body)

    async def done(self, delivery_id: int) -> None:
        # The body is dropped once delivered: nothing will send it again.
        await self._db.transact(
            lambda conn: conn.execute(
                "UPDATE outbox SET state = 'delivered', lease_owner = NULL, body = x'' "
                "WHERE id = ?",
                (delivery_id,),
            ),
        )

    async def retry(
        self, delivery_id: int, *, attempts: int, next_attempt_at: float, error: str
    ) -> None:
        await self._db.transact(
            lambda conn: conn.execute(
                "UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ?, "
                "lease_owner = NULL, lease_until = NULL WHERE id = ?",
                (attempts, next_attempt_at, error[:MAX_ERROR_CHARS], delivery_id),
            ),
        )

    async def give_up(self, delivery_id: int, *, attempts: int, error: str) -> None:
        await self._db.transact(
            lambda conn: conn.execute(
                "UPDATE outbox SET state = 'dead', attempts = ?, last_error = ?, "
                "lease_owner = NULL WHERE id = ?",
                (attempts, error[:MAX_ERROR_CHARS], delivery_id),
            ),
        )

    async def pending(self) -> int:
        rows = await self._db.fetch("SELECT COUNT(*) FROM outbox WHERE state = 'pending'")
        return int(rows[0][0])
