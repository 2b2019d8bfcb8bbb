"""The renderer's public types: what a caller passes in and gets back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Quality = Literal["draft", "standard", "high"]

# Called as progress(frames_done, frames_total) from the thread reading FFmpeg's -progress.
ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class AssetPolicy:
    """Where media may come from. The server passes config; the CLI trusts the operator."""

    allowed_dirs: tuple[Path, ...] = ()
    # The CLI resolves relative paths against the spec file and accepts any local file.
    allow_any_local: bool = False
    base_dir: Path | None = None
    max_bytes: int = 200 * 1024 * 1024
    download_timeout_s: float = 60.0
    allow_private_urls: bool = False
    cache_dir: Path = Path("data/cache")


@dataclass(frozen=True)
class RenderOptions:
    ffmpeg: str | None = None  # None: find_ffmpeg("auto")
    encoder: str | None = None  # None: first working encoder of `prefer`, by trial encode
    prefer: tuple[str, ...] = ("h264_nvenc", "libx264")
    quality: Quality | None = None  # None: the spec's output.quality
    threads: int = 0  # FFmpeg threads; 0 lets FFmpeg decide
    theme_dirs: tuple[Path, ...] = ()
    assets: AssetPolicy = field(default_factory=AssetPolicy)
    size: tuple[int, int] | None = None  # overrides the spec's size (CLI --size, tests)
    preview: bool = False  # fast low-resolution draft


@dataclass(frozen=True)
class RenderResult:
    video_path: Path
    poster_path: Path
    duration_s: float
    width: int
    height: int
    fps: int
    frames: int
    size_bytes: int
    encoder: str
    render_s: float
    # Sidecar subtitles by format ("vtt", "srt"), beside the video; empty without captions.
    captions: dict[str, Path] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "video_path": str(self.video_path),
            "poster_path": str(self.poster_path),
            "duration_s": self.duration_s,
            "width": self.width,
            "height": self.height,
            "fps": self.fps,
            "frames": self.frames,
            "size_bytes": self.size_bytes,
            "encoder": self.encoder,
            "render_s": self.render_s,
            "captions": {kind: str(path) for kind, path in self.captions.items()},
        }


class RenderError(Exception):
    """A render that cannot finish; `field` names the spec field at fault when one is."""

    def __init__(self, message: str, field: str | None = None):
        self.message = message
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


class AssetError(RenderError):
    """A media source that is missing, refused by policy, too large or unreachable."""


class RenderCancelled(RenderError):
    def __init__(self, message: str = "render cancelled"):
        super().__init__(message)
