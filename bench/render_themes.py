"""The benchmark reel in each theme, on each FFmpeg build: every side of the render benchmark.

Per theme, `repeat` rounds; in each round every build in turn runs, one after the other:
first use (a new `reelfarm render` process with an empty cache dir), (a) the warm worker
on the cache that left, (b) the encode-only limit, and the cold CLI on the same cache. The
two builds and the four sides alternate, so a shared machine's drift reaches all of them.
(b') then runs `repeat` times per build, and MoviePy once per theme.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from measure import Measured, best
from reel import Reel
from render_builds import Build
from sides import (
    cli_config,
    composed_frames,
    decoded_frames,
    encode_limit,
    moviepy_run,
    reelfarm,
    reelfarm_cli,
)


@dataclass(frozen=True)
class BenchSettings:
    work: Path  # on disk: specs, outputs, caches
    shm: Path  # in memory: the raw frames (b) and (b') encode
    threads: int
    repeat: int
    moviepy_seconds: float


@dataclass
class ThemeRuns:
    """Every run of one theme on one build; `best()` keeps the fastest of each side."""

    theme: str
    build: Build
    warm: list[Measured] = field(default_factory=list)  # (a)
    cold_cli: list[Measured] = field(default_factory=list)  # (a') cache as earlier runs left it
    first_use: list[Measured] = field(default_factory=list)  # (a') empty cache
    encode_only: list[Measured] = field(default_factory=list)  # (b)
    encode_only_composed: list[Measured] = field(default_factory=list)  # (b')
    peak_rss: Measured | None = None  # (a) once more, sampled and not timed
    cache: Path | None = None  # the cache dir of the latest round
    raw: Path | None = None  # (a)'s output decoded, for (b)

    def best(self) -> dict[str, Measured]:
        sides = ("warm", "cold_cli", "first_use", "encode_only", "encode_only_composed")
        return {side: best(getattr(self, side)) for side in sides}


@dataclass(frozen=True)
class ThemeResult:
    theme: str
    reel: Reel
    runs: dict[str, ThemeRuns]  # by build name
    moviepy: Measured | None


def measure_theme(reel: Reel, builds: list[Build], settings: BenchSettings) -> ThemeResult:
    """Every side of the benchmark for `reel` (in its theme) on every build."""
    home = settings.work / reel.theme
    home.mkdir(parents=True)
    spec_path = home / "reel.json"
    spec_path.write_text(json.dumps(reel.spec()))
    runs = {build.name: ThemeRuns(reel.theme, build) for build in builds}
    try:
        for index in range(settings.repeat):
            for build in builds:
                _round(spec_path, reel, runs[build.name], index, settings)
        _composed_rounds(spec_path, reel, list(runs.values()), settings)
    finally:
        for theme_runs in runs.values():
            if theme_runs.raw:
                theme_runs.raw.unlink(missing_ok=True)
    moviepy = None
    if settings.moviepy_seconds > 0:
        seconds = min(settings.moviepy_seconds, reel.length_s)
        moviepy = moviepy_run(spec_path, home / "moviepy.mp4", seconds, settings.threads, reel.fps)
    for theme_runs in runs.values():
        if theme_runs.cache:
            shutil.rmtree(theme_runs.cache, ignore_errors=True)
    return ThemeResult(reel.theme, reel, runs, moviepy)


def _round(
    spec_path: Path, reel: Reel, runs: ThemeRuns, index: int, settings: BenchSettings
) -> None:
    """First use on a new, empty cache dir; then (a), (b) and the cold CLI on what it left."""
    home, build = spec_path.parent, runs.build
    if runs.cache:
        shutil.rmtree(runs.cache, ignore_errors=True)
    runs.cache = home / f"cache-{build.name}-{index}"
    config = cli_config(home / f"config-{build.name}.toml", build, runs.cache)
    runs.first_use.append(reelfarm_cli(spec_path, home / f"first-{build.name}.mp4", reel, config))
    out = home / f"out-{build.name}"
    if runs.raw is None:
        # Peak memory from a run of its own; it also makes the output (b) decodes.
        runs.peak_rss = reelfarm(spec_path, out, reel, build, runs.cache, settings.threads,
                                 sample_rss=True)  # fmt: skip
        raw = settings.shm / f"{reel.theme}-{build.name}-decoded.yuv"
        runs.raw = decoded_frames(build, out / "video.mp4", raw, reel)
    runs.warm.append(reelfarm(spec_path, out, reel, build, runs.cache, settings.threads))
    runs.encode_only.append(encode_limit(build, runs.raw, reel))
    runs.cold_cli.append(reelfarm_cli(spec_path, home / f"cold-{build.name}.mp4", reel, config))


def _composed_rounds(
    spec_path: Path, reel: Reel, all_runs: list[ThemeRuns], settings: BenchSettings
) -> None:
    """(b') for every build, alternating, on the frames each build composed."""
    raws = {}
    try:
        for runs in all_runs:
            if runs.raw:  # (b) is done: make room in memory
                runs.raw.unlink(missing_ok=True)
                runs.raw = None
            raw = settings.shm / f"{reel.theme}-{runs.build.name}-composed.yuv"
            assert runs.cache is not None
            raws[runs.build.name] = composed_frames(spec_path, raw, runs.cache, runs.build, reel)
        for _ in range(settings.repeat):
            for runs in all_runs:
                measured = encode_limit(runs.build, raws[runs.build.name], reel)
                runs.encode_only_composed.append(measured)
    finally:
        for raw in raws.values():
            raw.unlink(missing_ok=True)
