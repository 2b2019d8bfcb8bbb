"""The FFmpeg builds a benchmark can render with: Debian's on PATH and imageio-ffmpeg's."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

BUILD_NAMES = ("system", "bundled")


@dataclass(frozen=True)
class Build:
    """One FFmpeg build, the encoder Reelfarm picks with it and that encoder's arguments."""

    name: str  # system | bundled
    ffmpeg: str
    version: str
    encoder: str
    encoder_args: tuple[str, ...]


def ffmpeg_path(name: str) -> str:
    """system: `ffmpeg` on PATH; bundled: the binary imageio-ffmpeg ships."""
    if name == "system":
        found = shutil.which("ffmpeg")
        if found is None:
            raise SystemExit("--ffmpeg system: no ffmpeg on PATH")
        return found
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def version(ffmpeg: str) -> str:
    out = subprocess.run([ffmpeg, "-hide_banner", "-version"], capture_output=True, text=True)
    first = out.stdout.split("\n", 1)[0]  # "ffmpeg version 5.1.6-0+deb12u1 Copyright ..."
    return first.split()[2] if first.startswith("ffmpeg version") else first


def resolve_builds(choice: str, threads: int) -> list[Build]:
    """The builds `--ffmpeg system|bundled|both` names, each with the encoder Reelfarm would
    choose (NVENC where it really encodes, else libx264) at the reel's quality."""
    from renderer.encoder import encoder_args, working_encoders

    names = BUILD_NAMES if choice == "both" else (choice,)
    builds = []
    for name in names:
        path = ffmpeg_path(name)
        working = working_encoders(path, ("h264_nvenc", "libx264"))
        if not working:
            raise SystemExit(f"{path}: neither h264_nvenc nor libx264 encodes")
        args = tuple(encoder_args(working[0], "standard", threads))
        builds.append(Build(name, path, version(path), working[0], args))
    return builds
