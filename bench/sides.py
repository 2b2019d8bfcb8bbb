"""How each side of the render benchmark is run and measured.

(a) Reelfarm in a warm worker process; (a') the same render from a new `reelfarm render`
process, with the cache as earlier runs left it ("cold CLI") or empty ("first use"); (b) the
encode-only limit on (a)'s decoded output and (b') on the frames exactly as Reelfarm's encoder
received them; (c) the same reel composed with MoviePy. Every side runs on one FFmpeg build.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from measure import Measured, TreeSampler, children_cpu_s, run_tree
from reel import ROOT, Reel
from render_builds import Build
from render_command import render_command, with_outputs

BENCH = Path(__file__).resolve().parent


def reelfarm(
    spec_path: Path,
    out: Path,
    reel: Reel,
    build: Build,
    cache: Path,
    threads: int,
    sample_rss: bool = False,
) -> Measured:
    """(a) as a pool worker renders: a warm process (imports done, FFmpeg found, encoder
    probed, fonts loaded) times render() from the call to video.mp4 and poster.jpg on disk.

    With `sample_rss` the process tree's memory is sampled every SAMPLE_S. That costs about
    2 % of a core, which would slow the render it measures, so timed runs do not sample."""
    cmd = [sys.executable, str(BENCH / "reelfarm_worker.py"), str(spec_path), str(out),
           str(threads), build.ffmpeg, str(cache)]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        raise SystemExit("the Reelfarm worker did not warm up")
    sampler = TreeSampler(proc.pid) if sample_rss else None
    if sampler:
        sampler.start()
    proc.stdin.write("go\n")
    proc.stdin.flush()
    timing = proc.stdout.readline().split()
    if proc.wait() or len(timing) != 2:
        raise SystemExit(f"the Reelfarm worker failed ({proc.returncode}) on {spec_path}")
    seconds, cpu_s = map(float, timing)
    if sampler:
        sampler.done.set()
        sampler.join()
    return Measured(seconds, cpu_s, reel.frames, sampler.peak / 2**20 if sampler else 0.0)


def cli_config(path: Path, build: Build, cache: Path) -> Path:
    """A config.toml that points `reelfarm render` at this FFmpeg build and asset cache."""
    path.write_text(
        f"[encoder]\nffmpeg = {json.dumps(build.ffmpeg)}\n\n"
        f"[assets]\ncache_dir = {json.dumps(str(cache))}\n"
    )
    return path


def reelfarm_cli(spec_path: Path, out: Path, reel: Reel, config: Path) -> Measured:
    """(a') the same render from a new `reelfarm render` process (Python start-up included),
    with the FFmpeg build and cache dir `config` names."""
    cmd = [sys.executable, "-m", "server.cli", "render", str(spec_path), "-o", str(out),
           "--quiet", "--config", str(config)]  # fmt: skip
    # An installed Reelfarm runs from bytecode compiled once; a shell that forbids writing it
    # would make every CLI run compile the project's modules again (~0.1 s).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return run_tree(cmd, reel.frames, cwd=ROOT, stdout=subprocess.DEVNULL, env=env)


def encode_limit(build: Build, frames_file: Path, reel: Reel) -> Measured:
    """Time only piping raw yuv420p frames (in memory, /dev/shm) into FFmpeg and encoding
    them with the build's encoder arguments."""
    cmd = [build.ffmpeg, "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p",
           "-s", reel.size, "-r", str(reel.fps), "-i", "pipe:0", *build.encoder_args,
           "-f", "mp4", str(frames_file.with_suffix(".mp4"))]  # fmt: skip
    with frames_file.open("rb") as source:
        cpu_before, started = children_cpu_s(), time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
        assert proc.stdin is not None
        shutil.copyfileobj(source, proc.stdin, 8 * 2**20)
        proc.stdin.close()
        proc.wait()
        elapsed = time.perf_counter() - started
        cpu_s = children_cpu_s() - cpu_before
    if proc.returncode:
        raise SystemExit("encode-only run failed")
    return Measured(elapsed, cpu_s, reel.frames)


def _checked(raw: Path, reel: Reel) -> Path:
    """`raw`, once it is sure to hold the reel's every frame: (b) and (b') are timed on it."""
    frames = raw.stat().st_size / (reel.width * reel.height * 3 // 2)
    if frames != reel.frames:
        raise SystemExit(f"{raw}: {frames:g} frames, not the reel's {reel.frames}")
    return raw


def decoded_frames(build: Build, video: Path, raw: Path, reel: Reel) -> Path:
    """(b) as specified: Reelfarm's output video decoded back to raw yuv420p."""
    subprocess.run([build.ffmpeg, "-v", "error", "-y", "-i", str(video), "-map", "0:v", "-f",
                    "rawvideo", "-pix_fmt", "yuv420p", str(raw)], check=True)  # fmt: skip
    return _checked(raw, reel)


def composed_frames(spec_path: Path, raw: Path, cache: Path, build: Build, reel: Reel) -> Path:
    """(b') the frames exactly as Reelfarm's encoder received them: the render's own FFmpeg
    command with its video output written raw instead of encoded (not timed).

    Re-encoding the decoded output (b) flatters the limit a little: a CRF 23 encode has
    already removed the fine detail that costs x264 the most."""
    spec = json.loads(spec_path.read_text())
    args = render_command(spec, raw.parent / f"composed-{build.name}", cache, build.ffmpeg)
    video = ["-f", "rawvideo", "-pix_fmt", "yuv420p", str(raw)]
    subprocess.run(with_outputs(args, video, ["-f", "null", "-"]), check=True)
    shutil.rmtree(raw.parent / f"composed-{build.name}", ignore_errors=True)
    return _checked(raw, reel)


def moviepy_run(spec_path: Path, out: Path, seconds: float, threads: int) -> Measured:
    """(c) `seconds` of the reel, from every scene, composed by MoviePy (bench/moviepy_reel.py)
    in a process of its own: the tree's peak RSS is then MoviePy's alone, and only that
    process needs MoviePy installed. Wall and CPU time are the composing and writing that
    the script times, its imports left out."""
    cmd = [sys.executable, str(BENCH / "moviepy_reel.py"), str(spec_path), str(out),
           str(seconds), str(threads)]  # fmt: skip
    printed = out.with_suffix(".timing")
    with printed.open("w") as stdout:
        whole = run_tree(cmd, 1, cwd=ROOT, stdout=stdout)  # for its peak RSS: frames unknown yet
    wall, cpu, frames = printed.read_text().split()[-3:]
    return Measured(float(wall), float(cpu), int(frames), whole.peak_rss_mb)
