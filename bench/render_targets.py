"""The render benchmark's targets, each PASS or MISS per FFmpeg build, with what missed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

MAX_X_FASTEST = 1.15
MIN_A_OVER_B = 0.85
MAX_COLD_OVER_WARM = 1.2
MAX_RSS_GROWTH = 1.10
MIN_A_OVER_C = 10.0
MAX_CAPTIONS_COST = 1.10


@dataclass(frozen=True)
class Target:
    name: str
    kind: str  # which rows it reads: theme | scenes
    key: str
    holds: Callable[[float], bool]
    only_most_scenes: bool = False
    # The row's key for the best value any render of the same frames can reach, if known.
    bound: str | None = None


TARGETS = [
    Target(f"every theme ≤ {MAX_X_FASTEST}x the fastest", "theme", "x_fastest",
           lambda v: v <= MAX_X_FASTEST, bound="x_fastest_at_b_composed"),
    Target(f"a/b ≥ {MIN_A_OVER_B}, warm", "theme", "a_over_b", lambda v: v >= MIN_A_OVER_B,
           bound="b_composed_over_b"),
    Target(f"a/b ≥ {MIN_A_OVER_B}, cold CLI", "theme", "cli_over_b",
           lambda v: v >= MIN_A_OVER_B, bound="b_composed_over_b"),
    Target(f"cold CLI ≤ {MAX_COLD_OVER_WARM}x warm", "theme", "cold_over_warm",
           lambda v: v <= MAX_COLD_OVER_WARM),
    Target(f"most scenes' peak RSS ≤ {MAX_RSS_GROWTH}x the fewest's", "scenes",
           "peak_rss_vs_fewest", lambda v: v <= MAX_RSS_GROWTH, only_most_scenes=True),
    Target(f"render ÷ MoviePy ≥ {MIN_A_OVER_C:g}x", "theme", "a_over_c",
           lambda v: v >= MIN_A_OVER_C),
    Target(f"captions + logo ≤ {MAX_CAPTIONS_COST}x the reel without", "captions",
           "captioned_over_plain", lambda v: v <= MAX_CAPTIONS_COST),
    Target(f"captions + logo ≤ {MAX_CAPTIONS_COST}x the reel without, cold CLI", "captions",
           "cli_captioned_over_plain", lambda v: v <= MAX_CAPTIONS_COST),
    Target(f"a/b ≥ {MIN_A_OVER_B}, captioned", "captions", "a_over_b",
           lambda v: v >= MIN_A_OVER_B),
    Target(f"a/b ≥ {MIN_A_OVER_B}, captioned, cold CLI", "captions", "cli_over_b",
           lambda v: v >= MIN_A_OVER_B),
]  # fmt: skip


def _label(row: dict) -> str:
    return f"{row['scenes']} scenes" if row["kind"] == "scenes" else row["theme"]


def check_targets(rows: list[dict]) -> list[dict]:
    """Each target on each build: PASS when every row it reads holds it; the worst value and
    the rows that missed. A target with no rows (a part not run) is left out."""
    verdicts = []
    builds = list(dict.fromkeys(row["build"] for row in rows))
    for target in TARGETS:
        for build in builds:
            mine = [r for r in rows if r["kind"] == target.kind and r["build"] == build]
            mine = [r for r in mine if r.get(target.key) is not None]
            if target.only_most_scenes and mine:
                most = max(r["scenes"] for r in mine)
                mine = [r for r in mine if r["scenes"] == most and r["fewest_scenes"] != most]
            if not mine:
                continue
            missed = [r for r in mine if not target.holds(r[target.key])]
            values = [r[target.key] for r in mine]
            # A floor's worst value is its lowest, a ceiling's its highest.
            worst = min(values) if target.holds(float("inf")) else max(values)
            verdicts.append({
                "target": target.name,
                "build": build,
                "verdict": "MISS" if missed else "PASS",
                "worst": worst,
                "missed": {_label(r): r[target.key] for r in missed},
                "out_of_reach": _out_of_reach(target, missed),
            })  # fmt: skip
    return verdicts


def _out_of_reach(target: Target, missed: list[dict]) -> dict[str, float]:
    """The missed rows whose bound misses the target too: no render of those frames meets it."""
    if target.bound is None:
        return {}
    bounds = {_label(r): r.get(target.bound) for r in missed}
    return {name: v for name, v in bounds.items() if v is not None and not target.holds(v)}


def print_targets(verdicts: list[dict]) -> None:
    if not verdicts:
        return
    print("\ntargets:")
    for v in verdicts:
        missed = ", ".join(f"{name} {value:g}" for name, value in v["missed"].items())
        beyond = ", ".join(f"{name} {value:g}" for name, value in v["out_of_reach"].items())
        print(f"  {v['verdict']}  {v['target']} [{v['build']}]: worst {v['worst']:g}"
              + (f"; missed by {missed}" if missed else "")
              + (f"; out of reach at b' for {beyond}" if beyond else ""))  # fmt: skip
