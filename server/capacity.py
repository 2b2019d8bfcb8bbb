"""How much this box can render at once: GPU facts from NVML and the `max_concurrent = "auto"` rule.

The rule (`auto_max_concurrent`), in words, for the README:

* **CPU encode (libx264)** — one render per core: `cpu_count` slots, each FFmpeg given
  `cpu_count // slots` threads (so one thread each). A render's filtergraph (decode, scale,
  zoompan, overlay, xfade) runs largely on one thread and the Python side of a render (theme,
  text cards, probing, poster) on one core, so one big multi-threaded render leaves cores idle
  that a second render fills. Measured on a 2-core box, 8 reels of 360x640 x 4 s through the
  pool: 1 slot 10.2 s, 2 slots 5.5 s, 3 slots 5.6 s, 4 slots 5.3 s, so 2 slots reach 97 % of
  the best; more slots than cores buy little and multiply memory and per-job latency.
* **NVENC GPUs** — about 3 concurrent sessions per NVENC engine (an engine does 600-900 fps at
  1080p, so a few renders share one before it is the bottleneck), summed over GPUs; but each
  render still composes its frames on the CPU, so never more than `cpu_count` slots.
  GPUs without NVENC (H100, H200, A100, B200) or of unknown kind do not count.
* **Memory** caps both: `available_memory_mb // memory_per_render_mb` (a 1080x1920 render
  peaks near 712 MB with its worker process; 800 MB by default), at least 1.

An integer `max_concurrent` in the config overrides all of this.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

# A render and its worker process at 1080x1920 peak near 712 MB (measured RSS, libx264);
# admission's estimate for that size, rounded up.
DEFAULT_MEMORY_PER_RENDER_MB = 800
# Concurrent renders one NVENC engine serves before it, not the CPU, sets the pace.
SESSIONS_PER_NVENC_ENGINE = 3

# NVENC engines per GPU by model. Data-centre training parts have none (NVDEC only); the
# pattern is matched as a whole word against the NVML name so "A10" does not match "A100".
_NVENC_ENGINES: tuple[tuple[str, int], ...] = (
    (r"H100|H200|H800|H20|GH200|A100|A800|A30|B100|B200|GB200", 0),
    (r"L40S|L40|RTX 6000 Ada|RTX 5000 Ada|RTX 4090|RTX 4080|RTX 5090|RTX 5080", 3),
    (r"L4|RTX 4070 Ti|RTX 4070", 2),
    (r"A10G?|A16|A2|A40|A4000|A5000|A6000|T4|RTX 30\d0|RTX 20\d0|Quadro RTX|RTX 4060", 1),
)


@dataclass(frozen=True)
class GpuFacts:
    """One GPU as NVML reports it; `nvenc_engines` is None for a model not in our table."""

    name: str
    memory_total_mb: int
    memory_used_mb: int
    utilization_percent: float
    encoder_sessions: int
    nvenc_engines: int | None

    @property
    def memory_free_mb(self) -> int:
        return max(0, self.memory_total_mb - self.memory_used_mb)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "memory_total_mb": self.memory_total_mb,
            "memory_used_mb": self.memory_used_mb,
            "utilization_percent": self.utilization_percent,
            "encoder_sessions": self.encoder_sessions,
            "nvenc_engines": self.nvenc_engines,
        }


def nvenc_engines_for(name: str) -> int | None:
    """NVENC engines of a GPU model by its NVML name, None when the model is unknown."""
    for pattern, engines in _NVENC_ENGINES:
        if re.search(rf"(?<!\w)(?:{pattern})(?!\w)", name, re.IGNORECASE):
            return engines
    return None


class Nvml:
    """An open NVML session for repeated reads (the admission sampler); `close()` ends it."""

    def __init__(self) -> None:
        self._nvml: Any = None
        try:
            import pynvml

            pynvml.nvmlInit()
        except Exception:  # no library, no driver, no GPU: all mean "no GPUs"
            return
        self._nvml = pynvml

    @property
    def available(self) -> bool:
        return self._nvml is not None

    def facts(self) -> list[GpuFacts]:
        if self._nvml is None:
            return []
        nvml = self._nvml
        found = []
        try:
            for index in range(nvml.nvmlDeviceGetCount()):
                handle = nvml.nvmlDeviceGetHandleByIndex(index)
                name = nvml.nvmlDeviceGetName(handle)
                name = name.decode() if isinstance(name, bytes) else str(name)
                memory = nvml.nvmlDeviceGetMemoryInfo(handle)
                found.append(
                    GpuFacts(
                        name=name,
                        memory_total_mb=int(memory.total) // 2**20,
                        memory_used_mb=int(memory.used) // 2**20,
                        utilization_percent=_optional(
                            lambda h=handle: float(nvml.nvmlDeviceGetUtilizationRates(h).gpu), 0.0
                        ),
                        # (session count, average fps, average latency); unsupported on GPUs
                        # without NVENC.
                        encoder_sessions=_optional(
                            lambda h=handle: int(nvml.nvmlDeviceGetEncoderStats(h)[0]), 0
                        ),
                        nvenc_engines=nvenc_engines_for(name),
                    )
                )
        except Exception:  # a GPU that fell off the bus reads as none
            return []
        return found

    def close(self) -> None:
        if self._nvml is not None:
            # Nothing to do about a failed shutdown.
            with suppress(Exception):
                self._nvml.nvmlShutdown()
            self._nvml = None


def _optional(read: Any, default: Any) -> Any:
    try:
        return read()
    except Exception:  # NVML answers NotSupported per query and per model
        return default


@contextmanager
def _nvml_session() -> Iterator[Nvml]:
    session = Nvml()
    try:
        yield session
    finally:
        session.close()


def gpu_facts() -> list[GpuFacts]:
    """Every GPU NVML sees (pynvml from nvidia-ml-py); [] without a driver or GPU. Never raises."""
    with _nvml_session() as session:
        return session.facts()


def auto_max_concurrent(
    cpu_count: int,
    available_memory_mb: int,
    gpus: Sequence[GpuFacts],
    memory_per_render_mb: int = DEFAULT_MEMORY_PER_RENDER_MB,
) -> int:
    """Render slots for `max_concurrent = "auto"`; the rule is in this module's docstring."""
    cpu_count = max(1, cpu_count)
    nvenc_engines = sum(gpu.nvenc_engines or 0 for gpu in gpus)
    if nvenc_engines:
        slots = min(nvenc_engines * SESSIONS_PER_NVENC_ENGINE, cpu_count)
    else:
        slots = cpu_count
    memory_cap = max(1, available_memory_mb // max(1, memory_per_render_mb))
    return max(1, min(slots, memory_cap))


def render_threads(cpu_count: int, slots: int) -> int:
    """FFmpeg threads per render: the cores shared evenly between slots, at least 1."""
    return max(1, max(1, cpu_count) // max(1, slots))
