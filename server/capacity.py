"""How much this box can render at once: the `max_concurrent = "auto"` rule, from GPU facts.

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
  GPUs without NVENC (H100, H200, A100, B200) or of unknown kind do not count (engines per
  model: the table in `renderer/gpu.py`).
* **Memory** caps both: `available_memory_mb // memory_per_render_mb` (a 1080x1920 render
  peaks near 712 MB with its worker process; 800 MB by default), at least 1.

An integer `max_concurrent` in the config overrides all of this.
"""

from __future__ import annotations

from collections.abc import Sequence

# GpuFacts is what the rule reads; Nvml and gpu_facts are what admission and the app factory
# read it with.
from renderer.gpu import GpuFacts, Nvml, gpu_facts

__all__ = [
    "DEFAULT_MEMORY_PER_RENDER_MB",
    "SESSIONS_PER_NVENC_ENGINE",
    "GpuFacts",
    "Nvml",
    "auto_max_concurrent",
    "gpu_facts",
    "render_threads",
]

# A render and its worker process at 1080x1920 peak near 712 MB (measured RSS, libx264);
# admission's estimate for that size, rounded up.
DEFAULT_MEMORY_PER_RENDER_MB = 800
# Concurrent renders one NVENC engine serves before it, not the CPU, sets the pace.
SESSIONS_PER_NVENC_ENGINE = 3


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
