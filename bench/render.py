"""Render benchmark: Reelfarm in every theme and on both FFmpeg builds, against the
encode-only limit, its own CLI and a typical MoviePy composition; and long reels' memory.

    .venv/bin/python bench/render.py [--themes default|all|bold,neon] [--ffmpeg system|bundled|both]
                                     [--scenes 6,24,48] [--scenes-theme default] [--repeat 3]
                                     [--captions default|all|THEMES]
                                     [--moviepy-seconds 3] [--threads 0] [--quick] [--json FILE]

The reel (bench/reel.py): 1080x1920 at 30 fps, six 2 s scenes (a title, three photos with
motion and captions, the video clip, an outro) over music. The spec names no transition, so
each theme brings its own transition, effect and text entrances.

(a)  warm: render() in a process warmed up exactly as a pool worker is (imports, FFmpeg found,
     encoder probed, theme fonts loaded), from the call until video.mp4 and poster.jpg exist;
(a') cold CLI: a new `reelfarm render` process (Python start-up included) with the cache dir
     as earlier runs left it; and first use: the same with an EMPTY cache dir, so effect clips
     and backgrounds are made on the spot;
(b)  the limit: (a)'s output decoded to raw yuv420p in memory (/dev/shm), piped into FFmpeg and
     encoded again with the same encoder arguments; only that encode is timed;
(b') the same with the frames exactly as Reelfarm's encoder received them;
(c)  the reel composed as a typical MoviePy 2 user would, in the theme's colours (no effect
     layer: a naive user would not draw snow), timed on --moviepy-seconds of it in short
     windows spread over the whole timeline (imports left out); its per-frame cost stands for
     the whole reel.

Every side of a theme runs --repeat times, in rounds over every theme, build and side in turn,
and the fastest of each is kept, so a shared machine's drift reaches all of them. Peak RSS is of the
whole process tree (Python and FFmpeg), sampled every 50 ms in a run of its own. --scenes
repeats the six scenes to N scenes and reports wall time per frame and peak RSS per N.
--captions renders the reel with and without karaoke captions (a word every 0.3 s) and a logo,
side by side, in the themes it names: their cost, and a/b of the captioned reel.

bench/sides.py runs each side, bench/render_themes.py and bench/render_scenes.py order the
runs, bench/render_report.py and bench/render_targets.py write the rows, tables and targets.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from reel import ROOT, Reel
from render_builds import resolve_builds
from render_captions import measure_captions, print_captions
from render_report import add_x_fastest, print_tables, theme_rows, write_json
from render_scenes import measure_scene_counts
from render_targets import check_targets, print_targets
from render_themes import BenchSettings, measure_themes


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--themes", default="default", help="'all' or a comma list")
    parser.add_argument("--ffmpeg", choices=("system", "bundled", "both"), default="system")
    parser.add_argument("--scenes", default="", help="comma list of scene counts, e.g. 6,24,48")
    parser.add_argument("--scenes-theme", default="default", help="the long reels' theme")
    parser.add_argument("--moviepy-seconds", type=float, default=3,
                        help="time MoviePy on each theme's first N s (0: skip it)")  # fmt: skip
    parser.add_argument("--threads", type=int, default=0, help="FFmpeg threads (0: auto)")
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs of every side")
    parser.add_argument("--quick", action="store_true",
                        help="a check of the script: 540x960, a 4 s reel, --repeat 1, "
                        "MoviePy on 1 s")  # fmt: skip
    parser.add_argument("--captions", default="",
                        help="'all' or a comma list of themes: with captions + logo")  # fmt: skip
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if args.quick:
        args.repeat, args.moviepy_seconds = 1, min(args.moviepy_seconds, 1)
    return args


def theme_names(choice: str) -> list[str]:
    import themes

    builtin = themes.list_themes()
    names = builtin if choice == "all" else [n.strip() for n in choice.split(",") if n.strip()]
    unknown = sorted(set(names) - set(builtin))
    if unknown:
        raise SystemExit(f"unknown themes: {', '.join(unknown)} (built in: {', '.join(builtin)})")
    # The default theme first: the long reels and a reader's eye start from it.
    return sorted(names, key=lambda name: name != "default")


def main() -> None:
    args = parse_args()
    sys.path.insert(0, str(ROOT))
    base = Reel(width=540, height=960, scene_s=4 / 6) if args.quick else Reel()
    builds = resolve_builds(args.ffmpeg, args.threads)
    for build in builds:
        print(f"ffmpeg {build.name} {build.version} {build.ffmpeg}")
        print(f"  encoder {build.encoder}: {' '.join(build.encoder_args)}")
    print(f"cpus {os.cpu_count()}; reel {base.size}, {base.fps} fps, {base.scene_s:.3g} s scenes")
    work = Path(tempfile.mkdtemp(prefix="bench-render-", dir="/var/tmp"))
    memory = Path("/dev/shm") if Path("/dev/shm").is_dir() else work
    shm = Path(tempfile.mkdtemp(prefix="bench-render-", dir=memory))
    settings = BenchSettings(work, shm, args.threads, args.repeat, args.moviepy_seconds)
    themes_done, scenes_done, captions_done = [], [], []
    try:
        reels = [replace(base, theme=name) for name in theme_names(args.themes or "")]
        for result in measure_themes(reels, builds, settings) if reels else []:
            rows = theme_rows(result)
            for row in rows:
                print(json.dumps(row), flush=True)
            themes_done.extend(rows)
        counts = [int(n) for n in args.scenes.split(",") if n.strip()]
        if counts:
            long_reel = replace(base, theme=args.scenes_theme)
            scenes_done = measure_scene_counts(long_reel, sorted(counts), builds, settings)
        for name in theme_names(args.captions) if args.captions else []:
            captions_done += measure_captions(replace(base, theme=name), builds, settings)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(shm, ignore_errors=True)
    add_x_fastest(themes_done)
    print_tables(themes_done, scenes_done)
    print_captions(captions_done)
    verdicts = check_targets(themes_done + scenes_done + captions_done)
    print_targets(verdicts)
    if args.quick:
        print("--quick checks the script: start-up outweighs a 4 s 540x960 reel, so its "
              "figures say nothing about the targets")  # fmt: skip
    if args.json:
        report = {"builds": [vars(b) for b in builds], "reel": vars(base),
                  "themes": themes_done, "scenes": scenes_done, "captions": captions_done,
                  "targets": verdicts}  # fmt: skip
        write_json(report, Path(args.json))


if __name__ == "__main__":
    main()
