"""`reelfarm serve` and `reelfarm check-config`."""

from __future__ import annotations

import argparse
import ipaddress
import json
from pathlib import Path

from server.config import Config, ConfigError, load_config

DEFAULT_CONFIG = Path("config.toml")
EXIT_FAILED = 1  # the command itself failed: a render, the server's start-up
EXIT_INVALID = 2  # the spec, the config or the arguments are wrong, as argparse reports usage


class CommandError(Exception):
    """A command that cannot finish: its message (one problem per line), which the CLI prints,
    and the exit status it then exits with."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED):
        self.exit_code = exit_code
        super().__init__(message)


def config_path(arg: str | None) -> Path | None:
    """The --config file, else ./config.toml when present, else embedded defaults."""
    if arg:
        return Path(arg)
    return DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serving_problems(config: Config) -> list[str]:
    """What stops `serve` even though every key is well-formed."""
    problems = []
    if not config.auth.enabled and not is_loopback(config.server.host):
        problems.append(
            f"server.host: refusing to listen on {config.server.host} with no credentials: "
            'set auth.basic_users or auth.api_keys, or use host = "127.0.0.1"'
        )
    return problems


def load(arg: str | None) -> tuple[Config, Path | None]:
    path = config_path(arg)
    try:
        config = load_config(path)
    except ConfigError as exc:
        raise CommandError("\n".join(exc.problems), EXIT_INVALID) from None
    problems = serving_problems(config)
    if problems:
        raise CommandError("\n".join(problems), EXIT_INVALID)
    return config, path


def check_config(args: argparse.Namespace) -> int:
    config, path = load(args.config)
    print(f"# effective config ({path or 'embedded defaults'}, environment applied)")
    print(json.dumps(config.as_dict(), indent=2))
    return 0


def serve(args: argparse.Namespace) -> int:
    import asyncio  # here, not at the top: `reelfarm render` never needs the event loop

    from server import lifecycle, logs

    config, path = load(args.config)
    logs.configure(config.server.log_format, config.server.log_level)
    try:
        asyncio.run(lifecycle.run(config, path))
    except lifecycle.StartupError as exc:
        raise CommandError(str(exc), exc.exit_code) from None
    return 0
