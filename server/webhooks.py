"""Webhooks: the Node contract's payload, target checks (SSRF), signing, and the sender.

Deliveries live in the store's outbox (written with the state change that caused them), so
they survive restarts. The sender claims due ones, POSTs them, and on failure retries with
exponential backoff until `[webhooks] max_attempts`.

Signature (when `[webhooks] secret` is set)::

    X-Reelfarm-Timestamp: 1731609000
    X-Reelfarm-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>

A receiver recomputes the HMAC over the timestamp header, a dot and the raw body, compares in
constant time, and rejects old timestamps to stop replays.

Delivery is at least once: a node that sent a webhook but died (or lost the store) before
recording it leaves the delivery to be sent again by any node. Every attempt of one delivery
carries the same `X-Reelfarm-Delivery` id, so a receiver drops repeats by remembering it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import ipaddress
import json
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from renderer.assets import is_private_address
from server.config import WebhooksConfig
from server.jobs import Job, WebhookEvent
from server.logs import EventLog
from server.outage import StoreHealth
from server.store.base import JobStore, StoreUnavailable, WebhookDelivery

MAX_URL_CHARS = 2048
SIGNATURE_HEADER = "X-Reelfarm-Signature"
TIMESTAMP_HEADER = "X-Reelfarm-Timestamp"
DELIVERY_HEADER = "X-Reelfarm-Delivery"
# Deliveries in flight at once (each to its own job: a job's events go one at a time).
MAX_IN_FLIGHT = 16
# How often the sender looks for due retries when nothing wakes it.
POLL_S = 1.0


@dataclass(frozen=True)
class WebhookMessage:
    """What a formatter returns: where to POST and the JSON payload."""

    url: str
    payload: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


# A formatter turns a job event into a message, or None for "no webhook for this event".
WebhookFormatter = Callable[[Job, WebhookEvent], WebhookMessage | None]


def iso_time(ts: float) -> str:
    """2025-11-14T18:30:00.000Z, the seed's timestamp format."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{int(ts * 1000) % 1000:03d}Z"
    )


def caption_urls_camel(result: dict[str, Any]) -> dict[str, str]:
    """`captionsVttUrl` / `captionsSrtUrl` in the Node guide's words, only for a render with
    captions: bodies of jobs without them keep exactly the keys they always had."""
    words = {"captions_vtt_url": "captionsVttUrl", "captions_srt_url": "captionsSrtUrl"}
    return {camel: result[key] for key, camel in words.items() if result.get(key)}


def node_payload(job: Job, event: WebhookEvent) -> dict[str, Any]:
    """The Node guide's webhook body (also used by the Django and native APIs)."""
    result = job.result or {}
    return {
        "event": event.value,
        "jobId": job.id,
        "status": job.state.value,
        "progress": round(job.progress),
        "videoUrl": result.get("video_url"),
        "posterUrl": result.get("poster_url"),
        "error": job.error,
        "metadata": job.metadata,
        "timestamp": iso_time(time.time()),
        **caption_urls_camel(result),
    }


def default_formatter(job: Job, event: WebhookEvent) -> WebhookMessage | None:
    if not job.webhook_url:
        return None
    return WebhookMessage(job.webhook_url, node_payload(job, event))


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does (used by the tests, and documented for clients)."""
    try:
        expected = sign(secret, int(timestamp), body)
    except ValueError:
        return False
    return hmac.compare_digest(expected, signature)


def _is_private(ip: str) -> bool:
    return is_private_address(ip)


def check_target_url(url: object, *, allow_private: bool) -> str | None:
    """Submit-time check of a webhook URL without DNS; the problem in words, or None.

    A host name is resolved (and refused if private) only when delivering, by the resolver.
    """
    if not isinstance(url, str) or not url:
        return "must be an http(s) URL"
    if len(url) > MAX_URL_CHARS:
        return f"must be at most {MAX_URL_CHARS} characters"
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port
    except ValueError:
        return "must be a valid http(s) URL"
    if parts.scheme not in ("http", "https") or not host:
        return "must be an http(s) URL"
    if allow_private:
        return None
    if host == "localhost" or host.endswith(".localhost"):
        return "must not point at a loopback address"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return None
    if _is_private(host):
        return "must not point at a private, loopback or link-local address"
    return None


class TargetRefused(aiohttp.ClientConnectionError):
    """The webhook host resolves only to private addresses and those are not allowed."""


class PublicOnlyResolver(AbstractResolver):
    """Resolves like the default resolver, then drops private, loopback and link-local
    addresses: the connection goes only to an address that was checked (no DNS rebinding)."""

    def __init__(self) -> None:
        self._inner = aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        public = [r for r in found if not _is_private(r["host"])]
        if not public:
            raise TargetRefused(f"{host} resolves only to private addresses")
        return public

    async def close(self) -> None:
        await self._inner.close()


def backoff_s(attempts: int, base_s: float, max_s: float) -> float:
    """Exponential with jitter: base, 2·base, 4·base… capped, ±20 %."""
    delay = min(max_s, base_s * 2 ** max(0, attempts - 1))
    return delay * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not security


class WebhookSender:
    """Delivers the outbox. `start()` once; `wake()` after adding deliveries; `stop()`."""

    def __init__(
        self,
        store: JobStore,
        *,
        node_id: str,
        config: Callable[[], WebhooksConfig],
        on_delivered: Callable[[str, float], None] | None = None,
        health: StoreHealth | None = None,
    ):
        self._store = store
        self._health = health or StoreHealth()
        self._node_id = node_id
        self._config = config  # a getter: SIGHUP may replace the secret or limits
        self._on_delivered = on_delivered or (lambda outcome, seconds: None)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None
        self._public_session: aiohttp.ClientSession | None = None
        self._log = EventLog()

    async def start(self) -> None:
        self._session = aiohttp.ClientSession()
        self._public_session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(resolver=PublicOnlyResolver(), use_dns_cache=False)
        )
        self._task = asyncio.create_task(self._run(), name="webhook-sender")

    def wake(self) -> None:
        self._wake.set()

    async def stop(self, timeout_s: float = 5.0) -> None:
        """Stop claiming; let deliveries in flight finish for up to `timeout_s`. Undelivered
        ones stay in the outbox (their lease lapses) and go out after the next start."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._in_flight:
            _, pending = await asyncio.wait(self._in_flight, timeout=timeout_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        for session in (self._session, self._public_session):
            if session is not None:
                await session.close()
        self._session = self._public_session = None

    async def _run(self) -> None:
        while True:
            room = MAX_IN_FLIGHT - len(self._in_flight)
            claimed: list[WebhookDelivery] = []
            if room > 0:
                try:
                    claimed = await self._store.outbox_claim(
                        self._node_id,
                        limit=room,
                        lease_s=self._config().timeout_s + 30,
                    )
                except StoreUnavailable as exc:  # claimed again when it is back
                    self._health.failed(exc, where="webhook sender")
                except Exception as exc:  # a store hiccup must not end delivery
                    self._log.error("webhook.store_error", f"webhook outbox read failed: {exc}")
            for delivery in claimed:
                task = asyncio.create_task(self._send(delivery))
                self._in_flight.add(task)
                task.add_done_callback(self._done)
            if claimed and len(claimed) == room:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_S)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._wake.set()  # a job's next event may now be due

    async def _send(self, delivery: WebhookDelivery) -> None:
        try:
            await self._deliver(delivery)
        except StoreUnavailable as exc:
            # The outcome could not be recorded: the delivery's lease runs out and it is sent
            # again, which is why receivers get a stable delivery id (at least once).
            self._health.failed(exc, where="webhook sender")

    async def _deliver(self, delivery: WebhookDelivery) -> None:
        config = self._config()
        assert delivery.id is not None  # outbox rows always have one
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "reelfarm-webhook/1",
            DELIVERY_HEADER: delivery_id(delivery),
        }
        headers.update(delivery.headers)
        if config.secret:
            ts = int(time.time())
            headers[TIMESTAMP_HEADER] = str(ts)
            headers[SIGNATURE_HEADER] = sign(config.secret, ts, delivery.body)
        attempts = delivery.attempts + 1
        started = time.monotonic()
        error = self._check_literal_target(delivery.url, config)
        if error is None:
            error = await self._post(delivery, headers, config)
        elapsed = time.monotonic() - started
        if error is None:
            await self._store.outbox_done(delivery.id)
            self._on_delivered("delivered", elapsed)
            return
        refused = error.startswith("refused:")
        if refused or attempts >= config.max_attempts:
            await self._store.outbox_give_up(delivery.id, attempts=attempts, error=error)
            self._on_delivered("refused" if refused else "failed", elapsed)
            self._log.warning(
                "webhook.failed",
                f"Webhook {delivery.event.value} for job {delivery.job_id} gave up after "
                f"{attempts} attempt(s): {error}",
                job_id=delivery.job_id,
                attempts=attempts,
            )
            return
        delay = backoff_s(attempts, config.backoff_base_s, config.backoff_max_s)
        await self._store.outbox_retry(
            delivery.id, attempts=attempts, retry_in_s=delay, error=error
        )
        self._on_delivered("retry", elapsed)
        self._log.emit(
            "webhook.retry",
            f"Webhook {delivery.event.value} for job {delivery.job_id} failed ({error}); "
            f"retry {attempts + 1}/{config.max_attempts} in {delay:.1f}s",
            job_id=delivery.job_id,
        )

    @staticmethod
    def _check_literal_target(url: str, config: WebhooksConfig) -> str | None:
        problem = check_target_url(url, allow_private=config.allow_private_targets)
        return f"refused: {problem}" if problem else None

    async def _post(
        self, delivery: WebhookDelivery, headers: dict[str, str], config: WebhooksConfig
    ) -> str | None:
        session = self._session if config.allow_private_targets else self._public_session
        assert session is not None  # start() ran
        try:
            async with session.post(
                delivery.url,
                data=delivery.body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=config.timeout_s),
                allow_redirects=False,  # a redirect could lead anywhere, past the checks
            ) as response:
                await response.read()
                if 200 <= response.status < 300:
                    return None
                return f"HTTP {response.status}"
        except TargetRefused as exc:
            return f"refused: {exc}"
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def delivery_id(delivery: WebhookDelivery) -> str:
    """Stable across every attempt and every node: the job, its event and the outbox row."""
    return f"{delivery.job_id}.{delivery.event.value}.{delivery.id}"


def encode_payload(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
