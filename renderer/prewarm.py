"""Theme effects and backgrounds made ahead of time, so no render waits for one.

`prepare_effects` makes, for every theme (built-in and operator) and every format size, the
effect mask and the background a render would otherwise make on first use. It skips what the
cache already holds, and it is safe beside running renders: every file is written under a
temporary name and renamed into place, so a render either finds a whole file or makes its own.
Masks and backgrounds an earlier version of the drawing made are removed first, once nothing has
used them for two days (`renderer.cache_files`): each version's set is tens of MB per theme and
size.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import themes
from renderer import backgrounds, effects
from renderer.backgrounds import theme_background
from renderer.types import RenderError
from scenes.spec import FORMATS

log = logging.getLogger(__name__)

# Every frame size a spec's `format` names, once each.
FORMAT_SIZES: tuple[tuple[int, int], ...] = tuple(dict.fromkeys(FORMATS.values()))
FPS = 30


@dataclass
class Prepared:
    """What a run did: files made, files already there, and what failed (theme, reason)."""

    made: int = 0
    found: int = 0
    removed: int = 0  # masks and backgrounds of an earlier version, abandoned writes
    failed: list[tuple[str, str]] = field(default_factory=list)


def prepare_effects(
    theme_dirs: Sequence[Path],
    cache_dir: Path,
    ffmpeg: str,
    *,
    sizes: Iterable[tuple[int, int]] = FORMAT_SIZES,
    fps: int = FPS,
    stop: threading.Event | None = None,
) -> Prepared:
    """Make each theme's effect mask and background for each size, where missing.

    `cache_dir` is the renders' asset cache dir (`AssetPolicy.cache_dir`): masks go where a
    render looks for them. A theme that cannot be loaded or drawn is logged and skipped; the
    others are still made. Setting `stop` ends the run between two files.
    """
    stale = effects.stale_masks(Path(cache_dir) / "effects")
    stale += backgrounds.stale_backgrounds(Path(cache_dir))
    done = Prepared(removed=_remove(stale, cache_dir))
    for name in themes.list_themes(theme_dirs):
        try:
            theme = themes.load_theme(name, dirs=theme_dirs)
        except themes.ThemeError as exc:
            done.failed.append((name, str(exc)))
            continue
        for size in sizes:
            if stop is not None and stop.is_set():
                return done
            try:
                _prepare_one(theme, tuple(size), fps, Path(cache_dir), ffmpeg, done)
            except (RenderError, OSError) as exc:
                log.warning("cannot prepare theme %s at %dx%d: %s", name, *size, exc)
                done.failed.append((name, str(exc)))
    return done


def _prepare_one(
    theme: themes.Theme,
    size: tuple[int, int],
    fps: int,
    cache_dir: Path,
    ffmpeg: str,
    done: Prepared,
) -> None:
    clip = effects.describe(theme, size, fps, cache_dir / "effects")
    if clip is not None:
        if clip.path.is_file():
            done.found += 1
        else:
            effects.effect_clip(theme, size, fps, cache_dir / "effects", ffmpeg)
            done.made += 1
    # The background keeps no record of being new: drawing it is what finding it costs.
    theme_background(theme, size, cache_dir)


def _remove(stale: list[Path], cache_dir: Path) -> int:
    removed = 0
    for path in stale:
        try:
            path.unlink()
        except FileNotFoundError:  # another run removed it first
            continue
        except OSError as exc:  # not ours to remove (a read-only cache): prepare regardless
            log.warning("cannot remove %s: %s", path, exc)
            continue
        removed += 1
    if removed:
        log.info("removed %d stale files from %s", removed, cache_dir)
    return removed
