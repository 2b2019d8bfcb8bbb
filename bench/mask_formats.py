"""What an effect mask costs to decode, per frame, in each lossless format FFmpeg can store grey in.

    .venv/bin/python bench/mask_formats.py [--themes neon,sunset,winter] [--in-render]
                                           [--ffmpeg system|bundled|both] [--repeat 3]

Each theme's mask is made as a render makes it (`renderer.effects.effect_clip`, the benchmark
reel's size and rate), then stored again in each candidate format. Every copy is decoded to
the null muxer on one thread, the builds and formats alternating, and the least CPU (user +
system) of --repeat runs is kept, less the least of decoding a one-frame copy (FFmpeg's
start-up), over the frames after the first.
A copy counts only if it decodes to gray8 with the same pixels as the mask itself (a format
that decodes to another pixel format would cost a conversion a frame in the graph).
With --in-render, each theme's own render command (x264 and all) runs instead, reading its
mask as run-length TGA (stored before), as TIFF PackBits (stored now) and raw (the bound),
the formats and builds alternating: what the format is worth in a whole render.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from measure import children_cpu_s
from reel import ROOT, Reel
from render_builds import BUILD_NAMES, ffmpeg_path
from render_command import render_command
from render_report import markdown_table

# Format name -> (FFmpeg output arguments, file suffix).
FORMATS = {
    "tiff packbits": (["-c:v", "tiff", "-compression_algo", "packbits"], "mkv"),
    "tga rle": (["-c:v", "targa"], "mkv"),
    "png": (["-c:v", "png", "-compression_level", "1", "-pred", "none"], "mkv"),
    "ffv1": (["-c:v", "ffv1"], "mkv"),
    "magicyuv": (["-c:v", "magicyuv"], "mkv"),
    "raw": (["-c:v", "rawvideo"], "nut"),
}
Copies = dict[str, tuple[Path, Path]]  # format -> (whole, one frame)
COLUMNS = [("MB", "mb"), ("decode CPU ms/frame", "decode_ms")]
# The formats timed inside a whole render (--in-render): the one stored before, the one
# stored now, and raw (no decoding at all, 25x the disk).
IN_RENDER = ("tga rle", "tiff packbits", "raw")
RENDER_COLUMNS = [("wall s", "wall_s"), ("x tga rle", "x_before"), ("CPU ms/frame", "cpu_ms")]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--themes", default="neon,sunset,winter", help="themes with a mask")
    parser.add_argument("--ffmpeg", choices=("system", "bundled", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=3, help="least CPU of N runs each")
    parser.add_argument("--in-render", action="store_true",
                        help="time each theme's whole render in each format")  # fmt: skip
    parser.add_argument("--json", help="also write the figures to this file")
    return parser.parse_args()


def store(ffmpeg: str, mask: Path, name: str, out: Path, frames: int | None = None) -> Path:
    args, suffix = FORMATS[name]
    path = out / f"{name.replace(' ', '-')}{'-one' if frames else ''}.{suffix}"
    limit = ["-frames:v", str(frames)] if frames else []
    command = [ffmpeg, "-v", "error", "-y", "-i", str(mask), *limit, *args]
    subprocess.run([*command, "-pix_fmt", "gray", str(path)], check=True)
    return path


def pixels_digest(ffmpeg: str, path: Path) -> str:
    """A digest of every decoded frame as gray8: equal digests, equal masks."""
    command = [ffmpeg, "-v", "error", "-threads", "1", "-i", str(path)]
    raw = subprocess.run([*command, "-f", "rawvideo", "-pix_fmt", "gray", "-"],
                         check=True, capture_output=True).stdout  # fmt: skip
    return hashlib.sha256(raw).hexdigest()


def decoded_pix_fmt(path: Path) -> str:
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        raise SystemExit("needs ffprobe on PATH: apt-get install ffmpeg")
    out = subprocess.run(
        [ffprobe, "-v", "error", "-select_streams", "v", "-show_entries", "stream=pix_fmt",
         "-of", "csv=p=0", str(path)], capture_output=True, text=True, check=True,
    )  # fmt: skip
    return out.stdout.strip()


def decode_cpu_s(ffmpeg: str, path: Path) -> float:
    before = children_cpu_s()
    command = [ffmpeg, "-v", "error", "-threads", "1", "-i", str(path), "-f", "null", "-"]
    subprocess.run(command, check=True, stdin=subprocess.DEVNULL)
    return children_cpu_s() - before


def mask_copies(
    theme: str, maker: str, work: Path, formats: tuple[str, ...] = tuple(FORMATS)
) -> tuple[Path, int, Copies]:
    """`theme`'s mask as a render makes it (in `work`/cache/effects, where a render with that
    cache finds it), its frame count, and a (whole, one-frame) copy of it in each format."""
    from renderer import effects
    from themes import load_theme

    reel = Reel()
    cache = work / "cache" / "effects"
    clip = effects.effect_clip(load_theme(theme), (reel.width, reel.height), reel.fps, cache, maker)
    if clip is None or clip.static:
        raise SystemExit(f"{theme}: no moving effect mask")
    reference = pixels_digest(maker, clip.path)
    copies = {name: (store(maker, clip.path, name, work), store(maker, clip.path, name, work, 1))
              for name in formats}  # fmt: skip
    for name, (path, _) in copies.items():
        if pixels_digest(maker, path) != reference or decoded_pix_fmt(path) != "gray":
            raise SystemExit(f"{theme}: {name} does not decode to the mask's own gray8 pixels")
    return clip.path, clip.frames, copies


def decode_rows(theme: str, builds: dict[str, str], repeat: int, work: Path) -> list[dict]:
    """One row per (format, build): `theme`'s mask decoded alone."""
    _, frames, copies = mask_copies(theme, next(iter(builds.values())), work)
    full: dict[tuple[str, str], float] = {}
    start_up: dict[tuple[str, str], float] = {}
    for _ in range(repeat):
        for build, ffmpeg in builds.items():
            for name, (path, one) in copies.items():
                key = (name, build)
                full[key] = min(full.get(key, math.inf), decode_cpu_s(ffmpeg, path))
                start_up[key] = min(start_up.get(key, math.inf), decode_cpu_s(ffmpeg, one))
    rows = []
    for (name, build), cost in full.items():
        per_frame = (cost - start_up[name, build]) / (frames - 1)
        rows.append({"theme": theme, "format": name, "build": build,
                     "mb": round(copies[name][0].stat().st_size / 1e6, 1),
                     "decode_ms": round(1000 * max(0.0, per_frame), 2)})  # fmt: skip
    return rows


def render_rows(theme: str, builds: dict[str, str], repeat: int, work: Path) -> list[dict]:
    """One row per (format, build): the theme's own render command (bench/render_command.py),
    x264 and all, reading its mask in each of IN_RENDER's formats, alternating."""
    mask, _, copies = mask_copies(theme, next(iter(builds.values())), work, IN_RENDER)
    reel = replace(Reel(), theme=theme)
    commands = {}
    for build, ffmpeg in builds.items():
        command = render_command(reel.spec(), work / f"render-{build}", work / "cache", ffmpeg)
        for name in IN_RENDER:
            swapped = [str(copies[name][0]) if arg == str(mask) else arg for arg in command]
            assert swapped != command, "the render does not read the mask"
            commands[name, build] = swapped
    best: dict[tuple[str, str], tuple[float, float]] = {}
    for _ in range(repeat):
        for key, command in commands.items():
            cpu, started = children_cpu_s(), time.perf_counter()
            subprocess.run(command, check=True, stdin=subprocess.DEVNULL)
            sample = (time.perf_counter() - started, children_cpu_s() - cpu)
            best[key] = min(best.get(key, sample), sample)
    rows = []
    for (name, build), (wall, cpu) in best.items():
        before = best[IN_RENDER[0], build][0]
        rows.append({"theme": theme, "format": name, "build": build, "wall_s": round(wall, 2),
                     "cpu_ms": round(1000 * cpu / reel.frames, 1),
                     "x_before": round(wall / before, 3)})  # fmt: skip
    return rows


def main() -> None:
    args = parse_args()
    sys.path.insert(0, str(ROOT))
    names = BUILD_NAMES if args.ffmpeg == "both" else (args.ffmpeg,)
    builds = {name: ffmpeg_path(name) for name in names}
    work = Path(tempfile.mkdtemp(prefix="bench-mask-formats-", dir="/var/tmp"))
    everything = []
    try:
        for theme in args.themes.split(","):
            if args.in_render:
                rows = render_rows(theme, builds, args.repeat, work / theme)
                print(f"\n{theme}: its render, the mask read in each format")
                markdown_table(rows, ("format", "format"), RENDER_COLUMNS)
            else:
                rows = decode_rows(theme, builds, args.repeat, work / theme)
                print(f"\n{theme}: its mask, {Reel().size}, decoded on one thread")
                markdown_table(rows, ("format", "format"), COLUMNS)
            everything += rows
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"builds": builds, "rows": everything}, indent=2))


if __name__ == "__main__":
    main()
