"""Who is looking at the console, what they may see, and the guard on its actions.

An operator (`[auth] admin_users` / `admin_keys`, or anyone when auth is off) sees every
client's jobs; any other caller sees only its own, as in the API. Actions are refused unless
they come from the console's own page: a custom header (which a cross-site form cannot send,
and a cross-site script may send only after a CORS preflight the server never approves) and,
when the browser says where the request comes from, an origin that is this server.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import web

from server.auth import principal_of
from server.errors import JobNotFound
from server.jobs import Job
from server.service import visible_to
from server.state import AUTH, SERVICE

# Sent by the console's scripts with every action.
ACTION_HEADER = "X-Reelfarm-Console"
SAME_SITE_FETCHES = frozenset({"same-origin", "none"})


@dataclass(frozen=True, slots=True)
class Viewer:
    principal: str | None  # None: auth is off
    operator: bool

    @property
    def owner_filter(self) -> str | None:
        """The owner to list for: None (everyone's) for an operator."""
        return None if self.operator else self.principal

    def may_see(self, job: Job) -> bool:
        return self.operator or visible_to(job, self.principal)

    @property
    def key(self) -> str:
        """Viewers with the same key see the same jobs (one encoded push per key)."""
        return "*" if self.operator else f"owner:{self.principal}"


def viewer_of(request: web.Request) -> Viewer:
    principal = principal_of(request)
    return Viewer(principal, request.app[AUTH].is_operator(principal))


async def visible_job(request: web.Request, viewer: Viewer) -> Job:
    """The job named in the path, if this viewer may see it; else 404 (ids stay secret)."""
    job_id = request.match_info["id"]
    job = await request.app[SERVICE].get(job_id)
    if job is None or not viewer.may_see(job):
        raise JobNotFound(job_id)
    return job


def check_same_origin(request: web.Request) -> None:
    """403 for an action that did not come from this server's own console page."""
    if request.headers.get(ACTION_HEADER) != "1":
        raise web.HTTPForbidden(text=f"console actions need the {ACTION_HEADER} header")
    origin = request.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc != request.host:
        raise web.HTTPForbidden(text="cross-site request refused")
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site not in SAME_SITE_FETCHES:
        raise web.HTTPForbidden(text="cross-site request refused")
