"""Outbox events: what a job's webhook says, in the shape of the API that submitted it.

Each adapter registers its formatter; a job of an API without one gets the default (Node)
shape. The body is encoded here, when the event happens, so a retried delivery sends the same
bytes; only the signature is made at sending time.
"""

from __future__ import annotations

import time

from server.jobs import Api, Job, WebhookEvent
from server.logs import EventLog
from server.store.base import WebhookDelivery
from server.webhooks import WebhookFormatter, default_formatter, encode_payload


class WebhookEvents:
    """Formatters per API, and the deliveries one job event makes."""

    def __init__(self) -> None:
        self._formatters: dict[Api, WebhookFormatter] = {}
        self._log = EventLog()

    def register(self, api: Api, formatter: WebhookFormatter) -> None:
        self._formatters[api] = formatter

    def deliveries(self, job: Job, event: WebhookEvent) -> list[WebhookDelivery]:
        """The POST this event makes, or none when the formatter declines (or fails)."""
        formatter = self._formatters.get(job.api, default_formatter)
        try:
            message = formatter(job, event)
        except Exception as exc:  # a formatter bug must not block a state change
            self._log.error("webhook.format", f"webhook formatter for {job.api} failed: {exc!r}")
            return []
        if message is None:
            return []
        now = time.time()
        return [
            WebhookDelivery(
                job_id=job.id,
                url=message.url,
                event=event,
                body=encode_payload(message.payload),
                headers=message.headers,
                next_attempt_at=0.0,  # due at once, by whichever clock the store keeps
                created_at=now,
            )
        ]
