"""The console's push: one Server-Sent Events stream per open page, fed by the job state
machine.

Each committed state change (`JobService.on_state_change`) goes at once to the pages allowed
to see the job, as its new row. Once a second, while any page is open, the farm is read once
(`farm.read_farm`: four store reads, however many pages) and each page gets the overview it
may see when it differs from the last one it got: slots, the gate, queue positions and the
progress of renders on every node (another node's state changes reach this one that way).

A page that falls behind (its queue full) is told to reload its lists instead of being sent
a backlog; a page that loses its stream (a restart) reconnects by itself and reloads them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from server.console.access import Viewer
from server.console.farm import overview_for, read_farm
from server.console.views import NodeMemory, job_row
from server.jobs import Job, JobState
from server.logs import EventLog

TICK_S = 1.0
# A comment line this often keeps proxies from closing a quiet stream, and finds a page that
# has gone (the write fails).
KEEPALIVE_S = 10.0
# The browser's EventSource waits this long before reconnecting.
RECONNECT_MS = 2000
# Messages a slow page may have waiting before it is told to reload instead.
MAX_WAITING = 256
RESYNC = b"event: resync\ndata: {}\n\n"


def sse(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


@dataclass(eq=False)
class Subscription:
    viewer: Viewer
    queue: asyncio.Queue[bytes | None] = field(default_factory=lambda: asyncio.Queue(MAX_WAITING))
    last_overview: bytes = b""

    def send(self, message: bytes) -> None:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            # Behind by a full queue: what it has waiting is stale; it reloads instead.
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(RESYNC)

    def close(self) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)


class ConsoleFeed:
    """The open pages, and what each is sent."""

    def __init__(self, app: web.Application, memory: NodeMemory):
        self._app = app
        self.memory = memory
        self._subscriptions: set[Subscription] = set()
        self._tick: asyncio.Task[None] | None = None
        self._closing = False
        self._log = EventLog()

    @property
    def open_pages(self) -> int:
        return len(self._subscriptions)

    def on_state_change(self, job: Job, old: JobState | None) -> None:
        self.memory.note(job)
        if not self._subscriptions:
            return
        message = sse("job", job_row(job, self.memory))
        for subscription in list(self._subscriptions):
            if subscription.viewer.may_see(job):
                subscription.send(message)

    def subscribe(self, viewer: Viewer) -> Subscription:
        subscription = Subscription(viewer)
        self._subscriptions.add(subscription)
        if not self._closing and (self._tick is None or self._tick.done()):
            self._tick = asyncio.get_running_loop().create_task(self._run(), name="console-feed")
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)

    async def close(self) -> None:
        """Shutting down: every stream ends, so no open page holds the shutdown up."""
        self._closing = True
        for subscription in list(self._subscriptions):
            subscription.close()
        if self._tick is not None:
            self._tick.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tick

    async def _run(self) -> None:
        while self._subscriptions and not self._closing:
            try:
                await self._push_overviews()
            except Exception as exc:  # the store away, say: the pages keep what they have
                self._log.warning("console.feed", f"console overview not read: {exc!r}")
            await asyncio.sleep(TICK_S)

    async def _push_overviews(self) -> None:
        state = await read_farm(self._app)
        encoded: dict[str, bytes] = {}  # one encoding per kind of viewer
        for subscription in list(self._subscriptions):
            viewer = subscription.viewer
            if viewer.key not in encoded:
                encoded[viewer.key] = sse("overview", overview_for(state, viewer, self.memory))
            message = encoded[viewer.key]
            if message != subscription.last_overview:
                subscription.last_overview = message
                subscription.send(message)
