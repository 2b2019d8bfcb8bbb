"""The store under test: every contract test runs once on SQLite and once on a real Redis."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from support.redis_server import RedisServer, redis_server, shared_redis  # noqa: F401

from server.store.base import JobStore
from server.store.redis_store import RedisJobStore
from server.store.sqlite import SqliteJobStore


@pytest.fixture(params=["sqlite", "redis"])
async def store(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    shared_redis: RedisServer,  # noqa: F811
) -> AsyncIterator[JobStore]:
    s: JobStore
    if request.param == "sqlite":
        s = SqliteJobStore(tmp_path / "jobs.db")
    else:
        # One server for the run; each test its own key prefix.
        s = RedisJobStore(shared_redis.url, prefix=f"t{secrets.token_hex(4)}:")
    await s.open()
    yield s
    await s.close()
