"""Gauges read at scrape time: this box's CPU, memory, disk and GPUs, and the build.

Reading when Prometheus scrapes means they are never stale and cost nothing in between. GPU
families exist only on a box where NVML sees GPUs.
"""

from __future__ import annotations

import os
import platform
import shutil
import threading
from collections.abc import Iterable, Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from renderer.gpu import GpuFacts, Nvml


class BoxCollector(Collector):
    """CPU, memory and data-dir disk of this box, and its GPUs via NVML, read at scrape time."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._lock = threading.Lock()
        self._last_cpu: Any = None  # psutil cpu_times at the previous scrape
        self._nvml: Nvml | None = None

    def describe(self) -> Iterable[Metric]:
        # Declared so the registry never calls collect() at registration time; the families
        # are dynamic (GPUs appear only on GPU boxes).
        return ()

    def collect(self) -> Iterator[Metric]:
        yield from self._cpu()
        yield from self._memory()
        yield from self._disk()
        yield from gpu_families(self._gpus())

    def close(self) -> None:
        with self._lock:
            if self._nvml is not None:
                self._nvml.close()
                self._nvml = None

    def _cpu(self) -> Iterator[Metric]:
        # The busy share of CPU time since the previous scrape, from this collector's own
        # snapshot: psutil.cpu_percent() keeps one process-wide reference point that the
        # admission sampler moves too.
        with self._lock:
            now = psutil.cpu_times()
            before, self._last_cpu = self._last_cpu, now
        usage = _busy_ratio(before, now)
        cpu = GaugeMetricFamily(
            "reelfarm_box_cpu_usage_ratio",
            "Share of all cores busy since the previous scrape (since boot on the first).",
        )
        cpu.add_metric([], usage)
        yield cpu
        cores = GaugeMetricFamily("reelfarm_box_cpu_cores", "Logical CPU cores of this box.")
        cores.add_metric([], float(psutil.cpu_count() or 1))
        yield cores
        load = GaugeMetricFamily("reelfarm_box_load1", "One-minute load average.")
        load.add_metric([], os.getloadavg()[0])
        yield load

    def _memory(self) -> Iterator[Metric]:
        memory = psutil.virtual_memory()
        available = GaugeMetricFamily(
            "reelfarm_box_memory_available_bytes", "Memory available to new processes."
        )
        available.add_metric([], float(memory.available))
        yield available
        total = GaugeMetricFamily("reelfarm_box_memory_total_bytes", "Physical memory.")
        total.add_metric([], float(memory.total))
        yield total

    def _disk(self) -> Iterator[Metric]:
        path = _existing_parent(self.data_dir)
        try:
            usage = shutil.disk_usage(path)
        except OSError:
            return
        free = GaugeMetricFamily(
            "reelfarm_box_disk_free_bytes", "Free bytes on the file system of the data dir."
        )
        free.add_metric([], float(usage.free))
        yield free
        total = GaugeMetricFamily(
            "reelfarm_box_disk_total_bytes", "Size of the file system of the data dir."
        )
        total.add_metric([], float(usage.total))
        yield total

    def _gpus(self) -> list[GpuFacts]:
        with self._lock:
            if self._nvml is None:
                # One NVML session for the collector's life: opening one per scrape can take
                # hundreds of milliseconds on boxes without persistence mode.
                self._nvml = Nvml()
            return self._nvml.facts() if self._nvml.available else []


def _busy_ratio(before: Any, now: Any) -> float:
    def busy_and_total(times: Any) -> tuple[float, float]:
        total = sum(times)
        idle = times.idle + getattr(times, "iowait", 0.0)
        return total - idle, total

    busy_now, total_now = busy_and_total(now)
    if before is None:
        return busy_now / total_now if total_now > 0 else 0.0
    busy_before, total_before = busy_and_total(before)
    elapsed = total_now - total_before
    if elapsed <= 0:
        return 0.0
    return min(1.0, max(0.0, (busy_now - busy_before) / elapsed))


def _existing_parent(path: Path) -> Path:
    # The data dir may not exist yet on a fresh box; its file system is the nearest parent's.
    path = path.absolute()
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(path.anchor or "/")


def gpu_families(gpus: Sequence[GpuFacts]) -> list[Metric]:
    """The GPU gauges for the given NVML readings; no families at all on a box without GPUs."""
    if not gpus:
        return []
    info = GaugeMetricFamily(
        "reelfarm_gpu_info", "Each GPU NVML sees, by index and model name.", labels=["gpu", "name"]
    )
    utilization = GaugeMetricFamily(
        "reelfarm_gpu_utilization_ratio", "GPU busy share (NVML utilization).", labels=["gpu"]
    )
    used = GaugeMetricFamily("reelfarm_gpu_memory_used_bytes", "GPU memory in use.", labels=["gpu"])
    total = GaugeMetricFamily("reelfarm_gpu_memory_total_bytes", "GPU memory.", labels=["gpu"])
    sessions = GaugeMetricFamily(
        "reelfarm_gpu_encoder_sessions",
        "NVENC sessions open on the GPU, from every process.",
        labels=["gpu"],
    )
    engines = GaugeMetricFamily(
        "reelfarm_gpu_nvenc_engines",
        "NVENC engines of the GPU model (0 for H100/H200/A100/B200); absent when unknown.",
        labels=["gpu"],
    )
    for index, gpu in enumerate(gpus):
        label = str(index)
        info.add_metric([label, gpu.name], 1.0)
        utilization.add_metric([label], gpu.utilization_percent / 100.0)
        used.add_metric([label], float(gpu.memory_used_mb) * 2**20)
        total.add_metric([label], float(gpu.memory_total_mb) * 2**20)
        sessions.add_metric([label], float(gpu.encoder_sessions))
        if gpu.nvenc_engines is not None:
            engines.add_metric([label], float(gpu.nvenc_engines))
    return [info, utilization, used, total, sessions, engines]


class BuildInfoCollector(Collector):
    """`reelfarm_build_info{version, python, ffmpeg}`: the FFmpeg label fills in once known."""

    def __init__(self) -> None:
        try:
            self.version = metadata.version("reelfarm")
        except metadata.PackageNotFoundError:
            self.version = "unknown"
        self.python = platform.python_version()
        # Set by Metrics.encoder_in_use once the server has probed the FFmpeg it will run.
        self.ffmpeg_version = "unknown"

    def describe(self) -> Iterable[Metric]:
        return list(self.collect())

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily(
            "reelfarm_build_info",
            "Always 1; the labels say which Reelfarm, Python and FFmpeg run here.",
            labels=["version", "python", "ffmpeg"],
        )
        info.add_metric([self.version, self.python, self.ffmpeg_version], 1.0)
        yield info
