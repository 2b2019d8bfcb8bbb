"""Upkeep the sweeper runs: queued jobs past their TTL fail as expired, renders of dead nodes
go back to the queue, and finished jobs past `[storage] retention_h` are deleted with their
files (in the output store, then this node's render directory, then the record)."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from server.config import Config
from server.jobs import ErrorKind, Job, JobState, WebhookEvent
from server.outputs import OutputStore, job_dir
from server.service.machine import StateMachine, finished
from server.service.renders import Renders
from server.store.base import JobStore

# Expired or deleted in pages of this size so one sweep never loads an unbounded backlog.
SWEEP_PAGE = 500


def output_dir(config: Config, job_id: str) -> Path:
    """Where this node renders a job's video and poster (and `local` outputs keep them)."""
    return job_dir(config.storage.data_dir, job_id)


class Maintenance:
    def __init__(self, store: JobStore, machine: StateMachine, renders: Renders, *, node_id: str):
        self._store = store
        self._machine = machine
        self._renders = renders
        self._node_id = node_id

    async def recover_orphans(self, config: Config) -> int:
        """Requeue renders whose node is gone: at start-up on an exclusive store, every one;
        otherwise those whose lease has run out."""
        if self._store.exclusive:
            orphans = [j for j in await self._store.processing() if j.lease_owner != self._node_id]
        else:
            # Judged by the store's clock, the one every node's leases are measured against.
            orphans = await self._store.expired_leases()
        recovered = 0
        for job in orphans:
            if await self._renders.requeue(
                config, job, "the render was interrupted", lease_owner=job.lease_owner or ""
            ):
                recovered += 1
        return recovered

    async def expire_queued(self) -> int:
        expired = 0
        for job in await self._store.expired_queued(limit=SWEEP_PAGE):
            failed = finished(
                job, JobState.FAILED, ErrorKind.EXPIRED, "expired in the queue before it started"
            )
            if await self._machine.commit(job, failed, event=WebhookEvent.FAILED):
                expired += 1
        return expired

    async def sweep_retention(
        self, config: Config, outputs_for: Callable[[Job], OutputStore]
    ) -> int:
        """Delete jobs (records and files) finished more than `retention_h` ago. A store that
        cannot delete (an S3 outage) raises: the records stay, and the next sweep tries again."""
        cutoff = time.time() - config.storage.retention_h * 3600
        swept = 0
        while True:
            old = await self._store.finished_before(cutoff, limit=SWEEP_PAGE)
            if not old:
                return swept
            for job in old:
                await outputs_for(job).delete(job.id)
                await asyncio.to_thread(shutil.rmtree, output_dir(config, job.id), True)
            swept += await self._store.delete([j.id for j in old])
