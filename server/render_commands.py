"""The rendering commands of the `reelfarm` CLI: render, themes, probe, schema.

`server.cli` parses the arguments and prints a CommandError as one line per problem, so nothing
here prints a traceback or calls sys.exit. The renderer is imported inside each command, so
`reelfarm schema` does not load numpy.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TextIO

import scenes
from server.commands import EXIT_INVALID, CommandError
from server.config import Config, ConfigError, load_config

MAX_SPEC_BYTES = 32 * 1024 * 1024
BAR_WIDTH = 30
# Sidecar subtitles a render may write (`RenderResult.captions`), each as OUT.<kind>.
SIDECAR_KINDS = ("vtt", "srt")


def render(args: argparse.Namespace) -> int:
    """`reelfarm render SPEC.json -o OUT.mp4 [--size WxH] [--preview]`; poster beside it, and
    OUT.vtt and OUT.srt when the spec has captions."""
    from renderer import AssetPolicy, RenderError, RenderOptions
    from renderer import render as render_spec

    config = _config(args.config)
    output = Path(args.output)
    if output.suffix.lower() != ".mp4":
        raise CommandError(f"{args.output}: the output must be an .mp4 file", EXIT_INVALID)
    size = _size(args.size) if args.size else None
    spec, base_dir = _read_spec(args.spec, config.admission.max_duration_s)
    options = RenderOptions(
        ffmpeg=config.encoder.ffmpeg,
        prefer=config.encoder.prefer,
        theme_dirs=config.themes.dirs,
        # The operator runs the CLI on their own files: any local path, relative to the spec.
        assets=AssetPolicy(
            allowed_dirs=config.assets.allowed_dirs,
            allow_any_local=True,
            base_dir=base_dir,
            max_bytes=config.assets.max_bytes,
            download_timeout_s=config.assets.download_timeout_s,
            allow_private_urls=config.assets.allow_private_urls,
            cache_dir=config.cache_dir,
        ),
        size=size,
        preview=args.preview,
    )
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{output.stem}-", dir=output.parent))
    except OSError as exc:
        raise CommandError(f"{output.parent}: {exc.strerror or exc}") from None
    bar = None if args.quiet else ProgressBar(sys.stderr)
    try:
        result = render_spec(spec, work, options, progress=bar)
        if bar is not None:
            bar.finish()
        poster = output.with_suffix(".jpg")
        result.video_path.replace(output)
        result.poster_path.replace(poster)
        sidecars = _place_sidecars(result.captions, output)
    except RenderError as exc:
        if bar is not None:
            bar.finish()
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"{output}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    captions = "".join(f", {path}" for path in sidecars)
    print(
        f"wrote {output} ({result.duration_s:g} s, {result.width}x{result.height}, "
        f"{result.fps} fps, {result.encoder}, {result.render_s:.1f} s){captions} and {poster}"
    )
    return 0


def _place_sidecars(captions: dict[str, Path], output: Path) -> list[Path]:
    """OUT.vtt and OUT.srt beside OUT.mp4, named as players look for them. A render without
    captions removes ones an earlier render left there: a player would load them with the new
    video and show words it does not say."""
    placed = []
    for kind in SIDECAR_KINDS:
        target = output.with_suffix(f".{kind}")
        if kind in captions:
            captions[kind].replace(target)
            placed.append(target)
        else:
            target.unlink(missing_ok=True)
    return placed


def themes(args: argparse.Namespace) -> int:
    """`reelfarm themes [--sheet OUT.png]`: list the themes, or draw a contact sheet of them."""
    import themes as theme_registry

    config = _config(args.config)
    dirs = config.themes.dirs
    if args.sheet:
        from renderer.sheet import contact_sheet

        try:
            path = contact_sheet(dirs, Path(args.sheet))
        except (theme_registry.ThemeError, OSError, ValueError) as exc:
            raise CommandError(f"cannot draw the contact sheet: {exc}") from None
        print(f"wrote {path}")
        return 0
    for name in theme_registry.list_themes(dirs):
        try:
            theme = theme_registry.load_theme(name, dirs)
        except theme_registry.ThemeError as exc:
            print(f"{name:<12}  (broken: {exc})")
            continue
        print(f"{name:<12}  {theme.description}")
    return 0


def probe(args: argparse.Namespace) -> int:
    """`reelfarm probe`: which FFmpeg, which encoders really work, what GPUs are present."""
    from renderer.probe import probe_report
    from renderer.types import RenderError

    config = _config(args.config)
    try:
        report = probe_report(config.encoder.ffmpeg, config.encoder.prefer)
    except RenderError as exc:
        raise CommandError(str(exc)) from None
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    ffmpeg = report["ffmpeg"]
    print(f"ffmpeg:   {ffmpeg['path']}")
    print(f"version:  {ffmpeg['version']} ({ffmpeg['source']})")
    print(f"why:      {ffmpeg['reason']}")
    working = ", ".join(report["encoders"]["working"]) or "none"
    print(f"encoders: {working} (of {', '.join(report['encoders']['preferred'])})")
    print(f"selected: {report['selected_encoder'] or 'none'}")
    print(f"cpus:     {report['cpu_count']}")
    if not report["gpus"]:
        print("gpus:     none")
    for gpu in report["gpus"]:
        facts = ", ".join(f"{k}={v}" for k, v in gpu.items() if k not in ("index", "name"))
        print(f"gpu {gpu['index']}:    {gpu['name']} ({facts})")
    return 0


def schema(args: argparse.Namespace) -> int:
    """`reelfarm schema`: the spec's JSON Schema."""
    print(json.dumps(scenes.json_schema(), indent=2))
    return 0


class ProgressBar:
    """`[#######       ] 45%  123/270 frames` on one terminal line, redrawn as frames arrive."""

    def __init__(self, stream: TextIO):
        self._stream = stream
        self._lock = threading.Lock()
        self._shown = -1
        self._drawn = False
        self._started = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        percent = 100 * done // total if total else 0
        with self._lock:
            if percent == self._shown:
                return
            self._shown = percent
            filled = BAR_WIDTH * percent // 100
            bar = "#" * filled + " " * (BAR_WIDTH - filled)
            elapsed = time.monotonic() - self._started
            self._stream.write(f"\r[{bar}] {percent:3d}%  {done}/{total} frames  {elapsed:5.1f}s")
            self._stream.flush()
            self._drawn = True

    def finish(self) -> None:
        with self._lock:
            if self._drawn:
                self._stream.write("\n")
                self._stream.flush()
                self._drawn = False


def _config(path: str | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise CommandError(str(exc), EXIT_INVALID) from None


def _size(text: str) -> tuple[int, int]:
    width, sep, height = text.lower().partition("x")
    if not (sep and width.isdigit() and height.isdigit()):
        raise CommandError(f"--size {text}: must be WIDTHxHEIGHT, e.g. 540x960", EXIT_INVALID)
    size = int(width), int(height)
    if any(v < 16 or v > 3840 or v % 2 for v in size):
        raise CommandError(f"--size {text}: each side must be even and 16..3840", EXIT_INVALID)
    return size


def _read_spec(source: str, max_duration_s: float) -> tuple[scenes.Spec, Path]:
    """The parsed spec and the directory its relative paths are relative to."""
    if source == "-":
        raw = sys.stdin.buffer.read(MAX_SPEC_BYTES + 1)
        base_dir = Path.cwd()
    else:
        path = Path(source)
        try:
            with path.open("rb") as handle:
                raw = handle.read(MAX_SPEC_BYTES + 1)
        except OSError as exc:
            raise CommandError(f"{source}: {exc.strerror or exc}", EXIT_INVALID) from None
        base_dir = path.resolve().parent
    if len(raw) > MAX_SPEC_BYTES:
        raise CommandError(f"{source}: larger than {MAX_SPEC_BYTES} bytes", EXIT_INVALID)
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CommandError(f"{source}: not valid JSON: {exc}", EXIT_INVALID) from None
    try:
        return scenes.parse_spec(data, max_duration_s=max_duration_s), base_dir
    except scenes.SpecError as exc:
        raise CommandError("\n".join(str(error) for error in exc.errors), EXIT_INVALID) from None
