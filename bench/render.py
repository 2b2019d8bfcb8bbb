"""Render benchmark: Reelfarm against the encode-only limit and a typical MoviePy composition.

    .venv/bin/python bench/render.py [--lengths 12 48] [--moviepy-seconds 12] [--repeat 3]
                                     [--threads 0] [--json out.json]

For a 12 s and a 48 s 1080x1920 30 fps reel (title, three photos with motion and captions, the
video clip, outro; fade transitions; music):

(a) Reelfarm as a pool worker renders: a warm process (imports done, FFmpeg found, encoder
    probed, fonts loaded) times render() from the call until video.mp4 and poster.jpg are
    written; peak RSS of its whole process tree (Python and FFmpeg) is sampled with psutil
    every 50 ms in one more run that is not timed. The same
    render from a cold `reelfarm render` CLI is printed beside it;
(b) the limit: (a)'s own frames decoded to raw yuv420p in memory (/dev/shm), piped into FFmpeg
    and encoded again with the same encoder arguments; only that encode is timed;
(c) the same reel composed as a typical MoviePy 2 user would (ImageClip + resized for zoom,
    Pillow-drawn captions as ImageClips, CompositeVideoClip, crossfades, write_videofile with
    the same codec, preset and threads). MoviePy runs at a few fps, so it is timed once, on the
    first --moviepy-seconds of the 12 s reel; its per-frame cost does not depend on the reel's
    length, so that fps stands for both.

Each ratio is given by wall time (what the targets name) and by CPU time (user + system of
every process involved), which a busy shared machine disturbs much less. `--repeat N` runs (a)
and (b) alternately N times each and keeps the fastest of each.

The reel is bench/reel.py; bench/sides.py runs each side (its children are
bench/reelfarm_worker.py and bench/moviepy_reel.py), bench/measure.py measures them and
bench/render_report.py writes the rows, the table and the JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from measure import ReelRuns, best
from reel import FPS, ROOT, reel_spec
from render_report import figures, print_table, write_json
from sides import composed_frames, decoded_frames, encode_limit, moviepy_run, reelfarm, reelfarm_cli


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=float, nargs="+", default=[12, 48])
    parser.add_argument(
        "--moviepy-seconds",
        type=float,
        default=12,
        help="time MoviePy on the first N s of the 12 s reel (0: skip it)",
    )
    parser.add_argument("--threads", type=int, default=0, help="encoder threads (0: auto)")
    parser.add_argument("--repeat", type=int, default=1, help="best of N runs for (a) and (b)")
    parser.add_argument("--json", help="also write the figures to this file")
    return parser.parse_args()


def measure_reel(
    spec_path: Path, frames: int, ffmpeg: str, encoder: list[str], args: argparse.Namespace
) -> ReelRuns:
    """(a), (a'), (b) and (b') for one reel, the best of `--repeat` runs each (the cold CLI
    runs once), and (a)'s peak RSS from a run of its own."""
    work, out = spec_path.parent, spec_path.with_suffix("")
    cold = reelfarm_cli(spec_path, work / f"{out.name}-cli.mp4", frames)
    shm = Path(tempfile.mkdtemp(dir="/dev/shm" if Path("/dev/shm").is_dir() else work))
    try:
        # Peak memory from a run of its own; it also makes the output (b) decodes.
        rss = reelfarm(spec_path, out, frames, args.threads, sample_rss=True)
        raw = decoded_frames(ffmpeg, out / "video.mp4", shm / "decoded.yuv")
        # (a) and (b) alternate, so a shared machine's drift between runs reaches both.
        runs_a, runs_b = [], []
        for _ in range(args.repeat):
            runs_a.append(reelfarm(spec_path, out, frames, args.threads))
            runs_b.append(encode_limit(ffmpeg, raw, frames, encoder))
        raw.unlink()
        raw = composed_frames(spec_path, shm / "composed.yuv", work / "cache")
        exact = best([encode_limit(ffmpeg, raw, frames, encoder) for _ in range(args.repeat)])
    finally:
        shutil.rmtree(shm, ignore_errors=True)
    return ReelRuns(best(runs_a), cold, best(runs_b), exact, rss)


def main() -> None:
    args = parse_args()
    sys.path.insert(0, str(ROOT))
    from renderer.encoder import encoder_args, working_encoders
    from renderer.ffmpeg import find_ffmpeg

    ffmpeg = find_ffmpeg().path
    encoder = working_encoders(ffmpeg, ("h264_nvenc", "libx264"))[0]
    args_enc = encoder_args(encoder, "standard", args.threads)
    print(f"ffmpeg {ffmpeg}\nencoder {encoder}: {' '.join(args_enc)}\ncpus {os.cpu_count()}")
    work = Path(tempfile.mkdtemp(prefix="bench-render-", dir="/var/tmp"))
    results = []
    try:
        moviepy = None
        for length in args.lengths:
            spec_path = work / f"reel-{length:g}s.json"
            spec_path.write_text(json.dumps(reel_spec(length)))
            runs = measure_reel(spec_path, round(length * FPS), ffmpeg, args_enc, args)
            # MoviePy's per-frame cost does not depend on the reel's length: timed once.
            if moviepy is None and args.moviepy_seconds > 0:
                cut = min(args.moviepy_seconds, length)
                moviepy = moviepy_run(spec_path, work / "moviepy.mp4", cut, args.threads)
            row = figures(length, runs, moviepy)
            results.append(row)
            print(json.dumps(row), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_table(results)
    if args.json:
        write_json(results, Path(args.json))


if __name__ == "__main__":
    main()
