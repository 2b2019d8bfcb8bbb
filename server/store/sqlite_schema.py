"""The SQLite file's layout: the schema, its version, and how a `Job` or a delivery maps to a row.

Columns are named once (`JOB_COLUMNS`) so the row tuple, the SELECT list and the UPDATE list
cannot drift apart. Structured fields (spec, metadata, options, result, headers) are stored as
compact JSON text.
"""

# SQL text is assembled only from the column constants below and "?" placeholders; every value
# travels as a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from server.jobs import Api, ErrorKind, Job, JobState, WebhookEvent
from server.store.base import WebhookDelivery

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
SELECT_JOB = f"SELECT {', '.join(JOB_COLUMNS)} FROM jobs"
QUEUE_ORDER = "ORDER BY priority DESC, queued_at, seq"
ACTIVE_COUNTS = (
    "SELECT state, COUNT(*) FROM jobs WHERE state IN ('queued', 'processing') GROUP BY state"
)
# A queued job's place: the queued jobs ahead of it in queue order, plus itself (0: not queued).
# Two range scans of the queue index (higher priorities; then this priority up to the job).
POSITION = """
    SELECT (SELECT COUNT(*) FROM jobs WHERE state = 'queued' AND priority > j.p)
         + (SELECT COUNT(*) FROM jobs WHERE state = 'queued' AND priority = j.p
                AND (queued_at, seq) <= (j.t, j.s))
    FROM (SELECT priority p, queued_at t, seq s FROM jobs WHERE id = ? AND state = 'queued') j
"""
OUTBOX_COLUMNS = "id job_id url event body headers attempts next_attempt_at created_at last_error"


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Create what is missing; refuse a file written by a newer server."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise RuntimeError(
            f"{path}: schema version {version} is newer than this server's ({SCHEMA_VERSION})"
        )
    conn.executescript(SCHEMA)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def job_row(job: Job) -> tuple[Any, ...]:
    """The job's values in `JOB_COLUMNS` order."""
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
        None if job.result is None else dumps(job.result),
        job.webhook_url,
        dumps(job.metadata),
        job.owner,
        job.idempotency_key,
        dumps(job.options),
        job.lease_owner,
        job.lease_until,
        dumps(job.spec),
    )


def job_from_row(row: Sequence[Any]) -> Job:
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


def delivery_from_row(row: Sequence[Any]) -> WebhookDelivery:
    """A delivery from a row of `OUTBOX_COLUMNS`."""
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
