"""The console's own state on the app."""

from __future__ import annotations

from aiohttp import web

from server.console.feed import ConsoleFeed

FEED = web.AppKey("console_feed", ConsoleFeed)
