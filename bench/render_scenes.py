"""Long reels: the six scenes repeated to N scenes, wall time per frame and peak memory per N.

Rendering streams, so memory must not grow with the reel: the whole process tree's peak RSS
of each N is set against the reel with the fewest scenes. Each build's cache is filled by one
untimed render first, so no N pays for making effect clips and backgrounds.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

from measure import Measured, best
from reel import Reel
from render_builds import Build
from render_themes import BenchSettings
from sides import reelfarm


@dataclass
class LengthRuns:
    reel: Reel
    build: Build
    warm: list[Measured] = field(default_factory=list)
    peak_rss: Measured | None = None


def measure_scene_counts(
    base: Reel, counts: list[int], builds: list[Build], settings: BenchSettings
) -> list[dict]:
    """(a) best of `repeat` and a sampled run for its peak RSS, for each N and build; the
    builds alternate within each round. One row per N and build, printed as it is done."""
    home = settings.work / f"scenes-{base.theme}"
    home.mkdir(parents=True)
    caches = {build.name: home / f"cache-{build.name}" for build in builds}
    done: list[LengthRuns] = []
    rows = []
    try:
        for index, count in enumerate(counts):
            reel = replace(base, scene_count=count)
            spec_path = home / f"reel-{count}.json"
            spec_path.write_text(json.dumps(reel.spec()))
            render = partial(_render, spec_path, reel, caches, settings.threads)
            if index == 0:
                for build in builds:
                    render(build)  # fills the cache, untimed
            runs = {build.name: LengthRuns(reel, build) for build in builds}
            for _ in range(settings.repeat):
                for build in builds:
                    runs[build.name].warm.append(render(build))
            for build in builds:
                runs[build.name].peak_rss = render(build, sample_rss=True)
            done.extend(runs.values())
            for length_runs in runs.values():
                rows.append(length_row(length_runs, done))
                print(json.dumps(rows[-1]), flush=True)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return rows


def _render(
    spec_path: Path,
    reel: Reel,
    caches: dict[str, Path],
    threads: int,
    build: Build,
    sample_rss: bool = False,
) -> Measured:
    out = spec_path.parent / "out"
    return reelfarm(spec_path, out, reel, build, caches[build.name], threads, sample_rss)


def length_row(runs: LengthRuns, so_far: list[LengthRuns]) -> dict:
    """One N on one build; peak RSS also as a ratio to the fewest scenes on that build."""
    fastest = best(runs.warm)
    assert runs.peak_rss is not None
    first = next(r for r in so_far if r.build.name == runs.build.name)
    assert first.peak_rss is not None
    return {
        "kind": "scenes",
        "scenes": runs.reel.scene_count,
        "theme": runs.reel.theme,
        "build": runs.build.name,
        "length_s": runs.reel.length_s,
        "frames": runs.reel.frames,
        "reelfarm_fps": round(fastest.fps, 1),
        "wall_ms_per_frame": round(1000 * fastest.seconds / fastest.frames, 2),
        "cpu_ms_per_frame": round(fastest.cpu_ms_per_frame, 2),
        "peak_rss_mb": round(runs.peak_rss.peak_rss_mb),
        "fewest_scenes": first.reel.scene_count,
        "peak_rss_vs_fewest": round(runs.peak_rss.peak_rss_mb / first.peak_rss.peak_rss_mb, 3),
    }
