"""Job store backends behind one protocol (`server.store.base.JobStore`)."""

from __future__ import annotations

from server.config import StorageConfig
from server.store.base import (
    JobStore,
    NodeInfo,
    ProgressUpdate,
    QueueLimitReached,
    StoreUnavailable,
    StoreUnsafe,
    WebhookDelivery,
)


def make_store(config: StorageConfig) -> JobStore:
    """The configured backend, not yet opened."""
    if config.backend == "sqlite":
        from server.store.sqlite import SqliteJobStore

        return SqliteJobStore(config.data_dir / "reelfarm.db")
    from server.store.redis_store import RedisJobStore

    return RedisJobStore(config.redis_url)


__all__ = [
    "JobStore",
    "NodeInfo",
    "ProgressUpdate",
    "QueueLimitReached",
    "StoreUnavailable",
    "StoreUnsafe",
    "WebhookDelivery",
    "make_store",
]
