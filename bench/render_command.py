"""The FFmpeg command Reelfarm's render() runs for a spec, captured instead of run."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from reel import MEDIA_DIRS


class _Captured(Exception):
    def __init__(self, args: list[str]):
        super().__init__()
        self.command = args


def render_command(
    spec: dict,
    work: Path,
    cache: Path,
    ffmpeg: str | None = None,
    theme_dirs: Sequence[Path] = (),
) -> list[str]:
    """The FFmpeg command render() runs for `spec` with that FFmpeg build and theme dirs (not
    run). The files it reads from the render's temporary dir (cards), which render() removes
    as it unwinds, are kept in `work`; everything it makes once (effect clips, backgrounds)
    is made in `cache` as a render would."""
    import scenes
    from renderer import AssetPolicy, RenderOptions, render

    module = sys.modules["renderer.render"]

    def capture(args: list[str], **_: object) -> str:
        tmp = next(Path(arg).parent for arg in args if arg.endswith("video.mp4"))
        kept = work / "inputs"
        shutil.copytree(tmp, kept, symlinks=True)
        raise _Captured([arg.replace(str(tmp), str(kept)) for arg in args])

    original = module.run_ffmpeg
    module.run_ffmpeg = capture
    try:
        policy = AssetPolicy(allowed_dirs=MEDIA_DIRS, cache_dir=cache)
        options = RenderOptions(ffmpeg=ffmpeg, theme_dirs=tuple(theme_dirs), assets=policy)
        render(scenes.parse_spec(spec), work / "out", options)
    except _Captured as captured:
        return captured.command
    finally:
        module.run_ffmpeg = original
    raise SystemExit("render() finished without running FFmpeg")


def with_outputs(args: list[str], video: list[str], sound: list[str]) -> list[str]:
    """The render's command `args` with its outputs replaced: the video written by `video`
    (e.g. ["-f", "rawvideo", "-pix_fmt", "yuv420p", PATH]), the audio by `sound`, the poster
    to the null muxer. The video keeps the render's output rate: without it, FFmpeg passes
    the graph's timestamps through to a raw or null output as they come, and the frames it
    writes are not the ones the encoder is given (FFmpeg 5.1 repeats the first frame, 9.0
    drops 18 of 120). The graph itself ends the video after the render's frame count."""
    maps = [i for i, arg in enumerate(args) if arg == "-map"]
    video_map, sound_map, poster_map = (args[i + 1] for i in maps)
    rate = ["-r", args[args.index("-r", maps[0]) + 1]]
    head = [args[0], "-nostdin", *args[1 : maps[0]]]
    return [*head, "-map", video_map, *rate, *video, "-map", sound_map, *sound,
            "-map", poster_map, "-frames:v", "1", "-f", "null", "-"]  # fmt: skip
