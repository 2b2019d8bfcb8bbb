"""The one FFmpeg wrapper: finding the binary, running it with progress, cancelling it for sure.

Every FFmpeg process the renderer starts goes through `run_ffmpeg`: it runs in its own process
group (so a kill reaches anything it spawned) with PR_SET_PDEATHSIG=SIGKILL (so it dies with the
thread that started it, even when that worker is killed hard), its `-progress` output is parsed
into frames done, and it is killed within a poll interval when `cancel` is set.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import IO, Literal

from renderer.types import ProgressCallback, RenderCancelled, RenderError

FFmpegSource = Literal["configured", "system", "bundled"]

# How often the waiting thread looks at the cancel event and the deadline.
POLL_S = 0.05
STDERR_TAIL_LINES = 40
PR_SET_PDEATHSIG = 1
BUILDS = ("system", "bundled")
# Which build "auto" takes when both are present (BENCHMARKS.md, "Which FFmpeg auto takes"):
# x264 encodes at the same speed on both, and the static build starts in a tenth of the time.
AUTO_PREFERENCE = ("bundled", "system")
AUTO_REASON = "the same x264 speed, and it starts in a tenth of the time"
ENV_OVERRIDE = "REELFARM_FFMPEG"


@dataclass(frozen=True)
class FFmpegInfo:
    """Which FFmpeg the renderer uses, where it came from, and why that one."""

    path: str
    version: str
    source: FFmpegSource
    reason: str = field(default="", compare=False)


class FFmpegFailed(RenderError):
    """FFmpeg exited non-zero; `stderr` holds the tail of what it said."""

    def __init__(self, message: str, stderr: str, returncode: int):
        self.stderr = stderr
        self.returncode = returncode
        super().__init__(message)


def find_ffmpeg(configured: str = "auto") -> FFmpegInfo:
    """The FFmpeg to run: a configured path, a named build ("system": `ffmpeg` on PATH,
    "bundled": imageio-ffmpeg's), or "auto", which takes the first of AUTO_PREFERENCE found.
    With "auto", REELFARM_FFMPEG (a path or a build name) decides instead: it lets the whole
    suite, or one render, run on a chosen build without editing any config."""
    chosen, via = configured or "auto", "[encoder] ffmpeg"
    if chosen == "auto" and os.environ.get(ENV_OVERRIDE, "").strip():
        chosen, via = os.environ[ENV_OVERRIDE].strip(), ENV_OVERRIDE
    if chosen == "auto":
        return _auto()
    if chosen in BUILDS:
        path = _build_path(chosen)
        if path is None:
            raise RenderError(f"{via} = {chosen!r}, but there is no {chosen} FFmpeg here")
        return FFmpegInfo(path, _version(path), chosen, f"{via} = {chosen!r}")  # type: ignore[arg-type]
    path = shutil.which(chosen) or chosen
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise RenderError(f"configured ffmpeg not found or not executable: {chosen}")
    return FFmpegInfo(path, _version(path), "configured", f"{via} = {chosen!r}")


def _auto() -> FFmpegInfo:
    found = {build: path for build in AUTO_PREFERENCE if (path := _build_path(build))}
    if not found:
        raise RenderError("no ffmpeg on PATH and none bundled (pip install imageio-ffmpeg)")
    build = next(iter(found))
    path = found[build]
    if len(found) > 1:
        # No version asked of the others: each FFmpeg start costs time on every render.
        others = ", ".join(f"{b} ({p})" for b, p in found.items() if b != build)
        reason = f"auto: {build} preferred over {others} ({AUTO_REASON})"
    else:
        reason = f"auto: the only build found ({' and '.join(BUILDS)} looked for)"
    return FFmpegInfo(path, _version(path), build, reason)  # type: ignore[arg-type]


def _build_path(build: str) -> str | None:
    if build == "system":
        return shutil.which("ffmpeg")
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return None


@lru_cache(maxsize=8)
def _version(path: str) -> str:
    try:
        out = subprocess.run(
            [path, "-hide_banner", "-version"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RenderError(f"cannot run ffmpeg at {path}: {exc}") from None
    match = re.search(r"ffmpeg version (\S+)", out)
    if not match:
        raise RenderError(f"{path} does not look like ffmpeg")
    return match.group(1)


@lru_cache(maxsize=1)
def _prctl() -> Callable[..., int] | None:
    # Looked up before fork: calling dlopen between fork and exec can deadlock.
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def _child_setup(prctl: Callable[..., int] | None, parent_pid: int) -> Callable[[], None]:
    def setup() -> None:
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            # The parent may have died before prctl took effect: then nobody would kill us.
            if os.getppid() != parent_pid:
                os._exit(1)

    return setup


def spawn(args: Sequence[str], **popen_kwargs: object) -> subprocess.Popen[bytes]:
    """Start FFmpeg in its own process group, tied to the life of the calling thread."""
    return subprocess.Popen(  # type: ignore[call-overload,no-any-return]
        list(args),
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=_child_setup(_prctl(), os.getpid()),
        **popen_kwargs,
    )


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL FFmpeg's whole process group and reap it."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def run_ffmpeg(
    args: Sequence[str],
    *,
    total_frames: int = 0,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    timeout_s: float | None = None,
) -> str:
    """Run FFmpeg (`args[0]` is the binary) to completion; return the tail of its stderr.

    `-progress pipe:1` is added so frames done reach `progress(done, total_frames)`.
    Raises RenderCancelled when `cancel` is set (FFmpeg is killed first), FFmpegFailed on a
    non-zero exit, RenderError when `timeout_s` passes.
    """
    cmd = [args[0], "-nostdin", "-progress", "pipe:1", "-nostats", *args[1:]]
    proc = spawn(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
    assert proc.stdout is not None and proc.stderr is not None
    readers = [
        threading.Thread(
            target=_read_progress,
            args=(proc.stdout, total_frames, progress),
            name="ffmpeg-progress",
            daemon=True,
        ),
        threading.Thread(
            target=_read_stderr, args=(proc.stderr, tail), name="ffmpeg-stderr", daemon=True
        ),
    ]
    for reader in readers:
        reader.start()
    deadline = time.monotonic() + timeout_s if timeout_s else None
    try:
        while True:
            try:
                returncode = proc.wait(timeout=POLL_S)
                break
            except subprocess.TimeoutExpired:
                pass
            if cancel is not None and cancel.is_set():
                kill_group(proc)
                raise RenderCancelled()
            if deadline is not None and time.monotonic() > deadline:
                kill_group(proc)
                raise RenderError(f"ffmpeg took longer than {timeout_s:g}s")
    finally:
        kill_group(proc)
        for reader in readers:
            reader.join(timeout=5)
        proc.stdout.close()
        proc.stderr.close()
    stderr = "\n".join(tail)
    if returncode != 0:
        raise FFmpegFailed(_summary(stderr, returncode), stderr, returncode)
    return stderr


def _read_progress(stream: IO[bytes], total_frames: int, progress: ProgressCallback | None) -> None:
    frames = 0
    for raw in iter(stream.readline, b""):
        key, _, value = raw.decode("utf-8", "replace").strip().partition("=")
        if key == "frame" and value.isdigit():
            frames = int(value)
            if progress is not None and total_frames:
                _report(progress, min(frames, total_frames), total_frames)


def _report(progress: ProgressCallback, done: int, total: int) -> None:
    # A failing progress callback must not stop the render or the reader thread.
    with contextlib.suppress(Exception):
        progress(done, total)


def _read_stderr(stream: IO[bytes], tail: deque[str]) -> None:
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "replace").rstrip()
        if line:
            tail.append(line[:500])


# Lines FFmpeg prints on the way out of any failure; the cause is elsewhere.
_GENERIC = (
    "Conversion failed",
    "Nothing was written",
    "Task finished with error",
    "Terminating thread",
    "Could not open encoder before EOF",
    "Error while filtering",
    "Error closing",
    "Error opening output",
)


def _summary(stderr: str, returncode: int) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    causes = [line for line in lines if not any(generic in line for generic in _GENERIC)]
    detail = (causes or lines or [f"exit status {returncode}"])[0]
    # "[vost#0:0/libx264 @ 0x55…] msg" → "msg": the addresses mean nothing to a user.
    return "ffmpeg failed: " + re.sub(r"^(\[[^]]*\] ?)+", "", detail)
