"""Submit-time checks: everything that can be refused without the network is refused before a
job is stored, each problem naming the client's field."""

from __future__ import annotations

import json
import time
from typing import Any

import scenes
import themes
from renderer.assets import check_sources
from renderer.types import AssetPolicy
from server.config import Config
from server.webhooks import check_target_url

MAX_METADATA_BYTES = 16 * 1024
MAX_IDEMPOTENCY_KEY_CHARS = 200
MAX_PRIORITY = 9
# A theme that loaded is not re-read for this long while submissions pour in.
THEME_CHECK_TTL_S = 5.0


def asset_policy(config: Config) -> AssetPolicy:
    """The renderer's AssetPolicy from `[assets]` (the same one the workers render with)."""
    assets = config.assets
    return AssetPolicy(
        allowed_dirs=assets.allowed_dirs,
        max_bytes=assets.max_bytes,
        download_timeout_s=assets.download_timeout_s,
        allow_private_urls=assets.allow_private_urls,
        cache_dir=config.cache_dir,
    )


def check_idempotency_key(key: str) -> list[scenes.FieldError]:
    if not key or len(key) > MAX_IDEMPOTENCY_KEY_CHARS:
        return [
            scenes.FieldError(
                "Idempotency-Key", f"must be 1-{MAX_IDEMPOTENCY_KEY_CHARS} characters"
            )
        ]
    return []


def check_envelope(
    config: Config,
    webhook_url: object,
    priority: object,
    metadata: object,
    names: dict[str, str],
) -> list[scenes.FieldError]:
    """The fields beside the spec; `names` maps ours to the client's (`webhookUrl`)."""
    errors = []
    if webhook_url is not None:
        problem = check_target_url(webhook_url, allow_private=config.webhooks.allow_private_targets)
        if problem:
            errors.append(scenes.FieldError(names["webhook_url"], problem))
    if (
        isinstance(priority, bool)
        or not isinstance(priority, int)
        or not 0 <= priority <= MAX_PRIORITY
    ):
        errors.append(scenes.FieldError(names["priority"], f"must be an integer 0-{MAX_PRIORITY}"))
    if metadata is not None:
        if not isinstance(metadata, dict):
            errors.append(scenes.FieldError(names["metadata"], "must be a JSON object"))
        elif len(json.dumps(metadata, default=str)) > MAX_METADATA_BYTES:
            errors.append(
                scenes.FieldError(
                    names["metadata"], f"must be at most {MAX_METADATA_BYTES} bytes as JSON"
                )
            )
    return errors


class SpecChecker:
    """Shape, ranges, theme, local paths and literal private URL hosts. `check` may stat
    files: call it off the event loop."""

    def __init__(self) -> None:
        # Theme name -> until when its last successful load counts. Bounded: only names of
        # themes that exist are remembered.
        self._theme_checked: dict[str, float] = {}

    def check(self, config: Config, spec: object) -> list[scenes.FieldError]:
        try:
            parsed = scenes.parse_spec(spec, max_duration_s=config.admission.max_duration_s)
        except scenes.SpecError as exc:
            # Report an unknown theme alongside the other problems, not on the next attempt.
            errors = list(exc.errors)
            theme = spec.get("theme", "default") if isinstance(spec, dict) else None
            if isinstance(theme, str) and not any(e.path == "theme" for e in errors):
                errors += self._theme_errors(config, theme)
            return errors
        return self._theme_errors(config, parsed.theme) + check_sources(
            parsed, asset_policy(config)
        )

    def _theme_errors(self, config: Config, name: str) -> list[scenes.FieldError]:
        if self._theme_checked.get(name, 0.0) >= time.monotonic():
            return []
        try:
            themes.load_theme(name, config.themes.dirs)
        except themes.ThemeNotFound as exc:
            return [scenes.FieldError("theme", str(exc))]
        except themes.ThemeError as exc:
            return [scenes.FieldError("theme", f"theme cannot be used: {exc}")]
        self._theme_checked[name] = time.monotonic() + THEME_CHECK_TTL_S
        return []


def with_default_quality(spec: dict[str, Any], quality: str) -> dict[str, Any]:
    """`[encoder] quality` applies to specs that do not choose one themselves."""
    output = spec.get("output")
    if isinstance(output, dict) and "quality" in output:
        return spec
    return {**spec, "output": {**(output or {}), "quality": quality}}
