"""The render benchmark's figures: one row per reel length, a markdown table, a JSON file."""

from __future__ import annotations

import json
from pathlib import Path

from measure import Measured, ReelRuns


def figures(length: float, runs: ReelRuns, moviepy: Measured | None) -> dict:
    """One reel's row; the MoviePy figures are None where (c) did not run."""
    a, b, exact = runs.reelfarm, runs.encode_only, runs.encode_only_composed
    return {
        "length_s": length,
        "frames": a.frames,
        "reelfarm_fps": round(a.fps, 1),
        "reelfarm_cold_cli_fps": round(runs.cold_cli.fps, 1),
        "encode_only_fps": round(b.fps, 1),
        "encode_only_composed_fps": round(exact.fps, 1),
        "moviepy_fps": round(moviepy.fps, 2) if moviepy else None,
        "a_over_b": round(a.fps / b.fps, 3),
        "a_over_c": round(a.fps / moviepy.fps, 1) if moviepy else None,
        "reelfarm_cpu_ms_per_frame": round(a.cpu_ms_per_frame, 1),
        "encode_only_cpu_ms_per_frame": round(b.cpu_ms_per_frame, 1),
        "moviepy_cpu_ms_per_frame": round(moviepy.cpu_ms_per_frame, 1) if moviepy else None,
        "a_over_b_by_cpu": round(b.cpu_s / a.cpu_s, 3),
        "a_over_b_composed": round(a.fps / exact.fps, 3),
        "a_over_b_composed_by_cpu": round(exact.cpu_s / a.cpu_s, 3),
        "encode_only_composed_cpu_ms_per_frame": round(exact.cpu_ms_per_frame, 1),
        "reelfarm_peak_rss_mb": round(runs.peak_rss.peak_rss_mb),
        "moviepy_peak_rss_mb": round(moviepy.peak_rss_mb) if moviepy else None,
    }


def print_table(results: list[dict]) -> None:
    """The markdown table, and how peak memory grew from the shortest reel to the longest."""
    print()
    print(
        "| reel | (a) Reelfarm fps | (b) encode-only fps | (b') composed frames fps "
        "| (c) MoviePy fps | a/b | a/b' | a/c | a/b, a/b' by CPU time | peak RSS (a) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in results:
        print(
            f"| {row['length_s']:g} s | {row['reelfarm_fps']} | {row['encode_only_fps']} | "
            f"{row['encode_only_composed_fps']} | {row['moviepy_fps']} | {row['a_over_b']} | "
            f"{row['a_over_b_composed']} | {row['a_over_c']} | {row['a_over_b_by_cpu']}, "
            f"{row['a_over_b_composed_by_cpu']} | {row['reelfarm_peak_rss_mb']} MB |"
        )
    if len(results) >= 2:
        growth = results[-1]["reelfarm_peak_rss_mb"] / results[0]["reelfarm_peak_rss_mb"] - 1
        print(
            f"\npeak RSS growth {results[0]['length_s']:g} s → {results[-1]['length_s']:g} s: "
            f"{100 * growth:+.1f} %"
        )


def write_json(results: list[dict], path: Path) -> None:
    path.write_text(json.dumps(results, indent=2))
