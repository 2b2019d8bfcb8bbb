"""Side (a)'s child: a process warmed up as a pool worker is, then one timed render().

    python bench/reelfarm_worker.py SPEC OUT THREADS FFMPEG CACHE_DIR

It prints "ready" once warm, waits for a line on stdin, renders with that FFmpeg build and
asset cache, and prints the render's wall and CPU seconds; the parent (bench/sides.py) starts
any memory sampling in between.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from reel import MEDIA_DIRS, ROOT


def cpu_s() -> float:
    times = os.times()  # this process and its reaped children (FFmpeg)
    return times.user + times.system + times.children_user + times.children_system


def warm_render(spec_path: Path, out: Path, threads: int, ffmpeg: str, cache: Path) -> None:
    import scenes
    from renderer import AssetPolicy, RenderOptions, render
    from renderer.worker import warm_up

    policy = AssetPolicy(allowed_dirs=MEDIA_DIRS, cache_dir=cache)
    options = RenderOptions(ffmpeg=ffmpeg, threads=threads, assets=policy)
    options = warm_up(options)  # as a pool worker starts
    spec = scenes.parse_spec(json.loads(spec_path.read_text()))
    print("ready", flush=True)
    sys.stdin.readline()
    cpu_before, started = cpu_s(), time.perf_counter()
    render(spec, out, options)
    print(time.perf_counter() - started, cpu_s() - cpu_before, flush=True)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    spec, out, threads, ffmpeg, cache = sys.argv[1:]
    warm_render(Path(spec), Path(out), int(threads), ffmpeg, Path(cache))
