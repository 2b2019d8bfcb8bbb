"""How a pooled render can fail besides the renderer's own errors."""

from __future__ import annotations

from renderer.types import RenderError


class WorkerLost(RenderError):
    """The worker died mid-render (kill -9, OOM); the caller re-queues the job by attempts."""


class RenderTimeout(RenderError):
    """The render ran past its timeout; its worker and FFmpeg were killed as one group."""


class PoolClosed(RenderError):
    """The pool is stopping: it takes no more renders, and renders it stopped raise this
    (the job is not at fault; re-queue it without counting an attempt)."""


class PoolStartError(RuntimeError):
    """No worker could be warmed up; the message says why (e.g. no working encoder)."""
