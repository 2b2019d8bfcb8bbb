"""Theme backgrounds, drawn once per (theme, size) and kept in the cache dir.

A 1080x1920 gradient takes a fifth of a second to draw, and a warm worker renders many reels of
the same theme and size. A background is kept as a raw PPM: FFmpeg decodes a picture once to
probe it and again to use it, both before the first frame, and inflating a full-frame PNG each
time costs more than reading 6 MB that the page cache holds. PPM, unlike BMP, is RGB in the
order PNG decodes to, so the colour conversion is the same, to the last bit.

File names start with the drawing's version, so the backgrounds an earlier version drew can be
found and removed (`stale_backgrounds`, `renderer.cache_files`) without reading them: each is
6 MB at 1080x1920.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import uuid
from pathlib import Path

from renderer import cache_files, text
from themes import Theme

# Bump when backgrounds are drawn differently, so cached ones are not reused.
BACKGROUND_VERSION = 2
BACKGROUND_KIND = "background"
BACKGROUND_PREFIX = cache_files.prefix(BACKGROUND_KIND, BACKGROUND_VERSION)
SUBDIR = "backgrounds"
# Backgrounds named before their names carried a version: winter-1080x1920-<key>.ppm.
LEGACY_BACKGROUND = re.compile(r"[\w.-]+-\d+x\d+-[0-9a-f]{24}\.ppm")


def theme_background(theme: Theme, size: tuple[int, int], cache_dir: Path) -> Path:
    """The theme's background at `size`, from `cache_dir`/backgrounds, drawn there if missing.

    It is written under a temporary name and renamed into place, so concurrent workers never
    read half a file."""
    identity = repr(dataclasses.replace(theme, source="")) + f"{size}/v{BACKGROUND_VERSION}"
    key = hashlib.sha256(identity.encode()).hexdigest()[:24]
    name = f"{BACKGROUND_PREFIX}{theme.name}-{size[0]}x{size[1]}-{key}.ppm"
    path = Path(cache_dir) / SUBDIR / name
    if path.is_file():
        cache_files.mark_used(path)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
        try:
            text.draw_background(theme, size).save(partial, format="PPM")
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
    return path


def stale_backgrounds(cache_dir: Path) -> list[Path]:
    """The backgrounds in `cache_dir`/backgrounds an earlier version drew that nothing has used
    for a while: no render of this version reads them."""
    directory = Path(cache_dir) / SUBDIR
    return cache_files.stale_files(
        directory, BACKGROUND_KIND, BACKGROUND_VERSION, LEGACY_BACKGROUND
    )
