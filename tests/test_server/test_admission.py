"""Admission gates: closing, hysteresis re-opening, the memory estimate, the real sampler."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

import scenes
from server.admission import Admission, BoxSample, BoxSampler, estimate_memory_mb
from server.config import AdmissionConfig

CONFIG = AdmissionConfig(cpu_high_percent=90, min_free_memory_mb=1000, min_free_disk_mb=2000)
ROOMY = BoxSample(
    cpu_percent=10, available_memory_mb=8000, free_disk_mb=50_000, gpu_memory_free_mb=None
)


class Box:
    """A box whose readings the test sets: configuration of the sampler, not a mock of psutil."""

    def __init__(self) -> None:
        self.now = ROOMY
        self.reads = 0

    def set(self, **values: float | int | None) -> None:
        self.now = dataclasses.replace(self.now, **values)

    def sample(self) -> BoxSample:
        self.reads += 1
        return self.now


@pytest.fixture
def box() -> Box:
    return Box()


@pytest.fixture
def admission(box: Box, tmp_path: Path) -> Admission:
    return Admission(CONFIG, tmp_path, box.sample, sample_ttl_s=0)


def test_roomy_box_admits(admission: Admission) -> None:
    assert admission.evaluate(500) is None
    assert admission.holding is None


def test_cpu_gate_closes_and_reopens_only_10_points_below(box: Box, admission: Admission):
    box.set(cpu_percent=92)
    assert admission.evaluate(500) == "cpu"
    assert admission.holding == "cpu"
    box.set(cpu_percent=85)  # below the threshold, not yet past the margin
    assert admission.evaluate(500) == "cpu"
    box.set(cpu_percent=79.9)
    assert admission.evaluate(500) is None
    assert admission.holding is None
    box.set(cpu_percent=85)  # open again: 85 < 90 stays open
    assert admission.evaluate(500) is None


def test_memory_gate_counts_the_jobs_need_and_has_hysteresis(box: Box, admission: Admission):
    box.set(available_memory_mb=1400)
    assert admission.evaluate(300) is None  # 1400 - 300 >= 1000
    assert admission.evaluate(500) == "memory"  # 900 left < 1000
    box.set(available_memory_mb=1550)  # 1050 left: past the line, not past min + 10 %
    assert admission.evaluate(500) == "memory"
    box.set(available_memory_mb=1600)  # 1100 left = min + 10 %
    assert admission.evaluate(500) is None


def test_a_job_larger_than_the_box_can_spare_runs_when_nothing_else_renders(
    box: Box, admission: Admission
) -> None:
    box.set(available_memory_mb=1400)
    assert admission.evaluate(3000) == "memory"  # beside other renders: held
    assert admission.evaluate(3000, rendering=0) is None  # alone: only the floor counts
    box.set(available_memory_mb=900)
    assert admission.evaluate(3000, rendering=0) == "memory"  # below the floor even alone


def test_disk_gate(box: Box, admission: Admission) -> None:
    box.set(free_disk_mb=1999)
    assert admission.evaluate(100) == "disk"
    box.set(free_disk_mb=2100)
    assert admission.evaluate(100) == "disk"
    box.set(free_disk_mb=2200)
    assert admission.evaluate(100) is None


def test_gpu_memory_gate_only_with_a_gpu(box: Box, admission: Admission) -> None:
    box.set(gpu_memory_free_mb=None)
    assert admission.evaluate(100) is None
    box.set(gpu_memory_free_mb=100)
    assert admission.evaluate(100) == "gpu_memory"
    box.set(gpu_memory_free_mb=300)  # past 256 MB, inside the 64 MB margin
    assert admission.evaluate(100) == "gpu_memory"
    box.set(gpu_memory_free_mb=400)
    assert admission.evaluate(100) is None


def test_first_closed_gate_is_reported_and_every_gate_keeps_its_state(box: Box, admission):
    box.set(cpu_percent=95, free_disk_mb=100)
    assert admission.evaluate(100) == "cpu"
    box.set(cpu_percent=10)
    assert admission.evaluate(100) == "disk"
    box.set(free_disk_mb=50_000)
    assert admission.evaluate(100) is None


def test_reconfigure_applies_new_thresholds(box: Box, admission: Admission) -> None:
    box.set(cpu_percent=70)
    assert admission.evaluate(100) is None
    admission.reconfigure(dataclasses.replace(CONFIG, cpu_high_percent=60))
    assert admission.evaluate(100) == "cpu"


def test_snapshot_shape(box: Box, admission: Admission) -> None:
    box.set(cpu_percent=99.44)
    admission.evaluate(100)
    snap = admission.snapshot()
    assert snap["holding"] == "cpu"
    assert snap["cpu_percent"] == 99.4
    assert snap["available_memory_mb"] == 8000
    assert snap["free_disk_mb"] == 50_000
    assert snap["gpu_memory_free_mb"] is None
    assert snap["thresholds"]["cpu_high_percent"] == 90


def test_sample_is_cached(box: Box, tmp_path: Path) -> None:
    admission = Admission(CONFIG, tmp_path, box.sample, sample_ttl_s=60)
    for _ in range(50):
        admission.evaluate(100)
    admission.snapshot()
    assert box.reads == 1


def spec(width: int, height: int, seconds: float, count: int = 1) -> scenes.Spec:
    return scenes.parse_spec(
        {
            "width": width,
            "height": height,
            "scenes": [{"type": "title", "title": "x", "duration": seconds / count}] * count,
        }
    )


def test_memory_estimate_grows_with_pixels_not_duration() -> None:
    small, large = spec(180, 320, 2), spec(1080, 1920, 2)
    assert estimate_memory_mb(spec(1080, 1920, 2)) == estimate_memory_mb(spec(1080, 1920, 60))
    assert estimate_memory_mb(small) < estimate_memory_mb(large)
    # Measured peaks (worker + FFmpeg): 145 MB at 180x320, 712 MB at 1080x1920.
    assert 145 <= estimate_memory_mb(small) < 250
    assert 712 <= estimate_memory_mb(large) <= 900


def test_memory_estimate_grows_with_scenes() -> None:
    # Measured peaks of 12 and 48 photo scenes at 1080x1920: 689 and 1697 MB.
    assert 689 <= estimate_memory_mb(spec(1080, 1920, 24, count=12)) <= 1300
    assert 1697 <= estimate_memory_mb(spec(1080, 1920, 24, count=48)) <= 2500


def test_real_sampler_reads_this_box(tmp_path: Path) -> None:
    sampler = BoxSampler(tmp_path / "not-created-yet")
    try:
        sample = sampler.sample()
    finally:
        sampler.close()
    disk = shutil.disk_usage(tmp_path).free // 2**20
    assert abs(sample.free_disk_mb - disk) < 512
    memory = psutil.virtual_memory().available // 2**20
    assert abs(sample.available_memory_mb - memory) < 512
    assert 0 <= sample.cpu_percent <= 100


BUSY_LOOP = "import time\nend = time.monotonic() + 30\nwhile time.monotonic() < end: pass\n"


def test_real_sampler_leaves_out_this_servers_own_cpu(tmp_path: Path) -> None:
    # A child of this process burns a whole core: the box's total CPU shows it, the gate's
    # "other processes" figure does not.
    sampler = BoxSampler(tmp_path)
    burner = subprocess.Popen([sys.executable, "-c", BUSY_LOOP])
    try:
        burning = psutil.Process(burner.pid)
        burning.cpu_percent(interval=None)
        sampler.sample()  # starts the window
        total = psutil.cpu_percent(interval=1.0)  # the same window, for the whole box
        foreign = sampler.sample().cpu_percent
        # The burner's share of the whole box (on a busy box it gets less than a full core).
        burned = burning.cpu_percent(interval=None) / psutil.cpu_count()
        assert burned > 10, "the burner got no CPU: the box is too busy to tell"
        assert total - foreign >= burned * 0.7
    finally:
        burner.kill()
        burner.wait()
        sampler.close()
