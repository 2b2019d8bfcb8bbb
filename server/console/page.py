"""The page itself: its HTML, its static files (shipped in the package, read once), and its
push stream. Every answer carries a Content-Security-Policy that allows only this server's
own scripts, styles and media: no inline script, no other host."""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from server.console.access import viewer_of
from server.console.farm import overview_for, read_farm
from server.console.feed import KEEPALIVE_S, RECONNECT_MS, sse
from server.console.state import FEED

STATIC_DIR = Path(__file__).parent / "static"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; connect-src 'self'; font-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".png": "image/png"}


@dataclass(frozen=True, slots=True)
class StaticFile:
    body: bytes
    content_type: str
    etag: str


def load_static() -> dict[str, StaticFile]:
    files = {}
    for path in sorted(STATIC_DIR.iterdir()):
        if path.is_file():
            body = path.read_bytes()
            kind = TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            files[path.name] = StaticFile(body, kind or "application/octet-stream", etag)
    return files


STATIC = web.AppKey("console_static", dict[str, StaticFile])


async def index(request: web.Request) -> web.Response:
    page = request.app[STATIC]["index.html"]
    return web.Response(
        body=page.body,
        content_type="text/html",
        charset="utf-8",
        headers={**SECURITY_HEADERS, "Cache-Control": "no-store"},
    )


async def static(request: web.Request) -> web.Response:
    found = request.app[STATIC].get(request.match_info["name"])
    if found is None or found.content_type == "text/html":
        raise web.HTTPNotFound(text="no such console file")
    headers = {**SECURITY_HEADERS, "ETag": found.etag, "Cache-Control": "no-cache"}
    if request.headers.get("If-None-Match") == found.etag:
        return web.Response(status=304, headers=headers)
    return web.Response(body=found.body, content_type=found.content_type, headers=headers)


async def feed(request: web.Request) -> web.StreamResponse:
    """One Server-Sent Events stream for one open page: the overview at once, then every
    change it may see (`server.console.feed`)."""
    viewer = viewer_of(request)
    console_feed = request.app[FEED]
    response = web.StreamResponse(
        headers={
            **SECURITY_HEADERS,
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",  # a buffering proxy would hold the events back
        }
    )
    await response.prepare(request)
    subscription = console_feed.subscribe(viewer)
    try:
        first = overview_for(await read_farm(request.app), viewer, console_feed.memory)
        subscription.last_overview = sse("overview", first)
        await response.write(f"retry: {RECONNECT_MS}\n\n".encode() + subscription.last_overview)
        while True:
            try:
                message = await asyncio.wait_for(subscription.queue.get(), KEEPALIVE_S)
            except TimeoutError:
                message = b": keepalive\n\n"
            if message is None:
                break
            await response.write(message)
    except (ConnectionResetError, ConnectionError):
        pass  # the page went away
    finally:
        console_feed.unsubscribe(subscription)
    return response
