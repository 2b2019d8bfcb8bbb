"""The console's actions, by the API's rules: cancel (queued or rendering), retry (failed or
cancelled), purge the queue; and the playground's check and low-resolution preview. Each is
refused unless it comes from the console's own page (`access.check_same_origin`)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

import scenes
from server.api.common import read_json_object
from server.console.access import check_same_origin, viewer_of, visible_job
from server.console.state import FEED
from server.console.views import job_row
from server.errors import ValidationFailed
from server.jobs import Api
from server.state import SERVICE
from server.validation import SpecChecker

# The preview fits this box (a story's shape at a sixth of its size), at this frame rate.
PREVIEW_MAX_SIDE = 320
PREVIEW_MAX_FPS = 12
PREVIEW_METADATA = {"console": "preview"}
SPEC_CHECKER = web.AppKey("console_spec_checker", SpecChecker)


async def cancel(request: web.Request) -> web.Response:
    check_same_origin(request)
    found = await visible_job(request, viewer_of(request))
    done = await request.app[SERVICE].cancel(found.id)
    return web.json_response(job_row(done, request.app[FEED].memory))


async def retry(request: web.Request) -> web.Response:
    check_same_origin(request)
    found = await visible_job(request, viewer_of(request))
    again = await request.app[SERVICE].retry(found.id)
    return web.json_response(job_row(again, request.app[FEED].memory), status=202)


async def purge(request: web.Request) -> web.Response:
    """Every queued job an operator sees; an ordinary key's own queued jobs."""
    check_same_origin(request)
    viewer = viewer_of(request)
    purged = await request.app[SERVICE].purge_queued(owner=viewer.owner_filter)
    return web.json_response({"purged": purged})


async def validate(request: web.Request) -> web.Response:
    """The spec's problems, each with its field path, in the words the API uses."""
    check_same_origin(request)
    spec = await read_json_object(request)
    errors = await _check(request, spec)
    return web.json_response({"valid": not errors, "errors": [e.as_dict() for e in errors]})


async def preview(request: web.Request) -> web.Response:
    """Queue the spec scaled down (at most 320 px a side, 12 fps, draft) as the caller's job."""
    check_same_origin(request)
    spec = await read_json_object(request)
    errors = await _check(request, spec)
    if errors:
        raise ValidationFailed(errors)
    service = request.app[SERVICE]
    job = await service.submit(
        _scaled_down(spec),
        api=Api.NATIVE,
        owner=viewer_of(request).principal,
        metadata=dict(PREVIEW_METADATA),
    )
    return web.json_response(job_row(job, request.app[FEED].memory), status=202)


async def _check(request: web.Request, spec: dict[str, Any]) -> list[scenes.FieldError]:
    config = request.app[SERVICE].config
    # The check may stat local media files: off the event loop, as at submit.
    return await asyncio.to_thread(request.app[SPEC_CHECKER].check, config, spec)


def _scaled_down(spec: dict[str, Any]) -> dict[str, Any]:
    parsed = scenes.parse_spec(spec)
    width, height = parsed.size
    scale = min(1.0, PREVIEW_MAX_SIDE / max(width, height))
    small = dict(spec)
    small.pop("format", None)
    small["width"] = max(16, int(width * scale) // 2 * 2)
    small["height"] = max(16, int(height * scale) // 2 * 2)
    small["fps"] = min(parsed.fps, PREVIEW_MAX_FPS)
    small["output"] = {**(spec.get("output") or {}), "quality": "draft"}
    return small
