"""The render benchmark's figures: one row per theme and build, one per scene count and build,
Markdown tables with the builds side by side, and a JSON file."""

from __future__ import annotations

import json
from pathlib import Path

from measure import Measured
from render_themes import ThemeResult

DEFINITIONS = {
    "warm": "(a) render() in a process warmed up as a pool worker is (imports, FFmpeg, encoder "
    "probe, theme fonts), from the call until video.mp4 and poster.jpg are written",
    "cold CLI": "a new `reelfarm render` process (Python start-up included), with the cache "
    "dir as earlier runs left it",
    "first use": "a new `reelfarm render` process with an EMPTY cache dir: effect clips and "
    "backgrounds made on the spot",
    "(b)": "(a)'s output decoded to raw yuv420p in /dev/shm and encoded again with the same "
    "encoder arguments; only that encode is timed",
    "(b')": "the same with the frames exactly as Reelfarm's encoder received them",
    "b'/b": "the best a/b any render of these frames can reach: it encodes them (b') and more "
    "(where x264 smoothed a theme's fine detail, (a)'s decoded output is cheaper to encode)",
    "x fastest at b'": "encoding the theme's own frames (b') against the fastest theme's "
    "render: the least x fastest can be with the frames as they are",
    "(c)": "the reel composed per frame by MoviePy, timed on --moviepy-seconds in short "
    "windows spread over the whole timeline, imports left out; its per-frame cost stands for "
    "the whole reel",
}


def _rate(measured: Measured | None, digits: int = 1) -> float | None:
    return round(measured.fps, digits) if measured else None


def _cpu(measured: Measured | None) -> float | None:
    return round(measured.cpu_ms_per_frame, 1) if measured else None


def theme_rows(result: ThemeResult) -> list[dict]:
    """One row per build of one theme; `x_fastest` is added once every theme is measured."""
    rows = []
    moviepy = result.moviepy
    for name, runs in result.runs.items():
        sides = runs.best()
        warm, cold, first = sides["warm"], sides["cold_cli"], sides["first_use"]
        b, exact = sides["encode_only"], sides["encode_only_composed"]
        rows.append({
            "kind": "theme",
            "theme": result.theme,
            "build": name,
            "ffmpeg": runs.build.version,
            "frames": result.reel.frames,
            "length_s": result.reel.length_s,
            "reelfarm_fps": _rate(warm),
            "cold_cli_fps": _rate(cold),
            "first_use_fps": _rate(first),
            "encode_only_fps": _rate(b),
            "encode_only_composed_fps": _rate(exact),
            "moviepy_fps": _rate(moviepy, 2),
            "reelfarm_s": round(warm.seconds, 2),
            "encode_only_composed_s": round(exact.seconds, 2),
            "a_over_b": round(warm.fps / b.fps, 3),
            "a_over_b_composed": round(warm.fps / exact.fps, 3),
            # A render encodes its own frames (b') and more: the best a/b it can reach.
            "b_composed_over_b": round(exact.fps / b.fps, 3),
            "cli_over_b": round(cold.fps / b.fps, 3),
            "cli_over_b_composed": round(cold.fps / exact.fps, 3),
            "cold_over_warm": round(cold.seconds / warm.seconds, 3),
            "first_use_over_warm": round(first.seconds / warm.seconds, 3),
            "a_over_c": round(warm.fps / moviepy.fps, 1) if moviepy else None,
            "a_over_b_by_cpu": round(b.cpu_s / warm.cpu_s, 3),
            "reelfarm_cpu_ms_per_frame": _cpu(warm),
            "cold_cli_cpu_ms_per_frame": _cpu(cold),
            "first_use_cpu_ms_per_frame": _cpu(first),
            "encode_only_cpu_ms_per_frame": _cpu(b),
            "encode_only_composed_cpu_ms_per_frame": _cpu(exact),
            "moviepy_cpu_ms_per_frame": _cpu(moviepy),
            "reelfarm_peak_rss_mb": round(runs.peak_rss.peak_rss_mb) if runs.peak_rss else None,
            "cold_cli_peak_rss_mb": round(cold.peak_rss_mb),
            "moviepy_peak_rss_mb": round(moviepy.peak_rss_mb) if moviepy else None,
        })  # fmt: skip
    return rows


def add_x_fastest(rows: list[dict]) -> None:
    """Each theme's warm wall time against the fastest theme's on the same build; and the
    least it could be: encoding the theme's own frames (b') against that same time."""
    for row in rows:
        fastest = min(r["reelfarm_s"] for r in rows if r["build"] == row["build"])
        row["x_fastest"] = round(row["reelfarm_s"] / fastest, 3)
        row["x_fastest_at_b_composed"] = round(row["encode_only_composed_s"] / fastest, 3)


def _cells(rows: list[dict], key: str) -> str:
    """The builds' values of `key`, side by side ("61.6 / 58.2"); one value where they share
    it (MoviePy runs once per theme)."""
    values = [row.get(key) for row in rows]
    shown = ["—" if v is None else v if isinstance(v, str) else f"{v:g}" for v in values]
    return shown[0] if len(set(shown)) == 1 and key.startswith("moviepy") else " / ".join(shown)


THEME_COLUMNS = [
    ("(a) warm fps", "reelfarm_fps"),
    ("x fastest", "x_fastest"),
    ("cold CLI fps", "cold_cli_fps"),
    ("first use fps", "first_use_fps"),
    ("(b) fps", "encode_only_fps"),
    ("(b') fps", "encode_only_composed_fps"),
    ("a/b", "a_over_b"),
    ("a/b'", "a_over_b_composed"),
    ("b'/b", "b_composed_over_b"),
    ("x fastest at b'", "x_fastest_at_b_composed"),
    ("CLI/b", "cli_over_b"),
    ("cold ÷ warm", "cold_over_warm"),
    ("first use ÷ warm", "first_use_over_warm"),
    ("(c) MoviePy fps", "moviepy_fps"),
    ("a/c", "a_over_c"),
    ("a/b by CPU", "a_over_b_by_cpu"),
    ("CPU ms/frame (a)", "reelfarm_cpu_ms_per_frame"),
    ("peak RSS (a) MB", "reelfarm_peak_rss_mb"),
]

SCENE_COLUMNS = [
    ("length s", "length_s"),
    ("(a) warm fps", "reelfarm_fps"),
    ("wall ms/frame", "wall_ms_per_frame"),
    ("CPU ms/frame", "cpu_ms_per_frame"),
    ("peak RSS MB", "peak_rss_mb"),
    ("RSS x fewest scenes", "peak_rss_vs_fewest"),
]


def markdown_table(
    rows: list[dict], first: tuple[str, str], columns: list[tuple[str, str]]
) -> None:
    label, key = first
    builds = list(dict.fromkeys(row["build"] for row in rows))
    print(f"\n| {label} | " + " | ".join(name for name, _ in columns) + " |")
    print("| --- " * (len(columns) + 1) + "|")
    for value in dict.fromkeys(row[key] for row in rows):
        group = [next(r for r in rows if r[key] == value and r["build"] == b) for b in builds]
        print(f"| {value} | " + " | ".join(_cells(group, k) for _, k in columns) + " |")
    if len(builds) > 1:
        print(f"\ncells: {' / '.join(builds)}")


def print_tables(theme_rows: list[dict], scene_rows: list[dict]) -> None:
    if theme_rows:
        markdown_table(theme_rows, ("theme", "theme"), THEME_COLUMNS)
        print()
        for name, text in DEFINITIONS.items():
            print(f"- {name}: {text}")
    if scene_rows:
        first = scene_rows[0]
        each = first["length_s"] / first["scenes"]
        print(f"\nlong reels: the six scenes repeated, {each:.3g} s each, theme {first['theme']}")
        markdown_table(scene_rows, ("scenes", "scenes"), SCENE_COLUMNS)


def write_json(report: dict, path: Path) -> None:
    path.write_text(json.dumps({**report, "definitions": DEFINITIONS}, indent=2))
