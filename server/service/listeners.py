"""Callbacks that other parts of the server hang on the job service (progress feeds, stream
buffers). A callback's exception is logged and dropped: a bug in one must not break the
render or the state change that called it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Generic, ParamSpec

from server.logs import EventLog

P = ParamSpec("P")


class Listeners(Generic[P]):
    """`add(callback)` returns its own unsubscribe; `notify(...)` calls each in turn."""

    def __init__(self, name: str):
        self._name = name  # "progress" → log event "progress.listener"
        self._callbacks: list[Callable[P, None]] = []
        self._log = EventLog()

    def add(self, callback: Callable[P, None]) -> Callable[[], None]:
        self._callbacks.append(callback)
        return lambda: self._discard(callback)

    def _discard(self, callback: Callable[P, None]) -> None:
        with contextlib.suppress(ValueError):  # unsubscribing twice is harmless
            self._callbacks.remove(callback)

    def notify(self, *args: P.args, **kwargs: P.kwargs) -> None:
        # A copy: a callback may unsubscribe itself while being called.
        for callback in list(self._callbacks):
            try:
                callback(*args, **kwargs)
            except Exception as exc:
                self._log.error(f"{self._name}.listener", f"{self._name} listener failed: {exc!r}")
