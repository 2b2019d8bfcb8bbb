"""Running the server: bind, then wait for signals. Signal handlers only set events.

SIGTERM / SIGINT: stop starting renders, let running ones finish for `shutdown_grace_s`,
requeue what is still running (its attempt given back), close, exit 0.
SIGHUP: re-read the config file and environment and apply the tunables — pool size, admission
gates, auth keys, limits, webhooks, logging — without dropping a job. Keys that need a restart
(host, port, storage, encoder, assets) are reported, not applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
import threading
from pathlib import Path

from aiohttp import web

from server import logs
from server.app import create_app, pool_size
from server.config import Config, ConfigError, load_config, redacted_url
from server.logs import EventLog
from server.state import ADMISSION, AUTH, CONFIG_PATH, POOL, SCHEDULER, SERVICE
from server.store import StoreUnsafe
from server.store.sqlite import StoreLocked

# Sections whose changes need a restart to take effect.
RESTART_ONLY = ("storage", "encoder", "assets")


class StartupError(Exception):
    """The server could not start (data dir locked, port in use…); one clear line, and the
    exit status: 2 when the config is what is wrong (a Redis that would lose jobs)."""

    def __init__(self, message: str, exit_code: int = 1):
        self.exit_code = exit_code
        super().__init__(message)


async def run(config: Config, config_path: Path | None) -> None:
    log = EventLog()
    app = create_app(config, config_path=config_path)
    # Handlers still running after the drain get this long before they are cancelled.
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=5.0)
    try:
        await runner.setup()
    except StoreLocked as exc:
        raise StartupError(str(exc)) from None
    except StoreUnsafe as exc:
        raise StartupError(str(exc), exit_code=2) from None
    preparing: threading.Event | None = None
    try:
        site = web.TCPSite(runner, config.server.host, config.server.port, backlog=1024)
        try:
            await site.start()
        except OSError as exc:
            raise StartupError(
                f"cannot listen on {config.server.host}:{config.server.port}: {exc.strerror}"
            ) from None
        # Everything alive now (modules, the app, the warm pool's bookkeeping) lives as long as
        # the process: moved out of the collector's sight, a full collection no longer scans
        # it, which took 40-110 ms pauses out of request latency under load (measured).
        gc.freeze()
        preparing = _prepare_themes(config, app)
        address = runner.addresses[0]
        shared = ""
        if config.storage.backend == "redis":
            shared = f"node {app[SERVICE].node_id} on {redacted_url(config.storage.redis_url)}, "
        log.emit(
            "server.listening",
            f"Reelfarm listening on http://{config.server.host}:{address[1]} "
            f"({shared}data {config.storage.data_dir}, "
            f"{app[SCHEDULER].max_concurrent} render slot(s), "
            f"auth {'on' if config.auth.enabled else 'off: loopback only'})",
            host=config.server.host,
            port=address[1],
        )
        await _wait_for_signals(app)
        grace = app[SERVICE].config.server.shutdown_grace_s
        log.emit(
            "server.stopping",
            f"Shutting down: no new renders; up to {grace:g}s for running ones",
            grace_s=grace,
        )
        await app[SCHEDULER].drain(grace)
    finally:
        if preparing is not None:
            preparing.set()  # the preparation stops between two files
        await runner.cleanup()
        log.emit("server.stopped", "Reelfarm stopped")


def _prepare_themes(config: Config, app: web.Application) -> threading.Event | None:
    """Start making the themes' effect masks and backgrounds in a background thread; the
    event returned stops it. None when `[themes] prepare_at_start` is off."""
    if not config.themes.prepare_at_start:
        return None
    from renderer import prewarm
    from renderer.ffmpeg import find_ffmpeg

    stop = threading.Event()
    cache_dir = app[SERVICE].asset_policy().cache_dir

    def prepare() -> None:
        try:
            ffmpeg = find_ffmpeg(config.encoder.ffmpeg).path
            prewarm.prepare_effects(config.themes.dirs, cache_dir, ffmpeg, stop=stop)
        except Exception as exc:  # a first render makes whatever this could not
            EventLog().warning("themes.prepare_failed", f"Preparing themes failed: {exc}")

    threading.Thread(target=prepare, name="prepare-themes", daemon=True).start()
    return stop


async def _wait_for_signals(app: web.Application) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    reload_requested = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGHUP, reload_requested.set)
    try:
        while not stop.is_set():
            stopping = asyncio.ensure_future(stop.wait())
            reloading = asyncio.ensure_future(reload_requested.wait())
            await asyncio.wait({stopping, reloading}, return_when=asyncio.FIRST_COMPLETED)
            for waiter in (stopping, reloading):
                waiter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await waiter
            if reload_requested.is_set() and not stop.is_set():
                reload_requested.clear()
                await reload(app)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)


async def reload(app: web.Application) -> bool:
    """Re-read the config and apply what can change live; False (and the old config kept)
    when the new one is invalid."""
    log = EventLog()
    path = app[CONFIG_PATH] or None
    try:
        new = load_config(path)
    except ConfigError as exc:
        for problem in exc.problems:
            log.error("config.invalid", f"Reload refused, config kept: {problem}")
        return False
    service = app[SERVICE]
    old = service.config
    ignored = [s for s in RESTART_ONLY if getattr(old, s) != getattr(new, s)]
    if (old.server.host, old.server.port) != (new.server.host, new.server.port):
        ignored.append("server.host/port")
    if old.server.node_id != new.server.node_id:
        ignored.append("server.node_id")
    if ignored:
        log.warning(
            "config.restart_needed",
            f"Changes to {', '.join(ignored)} take effect after a restart",
        )
        new = _keep(old, new)
    logs.configure(new.server.log_format, new.server.log_level)
    service.reconfigure(new)
    app[AUTH].reconfigure(new.auth)
    app[ADMISSION].reconfigure(new.admission)
    slots, threads = await asyncio.to_thread(pool_size, new)
    pool = app[POOL]
    if slots != pool.size:
        await pool.resize(slots, threads_per_render=threads)
    app[SCHEDULER].wake()
    log.emit(
        "config.reloaded",
        f"Config reloaded ({slots} render slot(s), {len(new.auth.basic_users)} user(s), "
        f"{len(new.auth.api_keys)} key(s))",
        slots=slots,
    )
    return True


def _keep(old: Config, new: Config) -> Config:
    """`new` with the restart-only parts of `old`."""
    import dataclasses

    kept = {s: getattr(old, s) for s in RESTART_ONLY}
    server = dataclasses.replace(
        new.server, host=old.server.host, port=old.server.port, node_id=old.server.node_id
    )
    return dataclasses.replace(new, server=server, **kept)
