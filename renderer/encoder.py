"""H.264 encoder choice by trial encode, and quality presets mapped per encoder.

The bundled FFmpeg lists `h264_nvenc` on machines without an NVIDIA GPU, and H100/H200/A100
have no NVENC at all, so `-encoders` proves nothing: an encoder "works" when it encodes a few
frames. The answer is cached per (ffmpeg, encoder) for the life of the process. Where there is
no trace of an NVIDIA driver (no device node, no loaded kernel module, no `nvidia-modprobe` to
make the nodes on first use) there is nothing to open a session with, so NVENC is not tried at
all: the trial costs each new `reelfarm render` 90 ms on Debian's FFmpeg 5.1 and 20 ms on the
bundled build (BENCHMARKS.md).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from renderer.types import Quality

KNOWN_ENCODERS = ("h264_nvenc", "libx264")
FALLBACK_ENCODER = "libx264"
TRIAL_TIMEOUT_S = 30.0
# Traces of an NVIDIA driver: its device node (also what a container gets), the kernel module's
# version file, and WSL2's GPU device. Without udev rules, the nodes appear on first use, made
# by the setuid `nvidia-modprobe` (NVIDIA_HELPER) that the driver's libraries call.
NVIDIA_DEVICES = (Path("/dev/nvidiactl"), Path("/proc/driver/nvidia/version"), Path("/dev/dxg"))
NVIDIA_HELPER = "nvidia-modprobe"

# NVENC refuses a session when the driver's per-system session cap is reached (GeForce cards).
# That is "busy", not "broken": the render falls back to libx264 instead of failing.
SESSION_LIMIT_MARKERS = (
    "OpenEncodeSessionEx failed: out of memory (10)",
    "incompatible client key (21)",
)


@dataclass(frozen=True)
class Preset:
    preset: str
    quality: int  # x264 CRF / NVENC CQ: lower is better


_PRESETS: dict[str, dict[Quality, Preset]] = {
    "libx264": {
        "draft": Preset("ultrafast", 28),
        "standard": Preset("veryfast", 23),
        "high": Preset("medium", 20),
    },
    "h264_nvenc": {
        "draft": Preset("p1", 28),
        "standard": Preset("p4", 23),
        "high": Preset("p6", 20),
    },
}


def encoder_args(encoder: str, quality: str, threads: int) -> list[str]:
    """Output arguments for `encoder` at `quality` (draft|standard|high), H.264 yuv420p.

    libx264: draft=ultrafast, standard=veryfast, high=medium, with CRF 28/23/20.
    h264_nvenc: p1/p4/p6 in constant-quality VBR with CQ 28/23/20.
    `threads` > 0 caps the encoder's threads; 0 lets FFmpeg decide.
    """
    presets = _PRESETS.get(encoder)
    if presets is None:
        raise ValueError(f"unknown encoder {encoder!r} (known: {', '.join(KNOWN_ENCODERS)})")
    if quality not in presets:
        raise ValueError(f"unknown quality {quality!r} (draft, standard or high)")
    chosen = presets[quality]  # type: ignore[index]
    args = ["-c:v", encoder, "-preset", chosen.preset]
    if encoder == "libx264":
        args += ["-crf", str(chosen.quality)]
    else:
        args += ["-tune", "hq", "-rc", "vbr", "-cq", str(chosen.quality), "-b:v", "0"]
    args += ["-pix_fmt", "yuv420p"]
    if threads > 0:
        args += ["-threads", str(threads)]
    return args


def working_encoders(ffmpeg: str, prefer: Sequence[str]) -> list[str]:
    """The encoders of `prefer`, in order, that really encode with this FFmpeg."""
    return [
        name
        for name in prefer
        if name in _PRESETS and _may_work(name) and _trial_encode(ffmpeg, name)
    ]


def _may_work(encoder: str) -> bool:
    """False for NVENC on a machine with no trace of an NVIDIA driver: nothing to trial it on."""
    if not encoder.endswith("_nvenc"):
        return True
    return any(path.exists() for path in NVIDIA_DEVICES) or bool(shutil.which(NVIDIA_HELPER))


def is_session_limit(stderr: str) -> bool:
    """Whether FFmpeg failed because every NVENC session is taken (retry on libx264)."""
    return any(marker in stderr for marker in SESSION_LIMIT_MARKERS)


@lru_cache(maxsize=32)
def _trial_encode(ffmpeg: str, encoder: str) -> bool:
    # 256x256: above NVENC's minimum frame size; a handful of frames is enough to open a session.
    cmd = [
        ffmpeg,
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-f",
        "lavfi",
        "-i",
        "color=c=gray:s=256x256:r=30",
        "-frames:v",
        "5",
        *encoder_args(encoder, "standard", 1),
        "-f",
        "null",
        "-",
    ]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=TRIAL_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired):
        return False
    if done.returncode == 0:
        return True
    # Every session busy right now still proves the encoder exists and works.
    return is_session_limit(done.stderr)
