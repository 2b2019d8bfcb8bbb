"""The render worker process: warm up once, then render one job at a time from its pipe.

`WorkerPool` (renderer/pool/) starts `worker_main` with multiprocessing's "spawn" context.
The worker leads its own process group, so the pool can kill it together with its FFmpeg
children in one `killpg`; it also dies with the server (PR_SET_PDEATHSIG), ignores the
terminal's SIGINT (shutdown is the server's decision) and runs at a lower CPU priority.

Its main thread only dispatches messages (renderer/messages.py), so a cancel is seen while a
render runs in a second thread.
"""

from __future__ import annotations

import ctypes
import dataclasses
import os
import pickle
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection

from renderer.messages import (
    CancelJob,
    Failed,
    Finished,
    Progress,
    Ready,
    RenderJob,
    Started,
    Stop,
    WarmupFailed,
)
from renderer.types import RenderError, RenderOptions, RenderResult

# Progress messages are rate-limited: the renderer may report every frame.
PROGRESS_INTERVAL_S = 0.1
# Error text crossing the pipe is bounded; a renderer message is a sentence, not a log.
MAX_ERROR_CHARS = 2_000
# Warm-up cards are drawn at the most common output size, so the font sizes a vertical reel
# uses are the ones loaded.
WARM_SIZE = (1080, 1920)
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class WorkerSettings:
    """What a worker is started with (pickled into the spawned process)."""

    options: RenderOptions
    nice: int
    max_duration_s: float
    parent_pid: int


def worker_main(conn: Connection, settings: WorkerSettings) -> None:
    """Entry point of a spawned worker process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.setsid()
    _die_with_parent(settings.parent_pid)
    if settings.nice:
        os.nice(settings.nice)
    sender = _Sender(conn)
    try:
        options = warm_up(settings.options)
    except Exception as exc:
        sender.send(WarmupFailed(_short(f"{type(exc).__name__}: {exc}")))
        return
    sender.send(Ready(os.getpid(), options.encoder or "", options.ffmpeg or ""))
    _serve(conn, sender, options, settings.max_duration_s)


def _die_with_parent(parent_pid: int) -> None:
    if sys.platform != "linux":
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    # The server may have died before prctl took effect; then nobody would ever signal us.
    if os.getppid() != parent_pid:
        os._exit(1)


def warm_up(options: RenderOptions) -> RenderOptions:
    """Import the renderer and settle FFmpeg and the encoder now, not at the first job; and
    draw a title card in each of the operator's themes, which loads their fonts and parses
    their character maps (a tenth of a second the first job would otherwise spend)."""
    import scenes
    import themes
    from renderer import encoder, ffmpeg, text
    from renderer.render import render  # noqa: F401 - Pillow, numpy, themes: loaded now

    found = ffmpeg.find_ffmpeg(options.ffmpeg or "auto")
    chosen = options.encoder
    if not chosen:
        working = encoder.working_encoders(found.path, options.prefer)
        if not working:
            raise RuntimeError(f"no working encoder among {', '.join(options.prefer)}")
        chosen = working[0]
    sample = scenes.parse_spec(
        {"scenes": [{"type": "title", "title": "Warm-up", "subtitle": "fonts", "duration": 1}]}
    ).scenes[0]
    for name in themes.list_themes(options.theme_dirs):
        try:
            text.draw_card_region(sample, themes.load_theme(name, options.theme_dirs), WARM_SIZE)
        except (themes.ThemeError, OSError, ValueError):
            continue  # a broken theme fails the job that asks for it, not the worker
    return dataclasses.replace(options, ffmpeg=found.path, encoder=chosen)


class _Sender:
    """conn.send from several threads (dispatcher, render, FFmpeg progress reader)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()

    def send(self, message: object) -> None:
        try:
            with self._lock:
                self._conn.send(message)
        except OSError:
            # The pool is gone; the dispatcher sees EOF and the process ends.
            pass


class _Render(threading.Thread):
    """One job on its own thread, so the dispatcher stays free to take a cancel."""

    def __init__(
        self, job: RenderJob, sender: _Sender, options: RenderOptions, max_duration_s: float
    ) -> None:
        super().__init__(name=f"render-{job.job_id}", daemon=True)
        self.job = job
        self.cancel = threading.Event()
        self._sender = sender
        self._options = dataclasses.replace(options, threads=job.threads)
        self._max_duration_s = max_duration_s
        self._last_progress = (0.0, -1)  # (sent at, total)

    def run(self) -> None:
        try:
            message: Finished | Failed = Finished(self.job.job_id, self._render())
        except RenderError as exc:
            message = Failed(self.job.job_id, _portable(exc))
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            error = RenderError(_short(f"render failed: {type(exc).__name__}: {exc}"))
            message = Failed(self.job.job_id, error)
        # Anything the renderer left running dies before the slot is reported free.
        _kill_descendants()
        self._sender.send(message)

    def _render(self) -> RenderResult:
        import scenes
        from renderer.render import render

        try:
            spec = scenes.parse_spec(self.job.spec, max_duration_s=self._max_duration_s)
        except scenes.SpecError as exc:
            if not exc.errors:
                raise RenderError(_short(str(exc))) from None
            # The first problem's path becomes the error's field; the others follow in full.
            first, *rest = exc.errors
            message = "; ".join([first.message, *(str(e) for e in rest)])
            raise RenderError(_short(message), first.path or None) from None
        self.job.output_dir.mkdir(parents=True, exist_ok=True)
        return render(
            spec, self.job.output_dir, self._options, progress=self._progress, cancel=self.cancel
        )

    def _progress(self, done: int, total: int) -> None:
        now = time.monotonic()
        sent_at, sent_total = self._last_progress
        if total == sent_total and done < total and now - sent_at < PROGRESS_INTERVAL_S:
            return
        self._last_progress = (now, total)
        self._sender.send(Progress(self.job.job_id, done, total))


def _serve(
    conn: Connection, sender: _Sender, options: RenderOptions, max_duration_s: float
) -> None:
    current: _Render | None = None
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            message = Stop()
        match message:
            case RenderJob():
                if current is not None:
                    current.join()  # already past its result: the pool only sends when free
                sender.send(Started(message.job_id))
                current = _Render(message, sender, options, max_duration_s)
                current.start()
            case CancelJob(job_id=job_id):
                if current is not None and current.job.job_id == job_id:
                    current.cancel.set()
            case Stop():
                if current is not None:
                    current.cancel.set()
                    current.join()
                return


def _portable(exc: RenderError) -> RenderError:
    """The error itself when it survives pickling intact, else a plain RenderError like it."""
    try:
        copy = pickle.loads(pickle.dumps(exc))  # noqa: S301 - our own object, round-tripped
        if type(copy) is type(exc) and (copy.message, copy.field) == (exc.message, exc.field):
            return exc
    except Exception:  # noqa: S110 - any failure means "send the plain form"
        pass
    return RenderError(_short(exc.message), exc.field)


def _kill_descendants() -> None:
    import psutil

    children = psutil.Process().children(recursive=True)
    for child in children:
        try:
            child.kill()
        except psutil.Error:
            continue
    # Reap them too, so none lingers as a zombie of this long-lived process.
    psutil.wait_procs(children, timeout=2)


def _short(text: str) -> str:
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"
