"""The farm as the console shows it: the nodes and their slots, the admission gate, the queue in
serving order and the renders in flight, read once and then cut to what each viewer may see."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from server.console.access import Viewer
from server.console.views import NodeMemory, job_row
from server.jobs import Job, JobState
from server.state import ADMISSION, NODES, SCHEDULER, SERVICE, STORE
from server.store.base import NodeInfo

# The queue rows shown, and how far into the queue the oldest wait is looked for.
QUEUE_SHOWN = 50
QUEUE_READ = 200


@dataclass(frozen=True, slots=True)
class FarmState:
    """One reading of everything the overview shows (every owner's jobs)."""

    node_id: str
    nodes: list[NodeInfo]
    counts: dict[str, int]
    queue: list[Job]
    running: list[Job]
    holding: str | None
    gates: dict[str, Any]
    draining: bool
    read_at: float


async def read_farm(app: web.Application) -> FarmState:
    """Four store reads, whoever and however many are looking."""
    service = app[SERVICE]
    store = app[STORE]
    nodes, counts, queue, running = await asyncio.gather(
        app[NODES].cluster(),
        store.counts(),
        store.queued(limit=QUEUE_READ),
        store.processing(),
    )
    fresh = service.local_progress()
    overlaid = [
        job.evolve(progress=p.progress, frames_done=p.frames_done, frames_total=p.frames_total)
        if (p := fresh.get(job.id)) is not None
        else job
        for job in running
    ]
    scheduler = app[SCHEDULER]
    return FarmState(
        node_id=service.node_id,
        nodes=nodes,
        counts={state.value: n for state, n in counts.items()},
        queue=queue,
        running=sorted(overlaid, key=lambda j: j.started_at or 0.0),
        holding=scheduler.holding,
        gates=app[ADMISSION].snapshot(),
        draining=scheduler.draining,
        read_at=time.time(),
    )


def overview_for(state: FarmState, viewer: Viewer, memory: NodeMemory) -> dict[str, Any]:
    """The overview as `viewer` may see it: another client's jobs are neither listed nor
    counted, only the queue's length and the slots (which the API tells everyone)."""
    queue = [
        job_row(job, memory, position)
        for position, job in enumerate(state.queue, start=1)
        if viewer.may_see(job)
    ][:QUEUE_SHOWN]
    running = [job_row(job, memory) for job in state.running if viewer.may_see(job)]
    waits = [state.read_at - job.queued_at for job in state.queue if job.queued_at is not None]
    slots = sum(n.slots for n in state.nodes)
    busy = sum(n.busy for n in state.nodes)
    farm = {
        "node": state.node_id,
        "nodes": [_node_json(n) for n in state.nodes],
        "slots": slots,
        "busy": busy,
        "free": max(0, slots - busy),
        "holding": state.holding,
        "gates": state.gates,
        "draining": state.draining,
        "queue_length": state.counts.get(JobState.QUEUED.value, 0),
        "oldest_wait_s": round(max(waits), 1) if waits else None,
        "counts": state.counts if viewer.operator else None,
        "operator": viewer.operator,
        "viewer": viewer.principal,
    }
    return {"farm": farm, "queue": queue, "running": running}


def _node_json(node: NodeInfo) -> dict[str, Any]:
    return {
        "id": node.id,
        "slots": node.slots,
        "busy": node.busy,
        "free": max(0, node.slots - node.busy),
        "encoder": node.encoder,
        "gpu": node.gpu,
        "version": node.version,
        "last_seen": node.seen_at,
    }
