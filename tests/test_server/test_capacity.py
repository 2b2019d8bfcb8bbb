"""max_concurrent = "auto", render threads and GPU facts."""

from __future__ import annotations

import pytest

from renderer.gpu import GpuFacts, gpu_facts, nvenc_engines_for
from server.capacity import auto_max_concurrent, render_threads


def gpu(name: str, engines: int | None) -> GpuFacts:
    return GpuFacts(
        name=name,
        memory_total_mb=24_000,
        memory_used_mb=1_000,
        utilization_percent=0.0,
        encoder_sessions=0,
        nvenc_engines=engines,
    )


@pytest.mark.parametrize(
    ("cpus", "memory_mb", "expected"),
    [
        (1, 16_000, 1),
        (2, 16_000, 2),  # within 3 % of the best on a 2-core box (server/capacity.py)
        (8, 64_000, 8),
        (32, 64_000, 32),
        (8, 2_000, 2),  # memory caps it: 2000 // 800
        (8, 100, 1),  # never below one slot
        (0, 16_000, 1),
    ],
)
def test_cpu_only(cpus: int, memory_mb: int, expected: int) -> None:
    assert auto_max_concurrent(cpus, memory_mb, []) == expected


def test_nvenc_gpus_give_three_sessions_per_engine_capped_by_cores() -> None:
    # One L4 (2 engines) -> 6 sessions; 16 cores leave room for all of them.
    assert auto_max_concurrent(16, 64_000, [gpu("NVIDIA L4", 2)]) == 6
    # Two L40S (3 engines each) -> 18 sessions, but composition needs a core each.
    assert auto_max_concurrent(8, 64_000, [gpu("NVIDIA L40S", 3)] * 2) == 8
    # Memory still caps the GPU case.
    assert auto_max_concurrent(16, 2_500, [gpu("NVIDIA L4", 2)]) == 3


def test_gpus_without_known_nvenc_fall_back_to_the_cpu_rule() -> None:
    assert auto_max_concurrent(4, 64_000, [gpu("NVIDIA H100 80GB HBM3", 0)]) == 4
    assert auto_max_concurrent(4, 64_000, [gpu("Some Future GPU", None)]) == 4


def test_memory_per_render_is_a_parameter() -> None:
    assert auto_max_concurrent(8, 4_000, [], memory_per_render_mb=2_000) == 2


@pytest.mark.parametrize(
    ("name", "engines"),
    [
        ("NVIDIA H100 80GB HBM3", 0),
        ("NVIDIA H200", 0),
        ("NVIDIA A100-SXM4-40GB", 0),
        ("NVIDIA B200", 0),
        ("NVIDIA L4", 2),
        ("NVIDIA L40S", 3),
        ("NVIDIA A10G", 1),
        ("NVIDIA A10", 1),
        ("Tesla T4", 1),
        ("NVIDIA GeForce RTX 4090", 3),
        ("NVIDIA GeForce RTX 3080", 1),
        ("Mystery Accelerator", None),
    ],
)
def test_nvenc_engines_by_model(name: str, engines: int | None) -> None:
    assert nvenc_engines_for(name) == engines


@pytest.mark.parametrize(
    ("cpus", "slots", "threads"),
    [(2, 2, 1), (2, 1, 2), (16, 4, 4), (2, 3, 1), (1, 1, 1), (0, 0, 1)],
)
def test_render_threads_share_the_cores(cpus: int, slots: int, threads: int) -> None:
    assert render_threads(cpus, slots) == threads


def test_gpu_facts_never_raises_and_is_a_list() -> None:
    # On a box without NVML this is []; on a GPU box every entry has a name and memory.
    facts = gpu_facts()
    assert isinstance(facts, list)
    for fact in facts:
        assert fact.name and fact.memory_total_mb > 0
