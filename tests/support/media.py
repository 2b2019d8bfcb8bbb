"""Inspecting rendered media with the bundled FFmpeg alone (there is no ffprobe here).

info = probe(path)                 # duration, size, fps, codecs, pix_fmt
count_frames(path)                 # video frames, by reading the packets
frame(path, index) / frame_at(path, seconds) / all_frames(path)   # RGB numpy arrays
pcm(path) / rms(samples, rate, start_s, end_s)                    # mono float32 audio
top_level_boxes(path) / is_faststart(path)                        # MP4 layout
"""

from __future__ import annotations

import re
import struct
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

TIMEOUT_S = 60


@cache
def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


@dataclass(frozen=True)
class Probe:
    duration_s: float
    width: int
    height: int
    fps: float
    video_codec: str
    pix_fmt: str
    audio_codec: str | None
    audio_rate: int | None
    audio_channels: str | None


def _run(args: list[str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", *args],
        capture_output=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def probe(path: Path) -> Probe:
    """Container duration and the first video and audio streams, from `ffmpeg -i`."""
    text = _run(["-i", str(path)]).stderr.decode("utf-8", "replace")
    duration = re.search(r"Duration: (\d+):(\d\d):(\d\d\.\d+)", text)
    video = re.search(
        r"Stream #0:\d+[^:]*: Video: (\w+)[^,]*, (\w+)(?:\([^)]*\))?, (\d+)x(\d+)", text
    )
    fps = re.search(r"Stream #0:\d+[^:]*: Video: .*?([\d.]+) fps", text)
    audio = re.search(r"Stream #0:\d+[^:]*: Audio: (\w+)[^,]*, (\d+) Hz, ([\w.]+)", text)
    if not (duration and video):
        raise AssertionError(f"not a video: {path}\n{text[-2000:]}")
    hours, minutes, seconds = duration.groups()
    return Probe(
        duration_s=int(hours) * 3600 + int(minutes) * 60 + float(seconds),
        width=int(video.group(3)),
        height=int(video.group(4)),
        fps=float(fps.group(1)) if fps else 0.0,
        video_codec=video.group(1),
        pix_fmt=video.group(2),
        audio_codec=audio.group(1) if audio else None,
        audio_rate=int(audio.group(2)) if audio else None,
        audio_channels=audio.group(3) if audio else None,
    )


def count_frames(path: Path) -> int:
    """Video frames in `path`, counted from its packets (no decoding)."""
    done = _run(["-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "null", "-"])
    counts = re.findall(rb"frame=\s*(\d+)", done.stderr)
    if not counts:
        raise AssertionError(done.stderr.decode("utf-8", "replace")[-2000:])
    return int(counts[-1])


def _decode(path: Path, vf: str, frames: int | None) -> tuple[np.ndarray, int, int]:
    info = probe(path)
    args = ["-i", str(path), "-vf", vf, "-f", "rawvideo", "-pix_fmt", "rgb24"]
    if frames is not None:
        args += ["-frames:v", str(frames)]
    done = _run([*args, "-"])
    if done.returncode != 0:
        raise AssertionError(done.stderr.decode("utf-8", "replace")[-2000:])
    return np.frombuffer(done.stdout, np.uint8), info.width, info.height


def frame(path: Path, index: int) -> np.ndarray:
    """Frame number `index` (0-based) as an (H, W, 3) uint8 RGB array."""
    data, width, height = _decode(path, f"select=eq(n\\,{index})", 1)
    if data.size != width * height * 3:
        raise AssertionError(f"{path} has no frame {index}")
    return data.reshape(height, width, 3)


def frame_at(path: Path, seconds: float) -> np.ndarray:
    """The frame shown at `seconds`."""
    return frame(path, int(seconds * probe(path).fps + 1e-6))


def all_frames(path: Path) -> np.ndarray:
    """Every frame, (N, H, W, 3): for tiny videos only."""
    data, width, height = _decode(path, "null", None)
    return data.reshape(-1, height, width, 3)


def pcm(path: Path, rate: int = 16_000) -> np.ndarray:
    """The audio mixed to mono float32 at `rate` Hz."""
    done = _run(
        ["-i", str(path), "-map", "0:a:0", "-ac", "1", "-ar", str(rate), "-f", "f32le", "-"]
    )
    if done.returncode != 0:
        raise AssertionError(done.stderr.decode("utf-8", "replace")[-2000:])
    return np.frombuffer(done.stdout, np.float32)


def rms(samples: np.ndarray, rate: int, start_s: float, end_s: float) -> float:
    """Root mean square of `samples` between two times."""
    window = samples[int(start_s * rate) : int(end_s * rate)]
    return float(np.sqrt(np.mean(np.square(window, dtype=np.float64)))) if window.size else 0.0


def band_rms(
    samples: np.ndarray, rate: int, start_s: float, end_s: float, band: tuple[float, float]
) -> float:
    """RMS of only the frequencies inside `band` (Hz) in a window: tells two tones apart."""
    window = samples[int(start_s * rate) : int(end_s * rate)].astype(np.float64)
    taper = np.hanning(window.size)
    spectrum = np.fft.rfft(window * taper)
    freqs = np.fft.rfftfreq(window.size, 1 / rate)
    keep = (freqs >= band[0]) & (freqs <= band[1])
    # Parseval, one-sided, corrected for the window: a sine of amplitude a gives a/sqrt(2).
    power = 2 * np.sum(np.abs(spectrum[keep]) ** 2) / (window.size * np.sum(taper**2))
    return float(np.sqrt(power))


def top_level_boxes(path: Path) -> list[str]:
    """The MP4's top-level box types in file order (ftyp, moov, mdat, ...)."""
    boxes = []
    with Path(path).open("rb") as handle:
        while True:
            header = handle.read(8)
            if len(header) < 8:
                return boxes
            size, kind = struct.unpack(">I4s", header)
            if size == 1:
                size = struct.unpack(">Q", handle.read(8))[0]
                handle.seek(size - 16, 1)
            elif size == 0:
                boxes.append(kind.decode("latin-1"))
                return boxes
            else:
                handle.seek(size - 8, 1)
            boxes.append(kind.decode("latin-1"))


def is_faststart(path: Path) -> bool:
    """`moov` before `mdat`: players can start before the whole file has arrived."""
    boxes = top_level_boxes(path)
    return "moov" in boxes and "mdat" in boxes and boxes.index("moov") < boxes.index("mdat")
