"""A real browser for the console's tests: Debian's Chromium driven headless by Playwright
(never a downloaded browser), and a real server on its own event loop in a thread, so one
server and one browser can serve a whole test module of plain (sync) tests.

    with ThreadedServer(tmp_dir, assets) as server, chromium() as browser:
        page = browser.new_page(http_credentials=...)
        page.goto(server.base_url + "/console")
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from playwright.sync_api import Browser, ConsoleMessage, Page, Request, sync_playwright

from support.serverkit import (
    Client,
    InProcessServer,
    base_overrides,
    config_from,
    free_port,
    merge,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
T = TypeVar("T")


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class ThreadedServer:
    """An in-process server on a loop of its own thread; `restart()` stops it and starts it
    again on the same port and data (the page must reconnect by itself)."""

    def __init__(self, data_dir: Path, assets: Path, extra: dict[str, Any] | None = None):
        self.port = free_port()
        self.data_dir = data_dir
        self.overrides = merge(base_overrides(data_dir, self.port, assets), extra or {})
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server: InProcessServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ThreadedServer:
        self._thread.start()
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.stop()
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)

    def run(self, make: Callable[[], Awaitable[T]], timeout_s: float = 90.0) -> T:
        """Run a coroutine on the server's loop and wait for its result."""

        async def wrapped() -> T:
            return await make()

        return asyncio.run_coroutine_threadsafe(wrapped(), self.loop).result(timeout_s)

    def start(self) -> None:
        config = config_from(self.overrides)
        self.server = self.run(lambda: InProcessServer.start(config))

    def stop(self) -> None:
        if self.server is not None:
            server, self.server = self.server, None
            self.run(server.stop)

    def restart(self) -> None:
        self.stop()
        self.start()

    def client(self, auth: str | None) -> Callable[..., Any]:
        """`call(method, path, json=...)` -> (status, body) as `auth`, on the server's loop."""

        def call(method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
            async def go() -> tuple[int, Any]:
                client = Client(self.base_url, auth)
                try:
                    status, body, _ = await client.request(method, path, **kwargs)
                    return status, body
                finally:
                    await client.close()

            return self.run(go)

        return call


class PageWatch:
    """Everything a page did that a test must be able to refuse: requests to another host,
    page errors, console errors, and dialogs it opened (an `alert` from injected script)."""

    def __init__(self, page: Page, base_url: str):
        self.host = urlsplit(base_url).netloc
        self.foreign: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.failed_responses: list[str] = []  # what a "Failed to load resource" was
        page.on("request", self._request)
        page.on(
            "response",
            lambda r: (
                self.failed_responses.append(f"{r.status} {r.url}") if r.status >= 400 else None
            ),
        )
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on("console", self._console)
        page.on("dialog", self._dialog)

    def _request(self, request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob"):
            return
        if parts.netloc != self.host:
            self.foreign.append(request.url)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()
