"""The application's state: one typed `web.AppKey` per resource `server.app` builds.

The API adapters reach the app's resources only through these keys, so they depend on this
module and never on `server.app` (which imports them to register their routes).
"""

from __future__ import annotations

from types import ModuleType

from aiohttp import web

from renderer.pool import WorkerPool
from server.admission import Admission
from server.auth import Authenticator
from server.config import Config
from server.metrics import Metrics
from server.nodes import NodeRegistry
from server.outage import StoreHealth
from server.scheduler import Scheduler
from server.service import JobService
from server.store import JobStore
from server.sweeper import Sweeper
from server.webhooks import WebhookSender

CONFIG = web.AppKey("config", Config)  # as loaded at start; the live one is SERVICE.config
CONFIG_PATH = web.AppKey("config_path", str)  # "" when built from defaults/overrides
STORE = web.AppKey("store", JobStore)
SERVICE = web.AppKey("service", JobService)
SCHEDULER = web.AppKey("scheduler", Scheduler)
POOL = web.AppKey("pool", WorkerPool)
ADMISSION = web.AppKey("admission", Admission)
METRICS = web.AppKey("metrics", Metrics)
AUTH = web.AppKey("auth", Authenticator)
WEBHOOKS = web.AppKey("webhooks", WebhookSender)
SWEEPER = web.AppKey("sweeper", Sweeper)
NODES = web.AppKey("nodes", NodeRegistry)  # this node in the shared registry
STORE_HEALTH = web.AppKey("store_health", StoreHealth)  # whether the store answers now
# The adapters registered, in order; `/openapi.json` is assembled from them.
MODULES = web.AppKey[tuple[ModuleType, ...]]("api_modules")
