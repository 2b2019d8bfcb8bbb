"""The benchmark reel in each theme, on each FFmpeg build: every side of the render benchmark.

`repeat` rounds; in each round every theme in turn, and for each theme every build in turn,
runs one after the other: first use (a new `reelfarm render` process with an empty cache dir),
(a) the warm worker on the cache that left, (b) the encode-only limit, the cold CLI on the same
cache, and (b'). Themes, builds and sides alternate, so a shared machine's drift over a run of
most of an hour reaches all of them alike: "x fastest" compares themes whose best samples come
from the same stretch of the run, not one theme's early minutes with another's late ones.
The raw frames (b) and (b') encode are made for each run and removed after it (1.1 GB each at
1080x1920 for 12 s: all themes' at once would not fit in memory). MoviePy runs once per theme.
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

    def best(self) -> dict[str, Measured]:
        sides = ("warm", "cold_cli", "first_use", "encode_only", "encode_only_composed")
        return {side: best(getattr(self, side)) for side in sides}


@dataclass(frozen=True)
class ThemeResult:
    theme: str
    reel: Reel
    runs: dict[str, ThemeRuns]  # by build name
    moviepy: Measured | None


def measure_themes(
    reels: list[Reel], builds: list[Build], settings: BenchSettings
) -> list[ThemeResult]:
    """Every side of the benchmark for each of `reels` (one per theme) on every build."""
    specs = {reel.theme: _spec_file(reel, settings.work) for reel in reels}
    runs = {reel.theme: {b.name: ThemeRuns(reel.theme, b) for b in builds} for reel in reels}
    try:
        for index in range(settings.repeat):
            for reel in reels:
                for build in builds:
                    _round(specs[reel.theme], reel, runs[reel.theme][build.name], index, settings)
    finally:
        for by_build in runs.values():
            for theme_runs in by_build.values():
                if theme_runs.cache:
                    shutil.rmtree(theme_runs.cache, ignore_errors=True)
    return [ThemeResult(reel.theme, reel, runs[reel.theme], _moviepy(specs[reel.theme], reel,
            settings)) for reel in reels]  # fmt: skip


def _spec_file(reel: Reel, work: Path) -> Path:
    home = work / reel.theme
    home.mkdir(parents=True)
    spec_path = home / "reel.json"
    spec_path.write_text(json.dumps(reel.spec()))
    return spec_path


def _moviepy(spec_path: Path, reel: Reel, settings: BenchSettings) -> Measured | None:
    if settings.moviepy_seconds <= 0:
        return None
    seconds = min(settings.moviepy_seconds, reel.length_s)
    out = spec_path.parent / "moviepy.mp4"
    return moviepy_run(spec_path, out, seconds, settings.threads)


def _round(
    spec_path: Path, reel: Reel, runs: ThemeRuns, index: int, settings: BenchSettings
) -> None:
    """First use on a new, empty cache dir; then (a), (b), the cold CLI and (b') on what it
    left."""
    home, build = spec_path.parent, runs.build
    if runs.cache:
        shutil.rmtree(runs.cache, ignore_errors=True)
    runs.cache = home / f"cache-{build.name}-{index}"
    config = cli_config(home / f"config-{build.name}.toml", build, runs.cache)
    runs.first_use.append(reelfarm_cli(spec_path, home / f"first-{build.name}.mp4", reel, config))
    out = home / f"out-{build.name}"
    if runs.peak_rss is None:
        # Peak memory from a run of its own, sampled and not timed.
        runs.peak_rss = reelfarm(spec_path, out, reel, build, runs.cache, settings.threads,
                                 sample_rss=True)  # fmt: skip
    runs.warm.append(reelfarm(spec_path, out, reel, build, runs.cache, settings.threads))
    raw = settings.shm / f"{reel.theme}-{build.name}.yuv"
    try:
        runs.encode_only.append(
            encode_limit(build, decoded_frames(build, out / "video.mp4", raw, reel), reel)
        )
        runs.cold_cli.append(reelfarm_cli(spec_path, home / f"cold-{build.name}.mp4", reel, config))
        composed = composed_frames(spec_path, raw, runs.cache, build, reel)
        runs.encode_only_composed.append(encode_limit(build, composed, reel))
    finally:
        raw.unlink(missing_ok=True)
        raw.with_suffix(".mp4").unlink(missing_ok=True)
