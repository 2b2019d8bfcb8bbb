"""NVIDIA GPUs as NVML sees them: the one reader behind capacity, admission, metrics and probe.

pynvml comes from nvidia-ml-py. Without it, without a driver or without a GPU a session is
simply unavailable and reads no GPUs: nothing here raises. Queries that a model does not
support (NVENC statistics on GPUs without NVENC, say) read as their default or are left out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from types import TracebackType
from typing import Any, NamedTuple, TypeVar

T = TypeVar("T")

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


class _Device(NamedTuple):
    """What every reading of a GPU starts from: its NVML handle, name and memory."""

    index: int
    handle: Any
    name: str
    memory_total_mb: int
    memory_used_mb: int


class Nvml:
    """An open NVML session for repeated reads; `close()` (or leaving a `with`) ends it."""

    def __init__(self) -> None:
        self._nvml: Any = None
        try:
            import pynvml

            pynvml.nvmlInit()
        except Exception:  # no library, no driver, no GPU: all mean "no GPUs"
            return
        self._nvml = pynvml

    def __enter__(self) -> Nvml:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def available(self) -> bool:
        return self._nvml is not None

    def facts(self) -> list[GpuFacts]:
        """Every GPU with its load, for sizing and admitting renders; [] when unavailable."""
        if self._nvml is None:
            return []
        try:
            return [self._facts_of(device) for device in self._devices()]
        except Exception:  # a GPU that fell off the bus reads as none
            return []

    def encoder_report(self) -> list[dict[str, Any]] | None:
        """Per GPU: index, name, driver, memory and what NVML says of its encoder, for
        `reelfarm probe`; None when NVML cannot answer, so the caller may ask nvidia-smi."""
        if self._nvml is None:
            return None
        try:
            driver = _text(self._nvml.nvmlSystemGetDriverVersion())
            return [
                {
                    "index": device.index,
                    "name": device.name,
                    "driver": driver,
                    "memory_total_mb": device.memory_total_mb,
                    "memory_used_mb": device.memory_used_mb,
                    **self._encoder_details(device.handle),
                }
                for device in self._devices()
            ]
        except Exception:  # NVML failed mid-read: let nvidia-smi answer instead
            return None

    def close(self) -> None:
        if self._nvml is not None:
            # Nothing to do about a failed shutdown.
            with suppress(Exception):
                self._nvml.nvmlShutdown()
            self._nvml = None

    def _devices(self) -> Iterator[_Device]:
        nvml = self._nvml
        for index in range(nvml.nvmlDeviceGetCount()):
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            memory = nvml.nvmlDeviceGetMemoryInfo(handle)
            yield _Device(
                index=index,
                handle=handle,
                name=_text(nvml.nvmlDeviceGetName(handle)),
                memory_total_mb=int(memory.total) // 2**20,
                memory_used_mb=int(memory.used) // 2**20,
            )

    def _facts_of(self, device: _Device) -> GpuFacts:
        nvml, handle = self._nvml, device.handle
        return GpuFacts(
            name=device.name,
            memory_total_mb=device.memory_total_mb,
            memory_used_mb=device.memory_used_mb,
            utilization_percent=_optional(
                lambda: float(nvml.nvmlDeviceGetUtilizationRates(handle).gpu), 0.0
            ),
            # (session count, average fps, average latency); unsupported on GPUs without NVENC.
            encoder_sessions=_optional(lambda: int(nvml.nvmlDeviceGetEncoderStats(handle)[0]), 0),
            nvenc_engines=nvenc_engines_for(device.name),
        )

    def _encoder_details(self, handle: Any) -> dict[str, Any]:
        nvml = self._nvml
        queries: dict[str, Callable[[], Any]] = {
            "encoder_utilization_percent": lambda: nvml.nvmlDeviceGetEncoderUtilization(handle)[0],
            "encoder_sessions": lambda: len(nvml.nvmlDeviceGetEncoderSessions(handle)),
            "h264_encoder_capacity_percent": lambda: nvml.nvmlDeviceGetEncoderCapacity(
                handle, nvml.NVML_ENCODER_QUERY_H264
            ),
        }
        details = {}
        for key, read in queries.items():
            # A query the model does not support leaves its key out rather than reading 0.
            with suppress(Exception):
                details[key] = read()
        return details


def gpu_facts() -> list[GpuFacts]:
    """Every GPU NVML sees, from a session of its own; [] without a driver or GPU. Never raises."""
    with Nvml() as session:
        return session.facts()


def _optional(read: Callable[[], T], default: T) -> T:
    try:
        return read()
    except Exception:  # NVML answers NotSupported per query and per model
        return default


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
