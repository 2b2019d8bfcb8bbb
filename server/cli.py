"""`reelfarm` command line: parses arguments and turns errors into one clear line.

Rendering commands live in `server.render_commands`, serving ones in `server.commands`; each
imports what it drives only when it runs, so `reelfarm schema` does not load aiohttp or numpy.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from server.commands import CommandError

SERVING = ("serve", "check-config")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reelfarm", description="Render short videos from JSON.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    render = sub.add_parser("render", help="render a spec file to an MP4")
    render.add_argument("spec", help="spec JSON file ('-' for standard input)")
    render.add_argument("-o", "--output", required=True, help="output .mp4 path")
    render.add_argument("--size", help="override the size, WxH (e.g. 540x960)")
    render.add_argument("--preview", action="store_true", help="fast low-resolution draft")
    render.add_argument("--config", help="config.toml (encoder, themes, assets)")
    render.add_argument("--quiet", action="store_true", help="no progress bar")

    themes = sub.add_parser("themes", help="list themes, or draw a contact sheet of them")
    themes.add_argument("--sheet", metavar="OUT.png", help="write a contact sheet PNG")
    themes.add_argument("--config", help="config.toml (operator theme dirs)")

    probe = sub.add_parser("probe", help="FFmpeg, working encoders and GPU facts")
    probe.add_argument("--config", help="config.toml (encoder settings)")
    probe.add_argument("--json", action="store_true", help="machine-readable output")

    sub.add_parser("schema", help="print the spec's JSON Schema")

    serve = sub.add_parser("serve", help="run the render server")
    serve.add_argument("--config", help="config.toml (default: ./config.toml if present)")

    check = sub.add_parser("check-config", help="validate and print the effective config")
    check.add_argument("--config", help="config.toml (default: ./config.toml if present)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module = "server.commands" if args.command in SERVING else "server.render_commands"
    handler = getattr(importlib.import_module(module), args.command.replace("-", "_"))
    try:
        return int(handler(args) or 0)
    except KeyboardInterrupt:
        print("reelfarm: interrupted", file=sys.stderr)
        return 130
    except CommandError as exc:
        for line in str(exc).splitlines() or ["failed"]:
            print(f"reelfarm {args.command}: {line}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
