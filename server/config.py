"""Operator configuration: `config.toml` parsed once into frozen, typed sections.

Every key can be overridden by `REELFARM_<SECTION>_<KEY>` (e.g. `REELFARM_POOL_MAX_CONCURRENT=3`).
Nothing reads the file or the environment after start-up: the parsed `Config` is passed around.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from server.outputs.settings import OutputsConfig, nest_subtables, outputs_problems

# Leases are renewed every third of them; below this a busy event loop could miss renewals.
MIN_LEASE_S = 3.0
NODE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class ConfigError(ValueError):
    """Every problem found in a config, one line each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    # Base of the URLs handed to clients (videoUrl, webhooks); defaults to http://host:port.
    public_url: str = ""
    # Django contract: answer POST /api/reels/ at once with 202 instead of waiting.
    async_processing: bool = False
    # Django sync mode waits at most this long, then answers 202 with the job id.
    sync_wait_s: float = 600.0
    max_body_mb: float = 20.0
    log_format: Literal["plain", "json"] = "plain"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    shutdown_grace_s: float = 30.0
    # This process's name among the nodes sharing a store; "auto" = hostname-pid-random.
    node_id: str = "auto"


@dataclass(frozen=True)
class AuthConfig:
    basic_users: tuple[str, ...] = ()  # "name:password"
    api_keys: tuple[str, ...] = ()
    metrics_require_auth: bool = False
    # Concurrent renders one API key (or Basic user) may hold; 0 means no limit.
    per_key_max_concurrent: int = 0
    # Operators: they see and act on every client's jobs in the console. Names of
    # `basic_users`, and keys among `api_keys`; everyone else sees only their own jobs.
    admin_users: tuple[str, ...] = ()
    admin_keys: tuple[str, ...] = ()

    @property
    def enabled(self) -> bool:
        return bool(self.basic_users or self.api_keys)


@dataclass(frozen=True)
class PoolConfig:
    max_concurrent: int | Literal["auto"] = "auto"
    render_timeout_s: float = 900.0
    render_threads: int | Literal["auto"] = "auto"
    max_attempts: int = 3
    # Workers run at this niceness so the API answers quickly while every core renders.
    worker_nice: int = 10
    # A render's lease lasts this long without a heartbeat; a dead node's jobs return to the
    # queue about this long after it stopped renewing.
    lease_s: float = 30.0


@dataclass(frozen=True)
class AdmissionConfig:
    max_queue: int = 1000
    cpu_high_percent: float = 95.0
    min_free_memory_mb: int = 512
    min_free_disk_mb: int = 1024
    queue_ttl_s: float = 86_400.0
    max_duration_s: float = 300.0


@dataclass(frozen=True)
class EncoderConfig:
    prefer: tuple[str, ...] = ("h264_nvenc", "libx264")
    ffmpeg: str = "auto"
    quality: Literal["draft", "standard", "high"] = "standard"


@dataclass(frozen=True)
class StorageConfig:
    backend: Literal["sqlite", "redis"] = "sqlite"
    data_dir: Path = Path("data")
    redis_url: str = "redis://127.0.0.1:6379/0"
    retention_h: float = 72.0


@dataclass(frozen=True)
class WebhooksConfig:
    secret: str = ""
    max_attempts: int = 6
    timeout_s: float = 10.0
    allow_private_targets: bool = False
    # Retry n waits backoff_base_s * 2^(n-1) (±20 % jitter), at most backoff_max_s.
    backoff_base_s: float = 2.0
    backoff_max_s: float = 300.0


@dataclass(frozen=True)
class AssetsConfig:
    allowed_dirs: tuple[Path, ...] = ()
    max_bytes: int = 200 * 1024 * 1024
    download_timeout_s: float = 60.0
    allow_private_urls: bool = False
    cache_dir: Path | None = None  # default: <data_dir>/cache


@dataclass(frozen=True)
class ThemesConfig:
    dirs: tuple[Path, ...] = (Path("themes"),)
    # Make every theme's effect masks and backgrounds for the format sizes at start-up, in the
    # background, so no first render of a theme waits for them.
    prepare_at_start: bool = True


@dataclass(frozen=True)
class RunpodConfig:
    endpoint_id: str = "reelfarm"
    requests_per_s: float = 50.0
    default_ttl_s: float = 86_400.0


@dataclass(frozen=True)
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    auth: AuthConfig = field(default_factory=AuthConfig)
    pool: PoolConfig = field(default_factory=PoolConfig)
    admission: AdmissionConfig = field(default_factory=AdmissionConfig)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    webhooks: WebhooksConfig = field(default_factory=WebhooksConfig)
    assets: AssetsConfig = field(default_factory=AssetsConfig)
    themes: ThemesConfig = field(default_factory=ThemesConfig)
    runpod: RunpodConfig = field(default_factory=RunpodConfig)
    outputs: OutputsConfig = field(default_factory=OutputsConfig)

    @property
    def public_url(self) -> str:
        return (self.server.public_url or f"http://{self.server.host}:{self.server.port}").rstrip(
            "/"
        )

    @property
    def cache_dir(self) -> Path:
        return self.assets.cache_dir or self.storage.data_dir / "cache"

    def as_dict(self) -> dict[str, Any]:
        """The effective config, secrets masked (for `check-config` and logs)."""
        out = json.loads(json.dumps(dataclasses.asdict(self), default=str))
        if out["webhooks"]["secret"]:
            out["webhooks"]["secret"] = "***"  # noqa: S105 (a mask, not a secret)
        out["auth"]["basic_users"] = [u.split(":", 1)[0] + ":***" for u in self.auth.basic_users]
        out["auth"]["api_keys"] = ["***" for _ in self.auth.api_keys]
        out["auth"]["admin_keys"] = ["***" for _ in self.auth.admin_keys]
        out["storage"]["redis_url"] = redacted_url(self.storage.redis_url)
        return out


def redacted_url(url: str) -> str:
    """`url` with its password masked, for logs and `check-config`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = f"{parts.username}:" if parts.username else ":"
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}***@{host}"))


SECTIONS: dict[str, type] = {f.name: typing.get_type_hints(Config)[f.name] for f in fields(Config)}


def load_config(
    path: str | Path | None = None,
    *,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """File, then environment, then explicit overrides (tests build config from a dict)."""
    raw: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ConfigError([f"{path}: file not found"]) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError([f"{path}: not valid TOML: {exc}"]) from None
    for key, value in (environ if environ is not None else os.environ).items():
        if not key.startswith("REELFARM_"):
            continue
        section, _, name = key[len("REELFARM_") :].lower().partition("_")
        if section not in SECTIONS:
            continue
        raw.setdefault(section, {})[name] = _from_env(value)
    for section, values in (overrides or {}).items():
        raw.setdefault(section, {}).update(values)

    built: dict[str, Any] = {}
    for section, values in raw.items():
        if section not in SECTIONS:
            problems.append(f"[{section}]: unknown section")
            continue
        if not isinstance(values, dict):
            problems.append(f"[{section}]: must be a table")
            continue
        built[section] = _build_section(section, SECTIONS[section], values, problems)
    if problems:
        raise ConfigError(problems)
    config = Config(**built)
    _check(config, problems)
    if problems:
        raise ConfigError(problems)
    return config


def _from_env(value: str) -> Any:
    # Environment values are strings; accept TOML literals so lists and numbers work too.
    try:
        return tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        return value


def _build_section(name: str, cls: type, values: dict[str, Any], problems: list[str]) -> Any:
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    subtables = {key for key, hint in hints.items() if dataclasses.is_dataclass(hint)}
    for key, value in nest_subtables(values, subtables).items():
        if key not in hints:
            problems.append(f"{name}.{key}: unknown key")
            continue
        if key in subtables:  # `[outputs.s3]`: a table of its own
            if isinstance(value, dict):
                kwargs[key] = _build_section(f"{name}.{key}", hints[key], value, problems)
            else:
                problems.append(f"{name}.{key}: must be a table")
            continue
        try:
            kwargs[key] = _coerce(hints[key], value)
        except (TypeError, ValueError) as exc:
            problems.append(f"{name}.{key}: {exc}")
    return cls(**kwargs)


def _coerce(hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is Literal:
        if value not in args:
            raise ValueError(f"must be one of {', '.join(map(repr, args))}, not {value!r}")
        return value
    if origin in (typing.Union, types.UnionType):
        errors = []
        for arg in args:
            if arg is type(None) and value is None:
                return None
            try:
                return _coerce(arg, value)
            except (TypeError, ValueError) as exc:
                errors.append(str(exc))
        raise ValueError(" or ".join(errors))
    if origin is tuple:
        if isinstance(value, str):
            value = [v for v in value.split(",") if v]
        if not isinstance(value, list):
            raise ValueError("must be a list")
        return tuple(_coerce(args[0], v) for v in value)
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
            return value.lower() in ("true", "1")
        raise ValueError(f"must be true or false, not {value!r}")
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError(f"must be an integer, not {value!r}")
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"must be an integer, not {value!r}") from None
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError(f"must be a number, not {value!r}")
        try:
            return float(value)
        except ValueError:
            raise ValueError(f"must be a number, not {value!r}") from None
    if hint is str:
        if not isinstance(value, str):
            raise ValueError(f"must be a string, not {value!r}")
        return value
    if hint is Path:
        if not isinstance(value, str | Path):
            raise ValueError(f"must be a path, not {value!r}")
        return Path(value)
    raise TypeError(f"unsupported type {hint!r}")


def _check(config: Config, problems: list[str]) -> None:
    def positive(section: str, key: str, value: float, minimum: float = 0) -> None:
        if value <= minimum:
            problems.append(f"{section}.{key}: must be > {minimum:g}")

    if not 0 < config.server.port < 65536 and config.server.port != 0:
        problems.append("server.port: must be 0..65535")
    if isinstance(config.pool.max_concurrent, int):
        positive("pool", "max_concurrent", config.pool.max_concurrent)
    if isinstance(config.pool.render_threads, int):
        positive("pool", "render_threads", config.pool.render_threads)
    positive("pool", "render_timeout_s", config.pool.render_timeout_s)
    positive("pool", "max_attempts", config.pool.max_attempts)
    if config.pool.lease_s < MIN_LEASE_S:
        problems.append(f"pool.lease_s: must be at least {MIN_LEASE_S:g}")
    positive("admission", "max_queue", config.admission.max_queue)
    positive("admission", "queue_ttl_s", config.admission.queue_ttl_s)
    positive("admission", "max_duration_s", config.admission.max_duration_s)
    if not 0 < config.admission.cpu_high_percent <= 100:
        problems.append("admission.cpu_high_percent: must be in (0, 100]")
    positive("webhooks", "max_attempts", config.webhooks.max_attempts)
    positive("webhooks", "timeout_s", config.webhooks.timeout_s)
    positive("assets", "max_bytes", config.assets.max_bytes)
    for i, user in enumerate(config.auth.basic_users):
        name, sep, password = user.partition(":")
        if not (name and sep and password):
            problems.append(f"auth.basic_users[{i}]: must be 'name:password'")
    for i, key in enumerate(config.auth.api_keys):
        if len(key) < 16:
            problems.append(f"auth.api_keys[{i}]: must be at least 16 characters")
    problems.extend(_admin_problems(config.auth))
    bad = set(config.encoder.prefer) - {"h264_nvenc", "libx264"}
    if bad:
        problems.append(f"encoder.prefer: unknown encoder(s) {', '.join(sorted(bad))}")
    if config.storage.backend == "redis" and not config.storage.redis_url:
        problems.append("storage.redis_url: required when backend = 'redis'")
    if config.server.node_id != "auto" and not NODE_ID.fullmatch(config.server.node_id):
        problems.append('server.node_id: must be "auto" or 1-64 letters, digits, ".", "_" or "-"')
    if config.server.public_url and not config.server.public_url.startswith(
        ("http://", "https://")
    ):
        problems.append("server.public_url: must start with http:// or https://")
    positive("storage", "retention_h", config.storage.retention_h)
    problems.extend(outputs_problems(config.outputs))


def _admin_problems(auth: AuthConfig) -> list[str]:
    """An operator must be a credential that exists: a typo would otherwise leave the console
    without the operator it was meant for, silently."""
    users = {user.partition(":")[0] for user in auth.basic_users}
    problems = [
        f"auth.admin_users[{i}]: {name!r} is not a user of auth.basic_users"
        for i, name in enumerate(auth.admin_users)
        if name not in users
    ]
    problems += [
        f"auth.admin_keys[{i}]: not one of auth.api_keys"
        for i, key in enumerate(auth.admin_keys)
        if key not in auth.api_keys
    ]
    return problems
