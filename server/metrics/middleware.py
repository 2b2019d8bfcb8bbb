"""The aiohttp middleware that counts and times every request by its route template."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from prometheus_client import Counter, Histogram

from server.metrics.definitions import LabelGuard

# Requests that matched no route (404, and 405 from the router) share this route label.
UNMATCHED_ROUTE = "unmatched"


def request_metrics(requests: Counter, duration: Histogram) -> Middleware:
    """A middleware filling `requests{route, method, status}` and `duration{route, method}`.

    Install it outermost, so that it sees the status that really went out. The route label is
    the template (`/api/job-status/{jobId}`), never the raw path, so a job id is never a label.
    """
    route_label = LabelGuard([UNMATCHED_ROUTE])
    method_label = LabelGuard()
    status_label = LabelGuard()

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        except asyncio.CancelledError:
            # The client went away mid-request; 499 ("client closed request") rather than a
            # 500 that would read as a server fault.
            status = 499
            raise
        finally:
            route = route_label(route_template(request))
            method = method_label(request.method)
            requests.labels(route, method, status_label(status)).inc()
            duration.labels(route, method).observe(time.perf_counter() - started)

    return middleware


def route_template(request: web.Request) -> str:
    """The canonical path of the route that matched `request`, or `UNMATCHED_ROUTE`."""
    match_info = request.match_info
    if match_info.http_exception is not None:
        return UNMATCHED_ROUTE
    resource = match_info.route.resource
    if resource is None:
        return UNMATCHED_ROUTE
    return resource.canonical
