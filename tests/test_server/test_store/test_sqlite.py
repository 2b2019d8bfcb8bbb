"""What only the SQLite store promises: durability across reopen, the lock file that keeps a
second server out, and its in-process node registry."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_server.test_store.helpers import make_job

from server.store.sqlite import SqliteJobStore, StoreLocked


async def test_jobs_survive_reopen_and_the_lock_keeps_a_second_server_out(
    tmp_path: Path,
) -> None:
    path = tmp_path / "jobs.db"
    store = SqliteJobStore(path)
    await store.open()
    job = make_job(priority=3, metadata={"k": "v"}, webhook_url="http://x/y")
    await store.add(job)
    second = SqliteJobStore(path)
    with pytest.raises(StoreLocked):
        await second.open()
    await store.close()

    reopened = SqliteJobStore(path)
    await reopened.open()
    try:
        assert await reopened.get(job.id) == job
    finally:
        await reopened.close()


async def test_the_store_is_exclusive(tmp_path: Path) -> None:
    # One process per data dir: every render found processing at start-up is an orphan.
    assert SqliteJobStore(tmp_path / "jobs.db").exclusive is True
