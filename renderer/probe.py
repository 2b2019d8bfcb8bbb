"""What this machine can do (`reelfarm probe`) and what a media file holds.

Media facts come from `ffmpeg -i` itself, so no ffprobe is needed (the bundled FFmpeg has none).
GPU facts come from NVML when an NVIDIA driver is present, else from `nvidia-smi`, else nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from renderer.encoder import working_encoders
from renderer.ffmpeg import find_ffmpeg
from renderer.gpu import Nvml
from renderer.types import RenderError

PROBE_TIMEOUT_S = 30.0
_IMAGE_CODECS = {"mjpeg", "png", "webp", "bmp", "gif", "tiff", "jpegxl", "jpeg2000", "qoi", "apng"}


@dataclass(frozen=True)
class MediaInfo:
    """The facts about one media file the renderer plans with."""

    duration_s: float | None
    has_video: bool
    has_audio: bool
    is_image: bool
    width: int = 0
    height: int = 0
    fps: float = 0.0
    video_codec: str = ""
    audio_codec: str = ""


def media_info(ffmpeg: str, path: Path) -> MediaInfo:
    """Read `path`'s container and streams, and decode its first frames: RenderError when
    FFmpeg cannot (a text file called photo.jpg opens as JPEG and fails only to decode)."""
    try:
        done = subprocess.run(
            [
                ffmpeg,
                "-hide_banner",
                "-nostdin",
                "-v",
                "info",
                "-xerror",
                "-i",
                str(path),
                "-frames:v",
                "1",
                "-frames:a",
                "1",
                "-f",
                "null",
                "-",
            ],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=PROBE_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RenderError(f"cannot read media: {exc}") from None
    info = parse_media_info(done.stderr)
    if done.returncode != 0 or re.search(r"^Output #0", done.stderr, re.M) is None:
        raise RenderError("not a readable media file (it does not decode)")
    return info


def parse_media_info(text: str) -> MediaInfo:
    """Parse the stream summary `ffmpeg -i FILE` prints (it exits 1: no output was named)."""
    head = re.search(r"^Input #0, ([^,\n]+(?:,[^,\n]+)*?), from ", text, re.M)
    if not head:
        last = [line for line in text.splitlines() if line.strip()]
        reason = last[-1].split(": ", 1)[-1] if last else "unknown format"
        raise RenderError(f"not a readable media file ({reason})")
    demuxer = head.group(1)
    duration = None
    match = re.search(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)", text)
    if match:
        hours, minutes, seconds = match.groups()
        duration = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    video = re.search(r"Stream #0:\d+[^:]*: Video: (\w+)([^\n]*)", text)
    audio = re.search(r"Stream #0:\d+[^:]*: Audio: (\w+)", text)
    width = height = 0
    fps = 0.0
    video_codec = ""
    if video:
        video_codec = video.group(1)
        size = re.search(r"\b(\d{2,5})x(\d{2,5})\b", video.group(2))
        if size:
            width, height = int(size.group(1)), int(size.group(2))
        rate = re.search(r"([\d.]+)(k?) (?:fps|tbr)", video.group(2))
        if rate:
            fps = float(rate.group(1)) * (1000 if rate.group(2) else 1)
    is_image = bool(video) and (
        demuxer.startswith("image2") or demuxer.endswith("_pipe") or video_codec in _IMAGE_CODECS
    )
    return MediaInfo(
        duration_s=None if is_image else duration,
        has_video=bool(video),
        has_audio=bool(audio),
        is_image=is_image,
        width=width,
        height=height,
        fps=fps,
        video_codec=video_codec,
        audio_codec=audio.group(1) if audio else "",
    )


def probe_report(ffmpeg_configured: str, prefer: Sequence[str]) -> dict[str, Any]:
    """FFmpeg path, version and source; the encoders of `prefer` that really encode; GPUs."""
    info = find_ffmpeg(ffmpeg_configured)
    working = working_encoders(info.path, prefer)
    return {
        "ffmpeg": {
            "path": info.path,
            "version": info.version,
            "source": info.source,
            "reason": info.reason,
        },
        "encoders": {"preferred": list(prefer), "working": working},
        "selected_encoder": working[0] if working else None,
        "cpu_count": os.cpu_count(),
        "gpus": gpu_facts(),
    }


def gpu_facts() -> list[dict[str, Any]]:
    """One entry per NVIDIA GPU (name, memory, driver, NVENC sessions); [] without one."""
    with Nvml() as nvml:
        facts = nvml.encoder_report()
    if facts is None:
        facts = _nvidia_smi_facts()
    return facts


def _nvidia_smi_facts() -> list[dict[str, Any]]:
    smi = shutil.which("nvidia-smi")
    if not smi:
        return []
    query = "index,name,driver_version,memory.total,memory.used"
    try:
        out = subprocess.run(
            [smi, f"--query-gpu={query}", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in out.splitlines():
        cells = [cell.strip() for cell in line.split(",")]
        if len(cells) == 5 and cells[0].isdigit():
            gpus.append(
                {
                    "index": int(cells[0]),
                    "name": cells[1],
                    "driver": cells[2],
                    "memory_total_mb": int(float(cells[3])),
                    "memory_used_mb": int(float(cells[4])),
                }
            )
    return gpus
