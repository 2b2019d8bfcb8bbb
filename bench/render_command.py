"""The FFmpeg command Reelfarm's render() runs for a spec, captured instead of run."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from reel import ASSETS


class _Captured(Exception):
    def __init__(self, args: list[str]):
        super().__init__()
        self.command = args


def render_command(spec: dict, work: Path, cache: Path) -> list[str]:
    """The FFmpeg command render() runs for `spec` (not run). The files it reads from the
    render's temporary dir (cards), which render() removes as it unwinds, are kept in `work`."""
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
        policy = AssetPolicy(allowed_dirs=(ASSETS,), cache_dir=cache)
        render(scenes.parse_spec(spec), work / "out", RenderOptions(assets=policy))
    except _Captured as captured:
        return captured.command
    finally:
        module.run_ffmpeg = original
    raise SystemExit("render() finished without running FFmpeg")
