"""How a `Job` and a delivery map to Redis hash fields, and the queue's sort key.

A job is a hash with one field per attribute (absent = None), so the Lua scripts can read and
change the few they need (state, lease, attempts) without decoding anything. Numbers travel as
Python's `repr` text (exact round trip); the scripts write their own with `%.17g`, which is
exact too. Structured attributes (spec, metadata, options, result) are compact JSON text.
Fields starting with `_` are the store's own (insertion sequence, queue member, write token).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from typing import Any

from server.jobs import Api, ErrorKind, Job, JobState, WebhookEvent
from server.store.base import WebhookDelivery

_FLOATS = ("created_at", "queued_at", "started_at", "finished_at", "expires_at", "lease_until")
_INTS = ("priority", "attempts", "frames_done", "frames_total")
_TEXTS = ("error", "webhook_url", "owner", "idempotency_key", "lease_owner")
_JSONS = ("spec", "metadata", "options", "result")
# A queue member is this many characters of sort key, then the job id.
QUEUE_KEY_CHARS = 8 + 17 + 16


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def number(value: float) -> str:
    return repr(float(value))


def job_fields(job: Job) -> tuple[dict[str, str], list[str]]:
    """(fields to set, fields to delete because the attribute is None)."""
    values: dict[str, str | None] = {
        "id": job.id,
        "state": job.state.value,
        "api": job.api.value,
        "progress": number(job.progress),
        "error_kind": job.error_kind.value if job.error_kind else None,
    }
    for name in _FLOATS:
        raw = getattr(job, name)
        values[name] = None if raw is None else number(raw)
    for name in _INTS:
        values[name] = str(int(getattr(job, name)))
    for name in _TEXTS:
        values[name] = getattr(job, name)
    for name in _JSONS:
        raw = getattr(job, name)
        values[name] = None if raw is None else dumps(raw)
    present = {k: v for k, v in values.items() if v is not None}
    return present, [k for k, v in values.items() if v is None]


def job_from_fields(raw: Mapping[bytes, bytes] | Mapping[str, str]) -> Job:
    v = {_text(k): _text(x) for k, x in raw.items()}

    def f(name: str) -> float | None:
        return float(v[name]) if name in v else None

    return Job(
        id=v["id"],
        spec=json.loads(v["spec"]),
        api=Api(v["api"]),
        state=JobState(v["state"]),
        priority=int(v["priority"]),
        created_at=float(v["created_at"]),
        queued_at=f("queued_at"),
        started_at=f("started_at"),
        finished_at=f("finished_at"),
        expires_at=f("expires_at"),
        attempts=int(v["attempts"]),
        progress=float(v["progress"]),
        frames_done=int(v["frames_done"]),
        frames_total=int(v["frames_total"]),
        error=v.get("error"),
        error_kind=ErrorKind(v["error_kind"]) if v.get("error_kind") else None,
        result=json.loads(v["result"]) if "result" in v else None,
        webhook_url=v.get("webhook_url"),
        metadata=json.loads(v["metadata"]),
        owner=v.get("owner"),
        idempotency_key=v.get("idempotency_key"),
        options=json.loads(v["options"]),
        lease_owner=v.get("lease_owner"),
        lease_until=f("lease_until"),
    )


def pairs(flat: list[Any]) -> dict[bytes, bytes]:
    """A script's HGETALL reply (a flat list) as a mapping."""
    return dict(zip(flat[::2], flat[1::2], strict=True))


def queue_key(job: Job) -> str:
    """The sort key of a queued job, before the script appends its sequence number and id:
    priority descending, then `queued_at` ascending (None first, as SQLite sorts NULL), all
    in fixed-width hex so that byte order is queue order."""
    priority = f"{(1 << 31) - job.priority:08x}"
    if job.queued_at is None:
        return priority + "0" * 17
    return priority + "1" + _sortable(job.queued_at)


def _sortable(value: float) -> str:
    # IEEE 754 bits, flipped so that unsigned order is numeric order (positive: set the sign
    # bit; negative: invert all), the usual trick for ordering doubles as bytes.
    bits = struct.unpack(">Q", struct.pack(">d", float(value)))[0]
    bits = (~bits & 0xFFFF_FFFF_FFFF_FFFF) if bits >> 63 else bits | (1 << 63)
    return f"{bits:016x}"


def index_of(job: Job) -> dict[str, Any]:
    """What the scripts need to keep the indexes (state sets, queue, leases, ...) right."""
    fields, _ = job_fields(job)
    index: dict[str, Any] = {
        k: fields.get(k) for k in ("state", "lease_until", "finished_at", "expires_at")
    }
    index.update(owner=job.owner, qp=queue_key(job), attempts=job.attempts)
    if job.idempotency_key is not None:
        index["idem"] = idempotency_field(job.owner, job.idempotency_key)
    return {k: v for k, v in index.items() if v is not None}


def idempotency_field(owner: str | None, key: str) -> str:
    # No owner and the empty owner share keys, as in SQLite's coalesce(owner, '').
    return f"{owner or ''}\n{key}"


def delivery_row(d: WebhookDelivery) -> dict[str, str]:
    row = {
        "job_id": d.job_id,
        "url": d.url,
        "event": d.event.value,
        "headers": dumps(dict(d.headers)),
        "attempts": str(d.attempts),
        "next_attempt_at": number(d.next_attempt_at),
        "created_at": number(d.created_at),
    }
    if d.last_error is not None:
        row["last_error"] = d.last_error
    return row


def delivery_from_fields(raw: Mapping[bytes, bytes]) -> WebhookDelivery:
    v = {_text(k): x for k, x in raw.items()}

    def t(name: str) -> str:
        return _text(v[name])

    return WebhookDelivery(
        id=int(t("id")),
        job_id=t("job_id"),
        url=t("url"),
        event=WebhookEvent(t("event")),
        body=bytes(v["body"]),
        headers=json.loads(t("headers")),
        attempts=int(t("attempts")),
        next_attempt_at=float(t("next_attempt_at")),
        created_at=float(t("created_at")),
        last_error=_text(v["last_error"]) if "last_error" in v else None,
    )


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
