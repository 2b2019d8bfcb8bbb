"""Admission gates: hold queued jobs back while the box lacks CPU, memory, disk or GPU memory.

The scheduler asks `Admission.evaluate(need)` only when a render slot is free and a job waits.
Each gate closes when its value crosses the threshold and re-opens only once the value is back
past the threshold by a margin, so a value hovering at the line does not flap jobs in and out:

- `cpu` closes when other processes' CPU >= `cpu_high_percent` and re-opens once it falls
  below `cpu_high_percent - 10`.
- `memory` closes when available memory minus the job's estimated need falls below
  `min_free_memory_mb`, and re-opens at that minimum plus 10 % (at least 64 MB).
- `disk` closes when free disk in the data dir falls below `min_free_disk_mb`, and re-opens at
  that minimum plus 10 % (at least 64 MB).
- `gpu_memory` (only with a GPU) closes when free GPU memory falls below one render's need
  (256 MB), and re-opens at that need plus 10 % (at least 64 MB).

CPU is measured **excluding this server's own process tree** (the API process, its render
workers and their FFmpeg children). While every slot renders, the box is at ~100 % CPU by
design; gating on total CPU would hold back the very slot that just freed. The pool size already
bounds our own load, so the gate only reacts to load from other tenants of the box.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import psutil

import scenes
from server.capacity import Nvml
from server.config import AdmissionConfig

# How long a sample is reused: evaluate() runs on every scheduling pass and for queue-status.
SAMPLE_TTL_S = 0.5
CPU_REOPEN_MARGIN_PERCENT = 10.0
# Floors re-open at threshold * (1 + this), and at least MIN_REOPEN_MARGIN_MB above it.
FLOOR_REOPEN_FRACTION = 0.10
MIN_REOPEN_MARGIN_MB = 64
# GPU memory one render's NVENC session and CUDA frames take, at 1080x1920.
GPU_MEMORY_PER_RENDER_MB = 256

# Memory estimate: the worker process and FFmpeg's own baseline, then bytes per output pixel
# for the frames in flight (decoded sources scaled up for zoompan, RGBA cards, the encoder's
# lookahead and reference frames). Fitted to the peak RSS of a worker and its FFmpeg rendering
# title + photo + clip reels (145 MB at 180x320, 283 MB at 540x960, 712 MB at 1080x1920), with
# about 10 % headroom.
BASE_RENDER_MEMORY_MB = 150
BYTES_PER_PIXEL_IN_FLIGHT = 320
# Each further scene keeps its own filters, and their frame pools, until the render ends (the
# whole video is one filtergraph). Measured with small photos: 10 MB a scene at 540x960 and
# 28 MB at 1080x1920 (48 scenes: 640 and 1697 MB peak). A 12 MP photo adds about 26 MB more
# to its scene, which the spec alone cannot tell.
BYTES_PER_PIXEL_PER_SCENE = 16


class Gate(Enum):
    """A reason to hold jobs back; the value is the word queue-status and metrics show."""

    CPU = "cpu"
    MEMORY = "memory"
    DISK = "disk"
    GPU_MEMORY = "gpu_memory"


@dataclass(frozen=True)
class BoxSample:
    """One reading of the box. `cpu_percent` is other processes' share of all cores."""

    cpu_percent: float
    available_memory_mb: int
    free_disk_mb: int
    gpu_memory_free_mb: int | None  # None: no GPU seen


def estimate_memory_mb(spec: scenes.Spec) -> int:
    """Peak memory one render of `spec` needs. Rendering streams frames, so it depends on the
    frame size and the number of scenes, not on the duration."""
    pixels = spec.size[0] * spec.size[1]
    per_pixel = BYTES_PER_PIXEL_IN_FLIGHT + (len(spec.scenes) - 1) * BYTES_PER_PIXEL_PER_SCENE
    return BASE_RENDER_MEMORY_MB + (pixels * per_pixel) // 2**20


@dataclass(frozen=True)
class _Reading:
    sample: BoxSample
    taken_at: float


class Admission:
    """Decides whether the next queued job may start, from a cached sample of the box."""

    def __init__(
        self,
        config: AdmissionConfig,
        data_dir: Path,
        sample: Callable[[], BoxSample] | None = None,
        *,
        gpu_memory_per_render_mb: int = GPU_MEMORY_PER_RENDER_MB,
        sample_ttl_s: float = SAMPLE_TTL_S,
    ) -> None:
        self._config = config
        self._gpu_need_mb = gpu_memory_per_render_mb
        self._sample_ttl_s = sample_ttl_s
        self._sampler: BoxSampler | None = None
        if sample is None:
            self._sampler = BoxSampler(data_dir)
            sample = self._sampler.sample
        self._sample = sample
        self._reading: _Reading | None = None
        self._closed: dict[Gate, bool] = dict.fromkeys(Gate, False)
        self._holding: Gate | None = None
        # The scheduler may evaluate off the event loop while queue-status snapshots on it.
        self._lock = threading.RLock()

    def reconfigure(self, config: AdmissionConfig) -> None:
        """New thresholds (SIGHUP). Gate states carry over; the next evaluate() re-judges them."""
        self._config = config

    def evaluate(self, estimated_memory_mb: int, *, rendering: int = 1) -> str | None:
        """None to admit the next job (needing `estimated_memory_mb`), else the closed gate.

        With nothing `rendering`, the job's own size does not hold it, only the memory floor:
        a job larger than the box can spare beside other renders then runs alone, rather than
        waiting for memory that no finishing render will free."""
        if rendering == 0:
            estimated_memory_mb = 0
        with self._lock:
            sample = self.sample()
            holding: Gate | None = None
            # Every gate is judged on every call, so each one's hysteresis state stays current
            # even while an earlier gate is the one reported.
            for gate in Gate:
                closed = self._judge(gate, sample, estimated_memory_mb)
                self._closed[gate] = closed
                if closed and holding is None:
                    holding = gate
            self._holding = holding
        return holding.value if holding else None

    @property
    def holding(self) -> str | None:
        """The gate that held the job at the last evaluate(), or None."""
        return self._holding.value if self._holding else None

    def sample(self) -> BoxSample:
        """The latest reading of the box, taken afresh at most every `sample_ttl_s`."""
        with self._lock:
            now = time.monotonic()
            if self._reading is None or now - self._reading.taken_at >= self._sample_ttl_s:
                self._reading = _Reading(self._sample(), now)
            return self._reading.sample

    def snapshot(self) -> dict[str, Any]:
        """What the gates see, for queue-status and metrics (samples at most every 0.5 s)."""
        sample = self.sample()
        return {
            "holding": self.holding,
            "cpu_percent": round(sample.cpu_percent, 1),
            "available_memory_mb": sample.available_memory_mb,
            "free_disk_mb": sample.free_disk_mb,
            "gpu_memory_free_mb": sample.gpu_memory_free_mb,
            "thresholds": {
                "cpu_high_percent": self._config.cpu_high_percent,
                "min_free_memory_mb": self._config.min_free_memory_mb,
                "min_free_disk_mb": self._config.min_free_disk_mb,
            },
        }

    def close(self) -> None:
        """Release the NVML session of the default sampler."""
        if self._sampler is not None:
            self._sampler.close()

    def _judge(self, gate: Gate, sample: BoxSample, need_mb: int) -> bool:
        was_closed = self._closed[gate]
        config = self._config
        match gate:
            case Gate.CPU:
                high = config.cpu_high_percent
                if was_closed:
                    return sample.cpu_percent >= high - CPU_REOPEN_MARGIN_PERCENT
                return sample.cpu_percent >= high
            case Gate.MEMORY:
                return _floor_closed(
                    sample.available_memory_mb - need_mb, config.min_free_memory_mb, was_closed
                )
            case Gate.DISK:
                return _floor_closed(sample.free_disk_mb, config.min_free_disk_mb, was_closed)
            case Gate.GPU_MEMORY:
                if sample.gpu_memory_free_mb is None:
                    return False
                return _floor_closed(sample.gpu_memory_free_mb, self._gpu_need_mb, was_closed)


def _floor_closed(value: int, minimum: int, was_closed: bool) -> bool:
    if not was_closed:
        return value < minimum
    margin = max(MIN_REOPEN_MARGIN_MB, int(minimum * FLOOR_REOPEN_FRACTION))
    return value < minimum + margin


class BoxSampler:
    """Reads the box with psutil, `shutil.disk_usage` and NVML.

    CPU is the share of all cores used by processes outside this one's tree, from the change
    in system and own CPU times between two samples (the first sample reads 0 %).
    """

    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir
        self._nvml = Nvml()
        self._own = psutil.Process(os.getpid())
        self._last: tuple[float, float, float] | None = None  # (total, busy, own) seconds

    def sample(self) -> BoxSample:
        return BoxSample(
            cpu_percent=self._foreign_cpu_percent(),
            available_memory_mb=int(psutil.virtual_memory().available) // 2**20,
            free_disk_mb=self._free_disk_mb(),
            gpu_memory_free_mb=self._gpu_memory_free_mb(),
        )

    def close(self) -> None:
        self._nvml.close()

    def _foreign_cpu_percent(self) -> float:
        times = psutil.cpu_times()
        # As psutil.cpu_percent does: guest time is already inside user time on Linux.
        total = sum(times) - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0)
        idle = times.idle + getattr(times, "iowait", 0.0)
        own = self._own_cpu_seconds()
        last, self._last = self._last, (total, total - idle, own)
        if last is None or total <= last[0]:
            return 0.0
        busy_delta = (total - idle) - last[1]
        own_delta = max(0.0, own - last[2])
        return max(0.0, min(100.0, 100.0 * (busy_delta - own_delta) / (total - last[0])))

    def _own_cpu_seconds(self) -> float:
        # This process with the children it reaped (finished workers), plus every live
        # descendant with its own reaped children (FFmpeg runs that ended).
        seconds = _cpu_seconds(self._own)
        for child in self._own.children(recursive=True):
            seconds += _cpu_seconds(child)
        return seconds

    def _free_disk_mb(self) -> int:
        path = self._data_dir
        # The data dir may not exist yet on first start; its nearest existing parent is the disk.
        while not path.exists() and path != path.parent:
            path = path.parent
        try:
            return int(shutil.disk_usage(path).free) // 2**20
        except OSError:
            return 0

    def _gpu_memory_free_mb(self) -> int | None:
        gpus = self._nvml.facts()
        if not gpus:
            return None
        return max(gpu.memory_free_mb for gpu in gpus)


def _cpu_seconds(process: psutil.Process) -> float:
    try:
        t = process.cpu_times()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return 0.0
    return t.user + t.system + t.children_user + t.children_system
