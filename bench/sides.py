"""How each side of the render benchmark is run and measured.

(a) Reelfarm in a warm worker process and (a') from a cold CLI; (b) the encode-only limit on
(a)'s decoded output and (b') on the frames exactly as Reelfarm's encoder received them;
(c) the same reel composed with MoviePy.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from measure import Measured, TreeSampler, children_cpu_s, run_tree
from reel import FPS, HEIGHT, ROOT, WIDTH
from render_command import render_command

BENCH = Path(__file__).resolve().parent


def reelfarm(
    spec_path: Path, out: Path, frames: int, threads: int, sample_rss: bool = False
) -> Measured:
    """(a) as a pool worker renders: a warm process (imports done, FFmpeg found, encoder
    probed) times render() from the call to video.mp4 and poster.jpg on disk.

    With `sample_rss` the process tree's memory is sampled every SAMPLE_S. That costs about
    2 % of a core, which would slow the render it measures, so timed runs do not sample."""
    cmd = [sys.executable, str(BENCH / "reelfarm_worker.py"), str(spec_path), str(out),
           str(threads)]  # fmt: skip
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
    seconds, cpu_s = map(float, proc.stdout.readline().split())
    proc.wait()
    if sampler:
        sampler.done.set()
        sampler.join()
    return Measured(seconds, cpu_s, frames, sampler.peak / 2**20 if sampler else 0.0)


def reelfarm_cli(spec_path: Path, out: Path, frames: int) -> Measured:
    """(a') the same render from a cold `reelfarm render` (Python start-up included)."""
    cmd = [sys.executable, "-m", "server.cli", "render", str(spec_path), "-o", str(out), "--quiet"]
    return run_tree(cmd, frames, cwd=ROOT, stdout=subprocess.DEVNULL)


def encode_limit(ffmpeg: str, frames_file: Path, frames: int, encoder_args: list[str]) -> Measured:
    """Time only piping raw yuv420p frames (in memory, /dev/shm) into FFmpeg and encoding
    them with `encoder_args`."""
    cmd = [ffmpeg, "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p",
           "-s", f"{WIDTH}x{HEIGHT}", "-r", str(FPS), "-i", "pipe:0", *encoder_args,
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
    return Measured(elapsed, cpu_s, frames)


def decoded_frames(ffmpeg: str, video: Path, raw: Path) -> Path:
    """(b) as specified: Reelfarm's output video decoded back to raw yuv420p."""
    subprocess.run([ffmpeg, "-v", "error", "-y", "-i", str(video), "-map", "0:v", "-f",
                    "rawvideo", "-pix_fmt", "yuv420p", str(raw)], check=True)  # fmt: skip
    return raw


def composed_frames(spec_path: Path, raw: Path, cache: Path) -> Path:
    """(b') the frames exactly as Reelfarm's encoder received them: the render's own FFmpeg
    command with its video output written raw instead of encoded (not timed).

    Re-encoding the decoded output (b) flatters the limit a little: a CRF 23 encode has
    already removed the fine detail that costs x264 the most."""
    args = render_command(json.loads(spec_path.read_text()), raw.parent / "composed", cache)
    video, sound, poster = (args[i + 1] for i, arg in enumerate(args) if arg == "-map")
    head = [args[0], "-nostdin", *args[1 : args.index("-map")]]
    subprocess.run([*head, "-map", video, "-f", "rawvideo", "-pix_fmt", "yuv420p", str(raw),
                    "-map", sound, "-f", "null", "-", "-map", poster, "-f", "null", "-"],
                   check=True)  # fmt: skip
    return raw


def moviepy_run(spec_path: Path, out: Path, seconds: float, threads: int) -> Measured:
    """(c) the first `seconds` of the reel composed by MoviePy (bench/moviepy_reel.py), in a
    process of its own: the tree's peak RSS is then MoviePy's alone, and only that process
    needs MoviePy installed."""
    cmd = [sys.executable, str(BENCH / "moviepy_reel.py"), str(spec_path), str(out),
           str(seconds), str(threads)]  # fmt: skip
    return run_tree(cmd, round(seconds * FPS), cwd=ROOT)
