"""Waiting on a condition with a deadline: the suite's only way to wait for an outcome."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any


async def wait_until(
    check: Callable[[], Any],
    timeout_s: float = 30.0,
    *,
    interval_s: float = 0.05,
    what: str = "condition",
) -> Any:
    """Poll `check` (plain or async) until it returns something truthy, and return that;
    fail with its last value at the deadline."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if inspect.isawaitable(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval_s)
    raise AssertionError(f"{what} not met within {timeout_s:g}s (last: {last!r})")


def wait_until_blocking(
    check: Callable[[], Any],
    timeout_s: float,
    what: str = "condition",
    *,
    interval_s: float = 0.2,
    tolerate: tuple[type[BaseException], ...] = (OSError, ValueError),
) -> Any:
    """`wait_until` for code outside an event loop (external processes, HTTP by urllib);
    exceptions of the `tolerate` types count as "not yet": a server still starting refuses
    connections (OSError, urllib's URLError among them) or answers half-ready (ValueError)."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except tolerate as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(interval_s)  # the poll interval of a deadline loop, not a wait for an outcome
    raise AssertionError(f"timed out after {timeout_s:g}s waiting for {what} (last: {last!r})")
