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
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
ASSETS = (ROOT.parent / "shared" / "assets").resolve()
WIDTH, HEIGHT, FPS = 1080, 1920, 30
SAMPLE_S = 0.05


def reel_spec(length_s: float) -> dict:
    """Six scenes of equal length: title, three photos, the clip, outro; fades; music."""
    each = length_s / 6
    photos = [
        ("coffee.jpg", "zoom-in", "Fresh every morning"),
        ("rocket.jpg", "pan-left", "Launch day"),
        ("astronaut.jpg", "zoom-out", "The view from up there"),
    ]
    scenes = [
        {
            "type": "title",
            "title": "Reelfarm benchmark",
            "subtitle": "one filtergraph",
            "duration": each,
        }
    ]
    for name, motion, caption in photos:
        scenes.append(
            {
                "type": "image",
                "src": str(ASSETS / name),
                "motion": motion,
                "caption": caption,
                "duration": each,
            }
        )
    scenes.append(
        {
            "type": "video",
            "src": str(ASSETS / "clip-mandelbrot.mp4"),
            "caption": "And a clip",
            "duration": each,
        }
    )
    scenes.append(
        {
            "type": "outro",
            "title": "Thanks for watching",
            "text": "reelfarm.example",
            "duration": each,
        }
    )
    return {
        "theme": "default",
        "width": WIDTH,
        "height": HEIGHT,
        "fps": FPS,
        "transition": {"type": "fade", "duration": 0.5},
        "scenes": scenes,
        "audio": {"music": str(ASSETS / "music.m4a")},
        "output": {"quality": "standard"},
    }


@dataclass
class Measured:
    seconds: float  # wall
    cpu_s: float  # user + system of every process involved
    frames: int
    peak_rss_mb: float = 0.0

    @property
    def fps(self) -> float:
        return self.frames / self.seconds

    @property
    def cpu_ms_per_frame(self) -> float:
        return 1000 * self.cpu_s / self.frames


class TreeSampler(threading.Thread):
    """Peak summed RSS of a process and all its descendants, sampled every SAMPLE_S."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.peak = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            total = 0
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            for proc in procs:
                with contextlib.suppress(psutil.NoSuchProcess):
                    total += proc.memory_info().rss
            self.peak = max(self.peak, total)
            self.done.wait(SAMPLE_S)


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_tree(cmd: list[str], frames: int, **kwargs: object) -> Measured:
    """Run `cmd` to the end: wall time, CPU of it and its children, peak RSS of the tree."""
    cpu_before = children_cpu_s()
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, **kwargs)  # type: ignore[call-overload]
    sampler = TreeSampler(proc.pid)
    sampler.start()
    proc.wait()
    elapsed = time.perf_counter() - started
    sampler.done.set()
    sampler.join()
    if proc.returncode:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}")
    return Measured(elapsed, children_cpu_s() - cpu_before, frames, sampler.peak / 2**20)


def reelfarm(
    spec_path: Path, out: Path, frames: int, threads: int, sample_rss: bool = False
) -> Measured:
    """(a) as a pool worker renders: a warm process (imports done, FFmpeg found, encoder
    probed) times render() from the call to video.mp4 and poster.jpg on disk.

    With `sample_rss` the process tree's memory is sampled every SAMPLE_S. That costs about
    2 % of a core, which would slow the render it measures, so timed runs do not sample."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--reelfarm-child", str(spec_path),
           str(out), str(threads)]  # fmt: skip
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


def reelfarm_child(spec_path: Path, out: Path, threads: int) -> None:
    import scenes
    from renderer import AssetPolicy, RenderOptions, render
    from renderer.worker import warm_up

    policy = AssetPolicy(allowed_dirs=(ASSETS,), cache_dir=out.parent / "cache")
    options = warm_up(RenderOptions(threads=threads, assets=policy))  # as a pool worker starts
    spec = scenes.parse_spec(json.loads(spec_path.read_text()))
    print("ready", flush=True)
    sys.stdin.readline()

    def cpu() -> float:
        times = os.times()  # this process and its reaped children (FFmpeg)
        return times.user + times.system + times.children_user + times.children_system

    cpu_before, started = cpu(), time.perf_counter()
    render(spec, out, options)
    print(time.perf_counter() - started, cpu() - cpu_before, flush=True)


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


class _Captured(Exception):
    def __init__(self, args: list[str]):
        super().__init__()
        self.command = args


def render_command(spec: dict, work: Path, cache: Path) -> list[str]:
    """The FFmpeg command render() runs for `spec` (not run). The files it reads from the
    render's temporary dir (cards), which render() removes as it unwinds, are kept in `work`."""
    import scenes
    from renderer import AssetPolicy, RenderOptions, render

    module = sys.modules["renderer.render"]

    def capture(args: list[str], **_: object) -> str:
        tmp = next(Path(arg).parent for arg in args if arg.endswith("video.mp4"))
        kept = work / "inputs"
        shutil.copytree(tmp, kept, symlinks=True)
        raise _Captured([arg.replace(str(tmp), str(kept)) for arg in args])

    original = module.run_ffmpeg
    module.run_ffmpeg = capture
    try:
        policy = AssetPolicy(allowed_dirs=(ASSETS,), cache_dir=cache)
        render(scenes.parse_spec(spec), work / "out", RenderOptions(assets=policy))
    except _Captured as captured:
        return captured.command
    finally:
        module.run_ffmpeg = original
    raise SystemExit("render() finished without running FFmpeg")


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


def best(runs: list[Measured]) -> Measured:
    """The fastest of repeated runs: on a shared machine, the one least disturbed."""
    return min(runs, key=lambda m: m.seconds)


def moviepy_run(spec_path: Path, out: Path, seconds: float, threads: int) -> Measured:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--moviepy-child", str(spec_path),
           str(out), str(seconds), str(threads)]  # fmt: skip
    return run_tree(cmd, round(seconds * FPS), cwd=ROOT)


def moviepy_child(spec_path: Path, out: Path, seconds: float, threads: int) -> None:
    """The reel as a MoviePy 2 user writes it: one clip per scene, crossfaded, composited."""
    import numpy as np
    from moviepy import AudioFileClip, CompositeVideoClip, ImageClip, VideoFileClip, afx, vfx
    from PIL import Image, ImageDraw, ImageFont

    from themes.fonts import family_path

    spec = json.loads(spec_path.read_text())
    found = family_path("noto-sans")
    font_path = str(found) if found else None

    def text_image(lines: list[tuple[str, int]]) -> np.ndarray:
        card = Image.new("RGBA", (WIDTH, HEIGHT), (0, 0, 0, 0))
        draw = ImageDraw.Draw(card)
        y = HEIGHT // 2 - 100
        for text, size in lines:
            font = ImageFont.truetype(font_path, size) if font_path else ImageFont.load_default()
            width = draw.textlength(text, font=font)
            draw.text(((WIDTH - width) / 2 + 3, y + 3), text, font=font, fill=(0, 0, 0, 160))
            draw.text(((WIDTH - width) / 2, y), text, font=font, fill=(255, 255, 255, 255))
            y += int(size * 1.4)
        return np.asarray(card)

    def caption(text: str, duration: float) -> ImageClip:
        arr = text_image([(text, 56)])
        return ImageClip(arr, duration=duration).with_position(("center", 0.3), relative=True)

    fade = spec["transition"]["duration"]
    clips = []
    start = 0.0
    background = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    background[:] = (17, 24, 39)
    for scene in spec["scenes"]:
        duration = scene["duration"]
        layers = []
        if scene["type"] in ("title", "outro"):
            layers.append(ImageClip(background, duration=duration))
            lines = [
                (scene.get("title", ""), 110),
                (scene.get("subtitle") or scene.get("text") or "", 56),
            ]
            layers.append(ImageClip(text_image(lines), duration=duration))
        elif scene["type"] == "image":
            photo = ImageClip(scene["src"], duration=duration)
            cover = max(WIDTH / photo.w, HEIGHT / photo.h) * 1.15
            photo = photo.resized(cover)
            if scene["motion"] == "zoom-in":
                photo = photo.resized(lambda t, d=duration: 1 + 0.15 * t / d)
            elif scene["motion"] == "zoom-out":
                photo = photo.resized(lambda t, d=duration: 1.15 - 0.15 * t / d)
            photo = photo.with_position("center")
            layers += [photo, caption(scene["caption"], duration)]
        else:
            video = VideoFileClip(scene["src"]).subclipped(0, duration).without_audio()
            video = video.resized(max(WIDTH / video.w, HEIGHT / video.h)).with_position("center")
            layers += [video, caption(scene["caption"], duration)]
        clip = CompositeVideoClip(layers, size=(WIDTH, HEIGHT)).with_duration(duration)
        clip = clip.with_start(max(0.0, start - fade / 2))
        if clips:
            clip = clip.with_effects([vfx.CrossFadeIn(fade)])
        clips.append(clip)
        start += duration
    total = start
    reel = CompositeVideoClip(clips, size=(WIDTH, HEIGHT)).with_duration(total)
    music = AudioFileClip(spec["audio"]["music"]).with_effects(
        [afx.AudioLoop(duration=total), afx.MultiplyVolume(0.35)]
    )
    reel = reel.with_audio(music).subclipped(0, min(seconds, total))
    reel.write_videofile(
        str(out),
        fps=FPS,
        codec="libx264",
        preset="veryfast",
        threads=threads or None,
        audio_codec="aac",
        ffmpeg_params=["-crf", "23"],
        logger=None,
    )


def main() -> None:
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
    parser.add_argument("--moviepy-child", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--reelfarm-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reelfarm_child:
        sys.path.insert(0, str(ROOT))
        spec, out, threads = args.reelfarm_child
        reelfarm_child(Path(spec), Path(out), int(threads))
        return
    if args.moviepy_child:
        spec, out, seconds, threads = args.moviepy_child
        moviepy_child(Path(spec), Path(out), float(seconds), int(threads))
        return

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
            frames = round(length * FPS)
            out = work / f"reel-{length:g}s"
            cold = reelfarm_cli(spec_path, work / f"reel-{length:g}s-cli.mp4", frames)
            shm = Path(tempfile.mkdtemp(dir="/dev/shm" if Path("/dev/shm").is_dir() else work))
            try:
                # Peak memory from a run of its own; it also makes the output (b) decodes.
                rss = reelfarm(spec_path, out, frames, args.threads, sample_rss=True)
                raw = decoded_frames(ffmpeg, out / "video.mp4", shm / "decoded.yuv")
                # (a) and (b) alternate, so a shared machine's drift between runs reaches both.
                runs_a, runs_b = [], []
                for _ in range(args.repeat):
                    runs_a.append(reelfarm(spec_path, out, frames, args.threads))
                    runs_b.append(encode_limit(ffmpeg, raw, frames, args_enc))
                a, b = best(runs_a), best(runs_b)
                raw.unlink()
                raw = composed_frames(spec_path, shm / "composed.yuv", work / "cache")
                exact = best(
                    [encode_limit(ffmpeg, raw, frames, args_enc) for _ in range(args.repeat)]
                )
            finally:
                shutil.rmtree(shm, ignore_errors=True)
            if moviepy is None and args.moviepy_seconds > 0:
                cut = min(args.moviepy_seconds, length)
                moviepy = moviepy_run(spec_path, work / "moviepy.mp4", cut, args.threads)
            row = {
                "length_s": length,
                "frames": frames,
                "reelfarm_fps": round(a.fps, 1),
                "reelfarm_cold_cli_fps": round(cold.fps, 1),
                "encode_only_fps": round(b.fps, 1),
                "encode_only_composed_fps": round(exact.fps, 1),
                "moviepy_fps": round(moviepy.fps, 2) if moviepy else None,
                "a_over_b": round(a.fps / b.fps, 3),
                "a_over_c": round(a.fps / moviepy.fps, 1) if moviepy else None,
                "reelfarm_cpu_ms_per_frame": round(a.cpu_ms_per_frame, 1),
                "encode_only_cpu_ms_per_frame": round(b.cpu_ms_per_frame, 1),
                "moviepy_cpu_ms_per_frame": round(moviepy.cpu_ms_per_frame, 1) if moviepy else None,
                "a_over_b_by_cpu": round(b.cpu_s / a.cpu_s, 3),
                "a_over_b_composed": round(a.fps / exact.fps, 3),
                "a_over_b_composed_by_cpu": round(exact.cpu_s / a.cpu_s, 3),
                "encode_only_composed_cpu_ms_per_frame": round(exact.cpu_ms_per_frame, 1),
                "reelfarm_peak_rss_mb": round(rss.peak_rss_mb),
                "moviepy_peak_rss_mb": round(moviepy.peak_rss_mb) if moviepy else None,
            }
            results.append(row)
            print(json.dumps(row), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print()
    print(
        "| reel | (a) Reelfarm fps | (b) encode-only fps | (b') composed frames fps "
        "| (c) MoviePy fps | a/b | a/b' | a/c | a/b, a/b' by CPU time | peak RSS (a) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in results:
        print(
            f"| {row['length_s']:g} s | {row['reelfarm_fps']} | {row['encode_only_fps']} | "
            f"{row['encode_only_composed_fps']} | {row['moviepy_fps']} | {row['a_over_b']} | "
            f"{row['a_over_b_composed']} | {row['a_over_c']} | {row['a_over_b_by_cpu']}, "
            f"{row['a_over_b_composed_by_cpu']} | {row['reelfarm_peak_rss_mb']} MB |"
        )
    if len(results) >= 2:
        growth = results[-1]["reelfarm_peak_rss_mb"] / results[0]["reelfarm_peak_rss_mb"] - 1
        print(
            f"\npeak RSS growth {results[0]['length_s']:g} s → {results[-1]['length_s']:g} s: "
            f"{100 * growth:+.1f} %"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
