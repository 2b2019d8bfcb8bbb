"""The console's reads: the overview, the job list (filters, search by id), a job in full, and
a job's video and poster (for an operator too, whose key is not the job's owner)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

import scenes
from server.api.common import MAX_OFFSET, int_param, stored_file
from server.console.access import Viewer, viewer_of, visible_job
from server.console.deliveries import deliveries_of
from server.console.farm import overview_for, read_farm
from server.console.state import FEED
from server.console.views import job_detail, job_row
from server.errors import ValidationFailed
from server.jobs import Api, Job, JobState
from server.state import SERVICE, STORE

PAGE = 50
MAX_PAGE = 200
# A listing filtered by API reads the store a page at a time, up to this many jobs.
MAX_SCANNED = 5_000
SCAN_PAGE = 200


async def overview(request: web.Request) -> web.Response:
    state = await read_farm(request.app)
    memory = request.app[FEED].memory
    return _json(overview_for(state, viewer_of(request), memory))


async def list_jobs(request: web.Request) -> web.Response:
    viewer = viewer_of(request)
    state = _enum(request, "status", JobState)
    api = _enum(request, "api", Api)
    limit = int_param(request, "limit", PAGE, 1, MAX_PAGE)
    offset = int_param(request, "offset", 0, 0, MAX_OFFSET)
    owner = viewer.owner_filter
    wanted_owner = request.query.get("owner") or None
    if wanted_owner is not None:
        if not viewer.operator and wanted_owner != viewer.principal:
            return _json({"jobs": [], "total": 0, "limit": limit, "offset": offset})
        owner = wanted_owner
    memory = request.app[FEED].memory
    search = (request.query.get("q") or "").strip()
    if search:
        jobs = await _search(request, viewer, search)
        jobs = [j for j in jobs if _matches(j, state, api, owner)]
        return _json(_page([job_row(j, memory) for j in jobs], len(jobs), limit, offset))
    service = request.app[SERVICE]
    if api is None:
        jobs, total = await asyncio.gather(
            service.list(state=state, limit=limit, offset=offset, owner=owner),
            service.count(state=state, owner=owner),
        )
        return _json(_page([job_row(j, memory) for j in jobs], total, limit, offset))
    matched, scanned_all = await _scan_by_api(request, state, owner, api, limit + offset)
    rows = [job_row(j, memory) for j in matched[offset : offset + limit]]
    body = _page(rows, len(matched), limit, offset)
    body["total_is_lower_bound"] = not scanned_all
    return _json(body)


async def job(request: web.Request) -> web.Response:
    viewer = viewer_of(request)
    found = await visible_job(request, viewer)
    service = request.app[SERVICE]
    position = None
    if found.state is JobState.QUEUED:
        position = (await service.queue_info(found)).get("position")
    deliveries = await deliveries_of(request.app[STORE], found.id)
    return _json(job_detail(found, request.app[FEED].memory, position, deliveries))


async def video(request: web.Request) -> web.StreamResponse:
    return await _file(request, "video")


async def poster(request: web.Request) -> web.StreamResponse:
    return await _file(request, "poster")


async def captions_vtt(request: web.Request) -> web.StreamResponse:
    return await _file(request, "captions_vtt")


async def _file(request: web.Request, kind: str) -> web.StreamResponse:
    return await stored_file(request, await visible_job(request, viewer_of(request)), kind)


async def _search(request: web.Request, viewer: Viewer, job_id: str) -> list[Job]:
    found = await request.app[SERVICE].get(job_id)
    return [found] if found is not None and viewer.may_see(found) else []


async def _scan_by_api(
    request: web.Request, state: JobState | None, owner: str | None, api: Api, wanted: int
) -> tuple[list[Job], bool]:
    """Jobs of one API, newest first: the store lists by state and owner only."""
    service = request.app[SERVICE]
    matched: list[Job] = []
    for start in range(0, MAX_SCANNED, SCAN_PAGE):
        page = await service.list(state=state, limit=SCAN_PAGE, offset=start, owner=owner)
        matched += [j for j in page if j.api is api]
        if len(page) < SCAN_PAGE:
            return matched, True
        if len(matched) >= wanted:
            return matched, False
    return matched, False


def _matches(job: Job, state: JobState | None, api: Api | None, owner: str | None) -> bool:
    return (
        (state is None or job.state is state)
        and (api is None or job.api is api)
        and (owner is None or job.owner == owner)
    )


def _enum(request: web.Request, name: str, kind: type[Any]) -> Any:
    raw = request.query.get(name) or None
    if raw is None:
        return None
    try:
        return kind(raw)
    except ValueError:
        words = ", ".join(v.value for v in kind)
        raise ValidationFailed([scenes.FieldError(name, f"must be one of {words}")]) from None


def _page(rows: list[dict[str, Any]], total: int, limit: int, offset: int) -> dict[str, Any]:
    return {"jobs": rows, "total": total, "limit": limit, "offset": offset}


def _json(body: dict[str, Any]) -> web.Response:
    return web.json_response(body, headers={"Cache-Control": "no-store"})
