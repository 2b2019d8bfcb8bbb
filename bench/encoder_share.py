"""How much of each theme's render is x264's own work, and how much is everything else.

    .venv/bin/python bench/encoder_share.py [--themes all] [--repeat 1] [--json FILE]

Each theme's benchmark reel (bench/reel.py) is rendered by the render's own FFmpeg command
(bench/render_command.py) on Debian's FFmpeg, whose libraries are shared objects, under
`perf record -e cpu-clock`: every CPU sample is charged to the library it ran in. libx264 is
the encoder; the rest (decoders, swscale, the filters, the AAC encoder, libc's copies, the
kernel) is what composing the reel costs. A theme whose x264 seconds alone are far above the
fastest theme's cannot render as fast as it, whatever the composition costs: the encoder
spends that on the detail the theme draws. The least CPU of --repeat runs is kept.

Needs `perf` (Debian's linux-perf) and Debian's FFmpeg on PATH. The bundled build is one
static program, which perf cannot split by library; both builds run the same x264 at the
same speed (BENCHMARKS.md, "Which FFmpeg auto takes"), and the render benchmark's (b')
columns compare the encoder's share on both.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import replace
from pathlib import Path

from reel import ROOT, Reel
from render_command import render_command
from render_report import markdown_table

SAMPLES_PER_S = 999
ENCODER = "libx264"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--themes", default="all", help="'all' or a comma list")
    parser.add_argument("--repeat", type=int, default=1, help="least CPU of N runs each")
    parser.add_argument("--json", help="also write the figures to this file")
    return parser.parse_args()


def cpu_by_library(command: list[str], data: Path) -> Counter[str]:
    """CPU seconds of one run of `command`, by the library (or program) each sample ran in."""
    subprocess.run(
        ["perf", "record", "-q", "-e", "cpu-clock", "-F", str(SAMPLES_PER_S), "-o", str(data),
         "--", *command],
        check=True, stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    report = subprocess.run(
        ["perf", "report", "-i", str(data), "--stdio", "--sort", "dso", "-F", "sample,dso"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    seconds: Counter[str] = Counter()
    for line in report.splitlines():
        fields = line.split()
        if len(fields) == 2 and not line.startswith("#") and fields[0].isdigit():
            seconds[fields[1].split(".so")[0]] += int(fields[0]) / SAMPLES_PER_S
    return seconds


def theme_share(reel: Reel, ffmpeg: str, work: Path, repeat: int) -> dict:
    """One theme's CPU per frame: x264's, the rest's, and the biggest of the rest."""
    command = render_command(reel.spec(), work / reel.theme, work / "cache", ffmpeg)
    runs = [cpu_by_library(command, work / f"{reel.theme}.perf") for _ in range(repeat)]
    least = min(runs, key=lambda run: sum(run.values()))
    encoder_s = least[ENCODER]
    rest = Counter({name: s for name, s in least.items() if name != ENCODER})
    per_frame = 1000 / reel.frames
    return {
        "theme": reel.theme,
        "build": "system",
        "whole_ms": round(sum(least.values()) * per_frame, 2),
        "x264_ms": round(encoder_s * per_frame, 2),
        "rest_ms": round(sum(rest.values()) * per_frame, 2),
        "rest_biggest": ", ".join(f"{name} {s * per_frame:.1f}" for name, s in rest.most_common(3)),
    }


COLUMNS = [
    ("whole", "whole_ms"),
    ("x264", "x264_ms"),
    ("x264 x fastest", "x264_x_fastest"),
    ("everything else", "rest_ms"),
    ("biggest of the rest", "rest_biggest"),
]


def main() -> None:
    args = parse_args()
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None or shutil.which("perf") is None:
        raise SystemExit("needs FFmpeg and perf on PATH: apt-get install ffmpeg linux-perf")
    sys.path.insert(0, str(ROOT))
    import themes

    names = themes.list_themes() if args.themes == "all" else args.themes.split(",")
    print(f"ffmpeg {ffmpeg}; reel {Reel().size}, {Reel().fps} fps, {Reel().frames} frames")
    work = Path(tempfile.mkdtemp(prefix="bench-encoder-share-", dir="/var/tmp"))
    try:
        rows = [theme_share(replace(Reel(), theme=n), ffmpeg, work, args.repeat) for n in names]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    fastest = min(row["x264_ms"] for row in rows)
    for row in rows:
        row["x264_x_fastest"] = round(row["x264_ms"] / fastest, 2)
    print("\nCPU ms per frame, by where it ran (perf cpu-clock samples)")
    markdown_table(rows, ("theme", "theme"), COLUMNS)
    if args.json:
        Path(args.json).write_text(json.dumps({"ffmpeg": ffmpeg, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
