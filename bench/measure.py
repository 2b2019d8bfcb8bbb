"""Wall time, CPU time and peak memory of the processes a benchmark side runs."""

from __future__ import annotations

import contextlib
import resource
import subprocess
import threading
import time
from dataclasses import dataclass

import psutil

SAMPLE_S = 0.05


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


def best(runs: list[Measured]) -> Measured:
    """The fastest of repeated runs: on a shared machine, the one least disturbed."""
    return min(runs, key=lambda m: m.seconds)


def least_cpu(runs: list[Measured]) -> Measured:
    """The run that took the least CPU time: the one least disturbed by other work."""
    return min(runs, key=lambda m: m.cpu_s)
