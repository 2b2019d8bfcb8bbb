"""Authentication: HTTP Basic (as `curl -u admin:secret` sends it) and `Authorization: Bearer
<key>`. There are no default credentials; with none configured every request is anonymous and
`serve` refuses to listen beyond loopback.

Comparisons are constant-time and run against every configured credential, so the time taken
says nothing about which one (or which part of one) was close.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from server.config import AuthConfig

PRINCIPAL = web.RequestKey("principal", str)  # absent: anonymous (auth disabled)
REALM = 'Basic realm="reelfarm", charset="UTF-8"'
# Never behind auth: probes must work without credentials.
PUBLIC_PATHS = frozenset({"/healthz", "/readyz"})
METRICS_PATH = "/metrics"


@dataclass(frozen=True)
class Principal:
    """Who is calling: `id` is stored as the job's owner (never the secret itself)."""

    id: str


class Authenticator:
    """Checks credentials against the live `[auth]` config (SIGHUP swaps it)."""

    def __init__(self, config: AuthConfig):
        self.reconfigure(config)

    def reconfigure(self, config: AuthConfig) -> None:
        self.config = config
        self._basic = [(user.partition(":")[0], user.encode()) for user in config.basic_users]
        self._keys = [(key.encode(), _key_id(key)) for key in config.api_keys]
        self._operators = frozenset(
            [f"user:{name}" for name in config.admin_users]
            + [f"key:{_key_id(key)}" for key in config.admin_keys]
        )

    @property
    def enabled(self) -> bool:
        return self.config.enabled

    def is_operator(self, principal_id: str | None) -> bool:
        """Whether the caller sees every client's jobs in the console. Without auth every
        caller is anonymous and, as in the API, sees everything."""
        return principal_id is None or principal_id in self._operators

    def authenticate(self, header: str | None) -> Principal | None:
        if not header:
            return None
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() == "basic" and value:
            return self._check_basic(value.strip())
        if scheme.lower() == "bearer" and value:
            return self._check_key(value.strip())
        # Runpod's clients send the bare key as the whole header.
        return self._check_key(header.strip())

    def _check_basic(self, encoded: str) -> Principal | None:
        try:
            given = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            return None
        found: Principal | None = None
        for name, expected in self._basic:
            if hmac.compare_digest(given, expected):
                found = Principal(f"user:{name}")
        return found

    def _check_key(self, token: str) -> Principal | None:
        given = token.encode()
        found: Principal | None = None
        for expected, key_id in self._keys:
            if hmac.compare_digest(given, expected):
                found = Principal(f"key:{key_id}")
        return found


def _key_id(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:12]


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def middleware(
    authenticator: Authenticator, on_refused: Callable[[web.Request], None] = lambda r: None
) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not authenticator.enabled or request.path in PUBLIC_PATHS:
            return await handler(request)
        if request.path == METRICS_PATH and not authenticator.config.metrics_require_auth:
            return await handler(request)
        principal = authenticator.authenticate(request.headers.get("Authorization"))
        if principal is None:
            on_refused(request)
            return web.json_response(
                {"success": False, "error": "authentication required"},
                status=401,
                headers={"WWW-Authenticate": REALM},
            )
        request[PRINCIPAL] = principal.id
        return await handler(request)

    return authenticate


def principal_of(request: web.Request) -> str | None:
    """The caller's id, or None when auth is disabled."""
    return request.get(PRINCIPAL)
