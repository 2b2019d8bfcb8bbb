"""Effects and backgrounds made ahead of time, for built-in and operator themes alike."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

import themes
from renderer import backgrounds, effects, prewarm

SIZES = [(180, 320), (320, 180)]
FPS = 10
EFFECT_THEMES = ("winter", "neon", "sunset", "bold")
DAY = 86400


def _operator_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "themes"
    directory.mkdir()
    (directory / "blizzard.toml").write_text(
        'extends = "winter"\n[effect_params]\ncolour = "#bfe3ff"\ndensity = 2.0\n'
    )
    (directory / "broken.toml").write_text("effect = 12\n")
    return directory


def _made(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.rglob("*") if p.is_file())


def test_every_theme_and_size_is_made_once(ffmpeg, tmp_path):
    dirs = (_operator_dir(tmp_path),)
    cache = tmp_path / "cache"
    done = prewarm.prepare_effects(dirs, cache, ffmpeg, sizes=SIZES, fps=FPS)
    wanted = [*EFFECT_THEMES, "blizzard"]
    assert done.made == len(wanted) * len(SIZES) and done.found == 0
    assert [name for name, _ in done.failed] == ["broken"]  # the rest was made regardless
    for name in wanted:
        theme = themes.load_theme(name, dirs=dirs)
        for size in SIZES:
            # A render finds the mask: no FFmpeg run, or this missing binary would fail.
            clip = effects.effect_clip(theme, size, FPS, cache / "effects", "/nonexistent")
            assert clip is not None and clip.path.stat().st_size > 0
    drawn = list((cache / "backgrounds").iterdir())
    assert len(drawn) == (len(themes.list_themes(dirs)) - 1) * len(SIZES)
    assert not [name for name in _made(cache) if name.startswith(".")]  # no temporary files

    before = _made(cache)
    again = prewarm.prepare_effects(dirs, cache, "/nonexistent", sizes=SIZES, fps=FPS)
    assert again.made == 0 and again.found == len(wanted) * len(SIZES)
    assert _made(cache) == before


def test_runs_side_by_side_leave_whole_files(ffmpeg, tmp_path):
    cache = tmp_path / "cache"
    results: list[prewarm.Prepared] = []
    runs = [
        threading.Thread(
            target=lambda: results.append(
                prewarm.prepare_effects((), cache, ffmpeg, sizes=SIZES[:1], fps=FPS)
            )
        )
        for _ in range(2)
    ]
    for run in runs:
        run.start()
    for run in runs:
        run.join(timeout=120)
    assert len(results) == 2 and all(not result.failed for result in results)
    masks = sorted((cache / "effects").iterdir())
    # One of each, whole: no temporary file of the run that lost the rename is left.
    assert [p.name.split("-")[2] for p in masks] == ["bokeh", "snow", "sparkles", "vignette"]
    theme = themes.load_theme("neon")
    clip = effects.describe(theme, SIZES[0], FPS, cache / "effects")
    assert clip is not None and clip.path in masks


def test_a_stop_ends_the_run_before_the_next_file(ffmpeg, tmp_path):
    stop = threading.Event()
    stop.set()
    done = prewarm.prepare_effects((), tmp_path / "cache", ffmpeg, sizes=SIZES, fps=FPS, stop=stop)
    assert done.made == 0 and not (tmp_path / "cache").exists()


def _leave(directory: Path, names: list[str], unused_s: float) -> None:
    """Files as another version left them, last read or written `unused_s` ago."""
    then = time.time() - unused_s
    for name in names:
        (directory / name).write_bytes(b"old")
        os.utime(directory / name, (then, then))


# Per cache: files an earlier version left and a write abandoned, unused for days (removed);
# one a node still on the earlier version uses and a write under way (kept); a later
# version's and a stranger, unused for days (kept).
LEFT_BEHIND = {
    "effects": (
        [
            "effect-snow-180x320-10fps-0123456789abcdef.mkv",
            "effect-v1-snow-180x320.mkv",
            ".effect-v8-snow-180x320.123.ab12cd34.tmp.mkv",
        ],
        ["effect-v1-sparkles-180x320.mkv", ".effect-v8-bokeh-180x320.124.ab12cd35.tmp.mkv"],
        ["effect-v99-snow-180x320.mkv", "notes.txt"],
    ),
    "backgrounds": (
        [
            "winter-180x320-0123456789abcdef01234567.ppm",
            "background-v1-winter-180x320.ppm",
            ".background-v2-neon-180x320-0123.ppm.ab12.part",
        ],
        ["neon-180x320-0123456789abcdef01234567.ppm", ".background-v2-bold-18.ppm.cd34.part"],
        ["background-v99-neon-180x320.ppm", "a.txt"],
    ),
}


@pytest.mark.parametrize("subdir", sorted(LEFT_BEHIND))
def test_files_an_earlier_version_left_unused_are_removed_and_the_rest_kept(
    ffmpeg, tmp_path, subdir
):
    directory = tmp_path / "cache" / subdir
    prewarm.prepare_effects((), tmp_path / "cache", ffmpeg, sizes=SIZES[:1], fps=FPS)
    current = _made(directory)
    prefix = {"effects": effects.MASK_PREFIX, "backgrounds": backgrounds.BACKGROUND_PREFIX}
    assert current and all(name.startswith(prefix[subdir]) for name in current)
    unused, in_use, others = LEFT_BEHIND[subdir]
    _leave(directory, [*unused, *others], unused_s=3 * DAY)
    _leave(directory, in_use, unused_s=DAY / 2)
    done = prewarm.prepare_effects((), tmp_path / "cache", ffmpeg, sizes=SIZES[:1], fps=FPS)
    assert done.removed == len(unused) and done.made == 0
    assert _made(directory) == sorted([*current, *in_use, *others])


def _found_by_a_render(subdir: str, cache: Path, ffmpeg: str) -> Path:
    theme = themes.load_theme("winter")
    if subdir == "backgrounds":
        return backgrounds.theme_background(theme, SIZES[0], cache)
    clip = effects.effect_clip(theme, SIZES[0], FPS, cache / "effects", ffmpeg)
    assert clip is not None
    return clip.path


@pytest.mark.parametrize("subdir", sorted(LEFT_BEHIND))
def test_a_render_that_finds_a_cached_file_marks_it_used(ffmpeg, tmp_path, subdir):
    path = _found_by_a_render(subdir, tmp_path, ffmpeg)
    then = time.time() - 3 * DAY
    os.utime(path, (then, then))
    # Found, not made again: a missing FFmpeg would fail a mask that had to be made.
    assert _found_by_a_render(subdir, tmp_path, "/nonexistent") == path
    assert time.time() - path.stat().st_mtime < DAY  # an unused-for-days check now keeps it


def test_a_stale_file_that_cannot_be_removed_does_not_stop_preparing(ffmpeg, tmp_path):
    stuck = tmp_path / "cache" / "effects" / "effect-v1-snow-180x320.mkv"
    stuck.mkdir(parents=True)  # unlink() refuses a directory, as it would a read-only file
    then = time.time() - 3 * DAY
    os.utime(stuck, (then, then))
    done = prewarm.prepare_effects((), tmp_path / "cache", ffmpeg, sizes=SIZES[:1], fps=FPS)
    assert done.removed == 0 and done.made == len(EFFECT_THEMES) and not done.failed
    assert stuck.is_dir()
