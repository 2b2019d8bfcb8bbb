"""Effects and backgrounds made ahead of time, for built-in and operator themes alike."""

from __future__ import annotations

import threading
from pathlib import Path

import themes
from renderer import backgrounds, effects, prewarm

SIZES = [(180, 320), (320, 180)]
FPS = 10
EFFECT_THEMES = ("winter", "neon", "sunset", "bold")


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
    backgrounds = list((cache / "backgrounds").iterdir())
    assert len(backgrounds) == (len(themes.list_themes(dirs)) - 1) * len(SIZES)
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


def test_masks_of_an_earlier_version_are_removed_and_the_current_kept(ffmpeg, tmp_path):
    effects_dir = tmp_path / "cache" / "effects"
    prewarm.prepare_effects((), tmp_path / "cache", ffmpeg, sizes=SIZES[:1], fps=FPS)
    current = _made(effects_dir)
    earlier = ["effect-snow-180x320-10fps-0123456789abcdef.mkv", "effect-v1-snow-180x320.mkv"]
    kept = [".effect-snow-180x320.123.tmp.mkv", "notes.txt"]  # a write under way; not a mask
    for name in [*earlier, *kept]:
        (effects_dir / name).write_bytes(b"old")
    done = prewarm.prepare_effects((), tmp_path / "cache", ffmpeg, sizes=SIZES[:1], fps=FPS)
    assert done.removed == len(earlier) and done.made == 0 and done.found == len(current)
    assert _made(effects_dir) == sorted([*current, *kept])


def test_backgrounds_of_an_earlier_version_are_removed_and_the_current_kept(ffmpeg, tmp_path):
    drawn = tmp_path / "cache" / "backgrounds"
    prewarm.prepare_effects((), tmp_path / "cache", ffmpeg, sizes=SIZES[:1], fps=FPS)
    current = _made(drawn)
    assert current and all(name.startswith(backgrounds.BACKGROUND_PREFIX) for name in current)
    earlier = ["winter-180x320-0123456789abcdef01234567.ppm", "background-v1-winter-180x320.ppm"]
    kept = [".background-v1-winter.123.part.ppm", "notes.txt"]  # a write under way; not one
    for name in [*earlier, *kept]:
        (drawn / name).write_bytes(b"old")
    done = prewarm.prepare_effects((), tmp_path / "cache", ffmpeg, sizes=SIZES[:1], fps=FPS)
    assert done.removed == len(earlier)
    assert _made(drawn) == sorted([*current, *kept])
