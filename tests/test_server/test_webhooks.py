"""Webhooks: a signature a receiver can verify, retries with backoff, the durable outbox
across a restart, and refusal of private targets at delivery time."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import socket
from pathlib import Path

import pytest
from support.serverkit import WebhookReceiver, tiny_spec
from support.waiting import wait_until

SECRET = "whsec-test-0123456789"


async def _count(receiver: WebhookReceiver, n: int) -> bool:
    return len(receiver.accepted()) >= n


async def test_signature_verifies_with_hmac_of_timestamp_and_body(
    start_server, receiver: WebhookReceiver
) -> None:
    server = await start_server({"webhooks": {"secret": SECRET}})
    job_id = await server.client.submit(tiny_spec(), webhookUrl=receiver.url)
    await wait_until(lambda: _count(receiver, 2), 30)
    for delivery in receiver.deliveries:
        timestamp = delivery.headers["X-Reelfarm-Timestamp"]
        signature = delivery.headers["X-Reelfarm-Signature"]
        # What a receiver does, written out without the project's helpers:
        mac = hmac.new(SECRET.encode(), timestamp.encode() + b"." + delivery.body, hashlib.sha256)
        assert hmac.compare_digest(signature, "sha256=" + mac.hexdigest())
        tampered = hmac.new(
            SECRET.encode(), timestamp.encode() + b"." + delivery.body + b" ", hashlib.sha256
        )
        assert not hmac.compare_digest(signature, "sha256=" + tampered.hexdigest())
    assert receiver.events_for(job_id) == ["started", "completed"]


async def test_failed_deliveries_are_retried_with_backoff(
    start_server, receiver: WebhookReceiver
) -> None:
    receiver.fail_next = 2
    server = await start_server({"webhooks": {"backoff_base_s": 0.3, "max_attempts": 5}})
    job_id = await server.client.submit(tiny_spec(), webhookUrl=receiver.url)
    await wait_until(lambda: _count(receiver, 2), 30)
    attempts = [d for d in receiver.deliveries if d.json["jobId"] == job_id]
    started = [d for d in attempts if d.json["event"] == "started"]
    # Two refusals, then accepted; the gaps grow (0.3 s, then about 0.6 s, ±20 %).
    assert len(started) == 3
    gaps = [b.at - a.at for a, b in itertools.pairwise(started)]
    assert gaps[0] >= 0.3 * 0.8 - 0.05 and gaps[1] >= 0.6 * 0.8 - 0.05
    assert receiver.events_for(job_id) == ["started", "completed"]
    # Every attempt of one delivery carries one id, so a receiver can drop the repeats; the
    # completion is another delivery with another id.
    ids = {d.headers["X-Reelfarm-Delivery"] for d in started}
    completed = [d for d in attempts if d.json["event"] == "completed"]
    assert len(ids) == 1 and completed[0].headers["X-Reelfarm-Delivery"] not in ids
    assert ids.pop().startswith(f"{job_id}.started.")


async def test_deliveries_give_up_after_max_attempts(start_server, receiver) -> None:
    receiver.fail_next = 100
    server = await start_server({"webhooks": {"backoff_base_s": 0.05, "max_attempts": 3}})
    job_id = await server.client.submit(tiny_spec(), webhookUrl=receiver.url)
    await server.client.wait_status(job_id, ("completed",))

    async def gave_up() -> bool:
        return len(receiver.deliveries) >= 6  # 3 tries each for started and completed

    await wait_until(gave_up, 30)
    from server.app import STORE

    # The last refusal is recorded just after the receiver answers it.
    async def outbox_empty() -> bool:
        return await server.app[STORE].outbox_pending() == 0

    await wait_until(outbox_empty, 10)
    assert len(receiver.deliveries) == 6


async def test_the_outbox_survives_a_restart(start_server, tmp_path: Path) -> None:
    receiver = WebhookReceiver()  # not listening yet: every delivery fails
    data = tmp_path / "data"
    server = await start_server(
        {"webhooks": {"backoff_base_s": 0.2, "max_attempts": 50}}, data_dir=data
    )
    job_id = await server.client.submit(tiny_spec(), webhookUrl=receiver.url)
    await server.client.wait_status(job_id, ("completed",))
    await server.stop()

    await receiver.start()
    try:
        await start_server({"webhooks": {"backoff_base_s": 0.2}}, data_dir=data)
        await wait_until(lambda: _count(receiver, 2), 30)
        assert receiver.events_for(job_id) == ["started", "completed"]
    finally:
        await receiver.stop()


def _private_hostname() -> str | None:
    """A name (not an IP literal, not "localhost") that resolves only to private addresses."""
    for name in (socket.gethostname(), "localhost.localdomain", "ip6-localhost"):
        try:
            found = {i[4][0] for i in socket.getaddrinfo(name, 80)}
        except OSError:
            continue
        from renderer.assets import is_private_address

        if found and all(is_private_address(ip) for ip in found):
            return name
    return None


async def test_private_targets_are_refused_at_delivery(start_server, receiver) -> None:
    name = _private_hostname()
    if name is None:
        pytest.skip("no host name here resolves only to private addresses")
    server = await start_server({"webhooks": {"allow_private_targets": False}})
    url = receiver.url.replace("127.0.0.1", name)
    status, out = await server.client.post(
        "/api/generate-video-async", {**tiny_spec(), "webhookUrl": url}
    )
    assert status == 200, out  # a host name passes the submit-time check...
    await server.client.wait_status(out["jobId"], ("completed",))
    from server.app import STORE

    async def settled() -> bool:
        return await server.app[STORE].outbox_pending() == 0

    await wait_until(settled, 15)
    assert receiver.deliveries == []  # ...and is refused when it resolves to a private address
