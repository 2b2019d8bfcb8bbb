"""The operator console: `GET /console`, one page served by Reelfarm itself.

The farm (nodes, slots, the admission gate, the queue), running renders with live progress,
finished and failed jobs, a job's story and its video, Cancel / Retry / purge, and a
playground that checks a spec and renders a small preview. Behind the API's auth; operators
(`[auth] admin_users` / `admin_keys`) see every job, any other caller only its own.

- `page`: the HTML, its static files (plain HTML/CSS/JS modules in `static/`) and the push
  stream (`feed`: Server-Sent Events fed by the job state machine);
- `reads` and `actions`: the page's JSON under `/console/data/`;
- `access`: who is an operator, what each viewer may see, the same-origin guard on actions.
"""

from __future__ import annotations

from aiohttp import web

from server.console import actions, page, reads
from server.console.feed import ConsoleFeed
from server.console.state import FEED
from server.console.views import NodeMemory
from server.state import SERVICE
from server.validation import SpecChecker

__all__ = ["setup"]


def setup(app: web.Application) -> None:
    """Register the console's routes and hang its feed on the job service."""
    console_feed = ConsoleFeed(app, NodeMemory())
    app[FEED] = console_feed
    app[page.STATIC] = page.load_static()
    app[actions.SPEC_CHECKER] = SpecChecker()
    app[SERVICE].on_state_change(console_feed.on_state_change)

    async def close_feed(_: web.Application) -> None:
        await console_feed.close()

    app.on_shutdown.append(close_feed)
    router = app.router
    router.add_get("/console", page.index)
    router.add_get("/console/", page.index)
    router.add_get("/console/static/{name}", page.static)
    router.add_get("/console/feed", page.feed)
    router.add_get("/console/data/overview", reads.overview)
    router.add_get("/console/data/jobs", reads.list_jobs)
    router.add_get("/console/data/jobs/{id}", reads.job)
    router.add_get("/console/data/jobs/{id}/video", reads.video)
    router.add_get("/console/data/jobs/{id}/poster", reads.poster)
    router.add_get("/console/data/jobs/{id}/captions.vtt", reads.captions_vtt)
    router.add_post("/console/data/jobs/{id}/cancel", actions.cancel)
    router.add_post("/console/data/jobs/{id}/retry", actions.retry)
    router.add_post("/console/data/purge", actions.purge)
    router.add_post("/console/data/validate", actions.validate)
    router.add_post("/console/data/preview", actions.preview)
