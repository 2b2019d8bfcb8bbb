"""Instructions the benchmark reel's composition costs, counted by valgrind (callgrind).

Wall and CPU time on a shared machine drift by 20 % within minutes, more than most changes to
the filtergraph are worth. Instruction counts do not drift: the same command counts the same
to within a fraction of a percent, whatever else the machine is doing, so two versions of the
graph can be compared one after the other. They leave out what the kernel does (page faults)
and how fast memory is, so a change that counts fewer instructions is then confirmed by
timing the whole render (bench/render.py).

The render's own FFmpeg command is captured and run twice under callgrind, x264 left out
(it would take minutes and is the same for every version of the graph):
- composition: every scene, card, transition and the audio mix, with the video and the
  audio written to the null muxer uncompressed;
- audio: the same with the audio encoded as the render encodes it; the difference is the
  AAC encoder's share.

    python bench/instructions.py [--length 12]
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from reel import FPS, ROOT, reel_spec  # the reel bench/render.py times
from render_command import render_command, with_outputs

CALLGRIND_TIMEOUT_S = 1200


def variant(args: list[str], audio: list[str]) -> list[str]:
    """`args` with video and poster sent to the null muxer and the audio coded by `audio`."""
    return with_outputs(args, ["-f", "null", "-"], [*audio, "-f", "null", "-"])


def audio_codec_args(args: list[str]) -> list[str]:
    """The audio encoder options of the render's video output."""
    wanted = ("-c:a", "-aac_coder", "-q:a", "-b:a", "-ar", "-ac")
    found = []
    for i, arg in enumerate(args):
        if arg in wanted:
            found += [arg, args[i + 1]]
    return found


def instructions(cmd: list[str], work: Path, name: str) -> int:
    out = work / f"callgrind.{name}"
    subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *cmd],
        check=True,
        capture_output=True,
        timeout=CALLGRIND_TIMEOUT_S,
    )
    for line in out.read_text(errors="replace").splitlines():
        if line.startswith("summary:"):
            return int(line.split()[1])
    raise SystemExit(f"no summary in {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=float, default=12, help="reel length in seconds")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    work = Path(tempfile.mkdtemp(prefix="bench-instructions-", dir="/var/tmp"))
    try:
        sys.path.insert(0, str(ROOT))
        cmd = render_command(reel_spec(args.length), work, work / "cache")
        pcm = ["-c:a", "pcm_f32le"]
        composition = instructions(variant(cmd, pcm), work, "composition")
        with_audio = instructions(variant(cmd, audio_codec_args(cmd)), work, "audio")
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(work)
    frames = round(args.length * FPS)
    print(f"reel {args.length:g} s, {frames} frames; x264 left out")
    per_frame = composition / frames / 1e6
    print(f"composition  {composition / 1e9:7.3f} G instructions ({per_frame:.1f} M a frame)")
    print(f"audio encode {(with_audio - composition) / 1e9:7.3f} G instructions")


if __name__ == "__main__":
    main()
