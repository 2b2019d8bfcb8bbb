"""Small exceptions that carry data; the error middleware in `server.app` turns each into one
JSON answer (`{"error": ..., "errors": [{"field", "message"}]}`) and never a traceback."""

from __future__ import annotations

from collections.abc import Sequence

from scenes import FieldError


class ServiceError(Exception):
    """Base: `status` is the HTTP status the middleware answers with."""

    status = 500

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class ValidationFailed(ServiceError):
    """Client input refused; every problem names its field."""

    status = 400

    def __init__(self, errors: Sequence[FieldError], message: str = "invalid request"):
        self.errors = list(errors)
        detail = "; ".join(str(e) for e in self.errors[:5])
        super().__init__(f"{message}: {detail}" if detail else message)


class QueueFull(ServiceError):
    """The queue holds `max_queue` jobs; try again after `retry_after_s`."""

    status = 429

    def __init__(self, retry_after_s: int, queued: int):
        self.retry_after_s = retry_after_s
        self.queued = queued
        super().__init__(f"queue is full ({queued} jobs queued); retry in {retry_after_s}s")


class JobNotFound(ServiceError):
    status = 404

    def __init__(self, job_id: str, message: str | None = None):
        self.job_id = job_id
        super().__init__(message or f"job {job_id} not found")


class Conflict(ServiceError):
    """The job is not in a state that allows this (e.g. cancelling a completed job)."""

    status = 409


class Unavailable(ServiceError):
    """The server cannot take this now (shutting down, not ready)."""

    status = 503

    def __init__(self, message: str, retry_after_s: int = 5):
        self.retry_after_s = retry_after_s
        super().__init__(message)


class Unauthorized(ServiceError):
    status = 401


class TooLarge(ServiceError):
    status = 413
