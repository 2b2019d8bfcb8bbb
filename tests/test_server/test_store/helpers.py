"""Jobs and deliveries for the store tests."""

from __future__ import annotations

import time

from server.jobs import Job, WebhookEvent, new_job_id
from server.store.base import WebhookDelivery


def make_job(priority: int = 0, queued_at: float | None = None, **kw: object) -> Job:
    now = time.time() if queued_at is None else queued_at
    return Job(id=new_job_id(), spec={"scenes": []}, priority=priority, queued_at=now, **kw)


def delivery(job_id: str, event: WebhookEvent, body: bytes = b"{}") -> WebhookDelivery:
    return WebhookDelivery(job_id, "http://x/hook", event, body, next_attempt_at=0.0)
