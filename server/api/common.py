"""Helpers every adapter uses: the service, the caller, JSON bodies and query parameters."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from scenes import FieldError
from server.auth import principal_of
from server.errors import JobNotFound, Unavailable, ValidationFailed
from server.jobs import Job, JobState
from server.outputs import OutputError
from server.outputs.base import SUBTITLE_CONTENT_TYPES
from server.service import JobService, visible_to
from server.state import SERVICE

MAX_PAGE = 200
# Paging stops here: far past any real listing, and small enough for every store's OFFSET.
MAX_OFFSET = 10**9
# How answers about a job's stored files name them.
FILE_WORDS = {"captions_vtt": "WebVTT captions", "captions_srt": "SRT captions"}


def service_of(request: web.Request) -> JobService:
    return request.app[SERVICE]


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object, or a 400 naming `body`. Its size is bounded by the app's
    `client_max_size` (413 past `[server] max_body_mb`)."""
    raw = await request.read()
    if not raw.strip():
        raise ValidationFailed([FieldError("body", "required: a JSON object")], "empty body")
    try:
        data = json.loads(raw)
    except UnicodeDecodeError:
        raise ValidationFailed(
            [FieldError("body", "must be UTF-8 JSON")], "malformed JSON"
        ) from None
    except json.JSONDecodeError as exc:
        raise ValidationFailed(
            [
                FieldError(
                    "body", f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
                )
            ],
            "malformed JSON",
        ) from None
    except RecursionError:
        raise ValidationFailed(
            [FieldError("body", "JSON nested too deeply")], "malformed JSON"
        ) from None
    if not isinstance(data, dict):
        raise ValidationFailed([FieldError("body", "must be a JSON object")], "invalid request")
    return data


async def load_job(request: web.Request, job_id: str) -> Job:
    """The job, if it exists and the caller may see it; else 404 (never 403: ids stay secret)."""
    job = await service_of(request).get(job_id)
    if job is None or not visible_to(job, principal_of(request)):
        raise JobNotFound(job_id)
    return job


def int_param(request: web.Request, name: str, default: int, lo: int, hi: int) -> int:
    """The query parameter `name` as an integer in lo..hi; `default` when it is absent. Present
    but empty (`?limit=`) is refused like any other non-integer."""
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationFailed([FieldError(name, "must be an integer")]) from None
    if not lo <= value <= hi:
        raise ValidationFailed([FieldError(name, f"must be between {lo} and {hi}")])
    return value


def bool_param(request: web.Request, name: str) -> bool | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    lowered = raw.strip().lower()
    if lowered in ("", "1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValidationFailed([FieldError(name, "must be true or false")])


def idempotency_key(request: web.Request) -> str | None:
    return request.headers.get("Idempotency-Key")


async def stored_file(request: web.Request, job: Job, kind: str) -> web.StreamResponse:
    """A completed job's `kind` file ("video", "poster", "captions_vtt", "captions_srt"): the
    file itself, or a redirect to where its outputs store keeps it. The caller has checked who
    may see `job`."""
    name = (job.result or {}).get(f"{kind}_file")
    what = FILE_WORDS.get(kind, kind)
    if job.state is not JobState.COMPLETED or not name:
        raise JobNotFound(job.id, f"job {job.id} has no {what} (status: {job.state.value})")
    try:
        found = await service_of(request).outputs_for(job).download(job.id, name)
    except OutputError as exc:
        raise Unavailable(f"the {what} of job {job.id} cannot be reached now: {exc}") from None
    if found is None:
        raise JobNotFound(job.id, f"the {what} of job {job.id} is no longer stored")
    if found.url is not None:
        # A short-lived presigned URL: never cached past its own expiry.
        raise web.HTTPFound(found.url, headers={"Cache-Control": "no-store"})
    assert found.path is not None
    headers = {"Cache-Control": "private, max-age=3600"}
    subtitle_type = SUBTITLE_CONTENT_TYPES.get(found.path.suffix.lower())
    if subtitle_type is not None:
        # FileResponse would guess from the system's MIME table, which lacks .srt or calls it
        # text/plain, and would leave the charset out.
        headers["Content-Type"] = subtitle_type
    return web.FileResponse(found.path, headers=headers)
