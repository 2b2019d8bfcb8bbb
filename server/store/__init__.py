"""Job store backends behind one protocol (`server.store.base.JobStore`)."""

from __future__ import annotations

from server.config import StorageConfig
from server.store.base import JobStore, ProgressUpdate, QueueLimitReached, WebhookDelivery


def make_store(config: StorageConfig) -> JobStore:
    """The configured backend, not yet opened."""
    if config.backend == "sqlite":
        from server.store.sqlite import SqliteJobStore

        return SqliteJobStore(config.data_dir / "reelfarm.db")
    raise NotImplementedError(f"storage.backend = {config.backend!r} is not available yet")


__all__ = ["JobStore", "ProgressUpdate", "QueueLimitReached", "WebhookDelivery", "make_store"]
