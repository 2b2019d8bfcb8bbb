"""The benchmark reel with and without its brand layers (karaoke captions, a word every 0.3 s,
and a logo), side by side: what captions and overlays cost, and a/b of the captioned reel.

Per theme and build, `repeat` rounds, each running the plain reel and the captioned one by
the warm worker and by a new `reelfarm render` process (the cold CLI), one after the other
(so drift reaches all four); the fastest of each is kept. The captioned render's output,
decoded, is then the encode-only limit (b) both sides are held to.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

from measure import Measured, best
from reel import Reel
from render_builds import Build
from render_themes import BenchSettings
from sides import cli_config, decoded_frames, encode_limit, reelfarm, reelfarm_cli

# Each reel, by the warm worker and by the cold CLI.
SIDES = ("plain", "captioned", "plain_cli", "captioned_cli")


def measure_captions(reel: Reel, builds: list[Build], settings: BenchSettings) -> list[dict]:
    """One row per build: warm plain, warm captioned, their ratio, and a/b captioned."""
    home = settings.work / f"captions-{reel.theme}"
    home.mkdir(parents=True)
    specs = {}
    for name, variant in (("plain", reel), ("captioned", replace(reel, captioned=True))):
        specs[name] = home / f"{name}.json"
        specs[name].write_text(json.dumps(variant.spec()))
    rows = []
    for build in builds:
        cache = home / f"cache-{build.name}"
        config = cli_config(home / f"config-{build.name}.toml", build, cache)
        runs: dict[str, list[Measured]] = {side: [] for side in SIDES}
        for name in specs:  # a first render of each fills the cache (effects, backgrounds)
            reelfarm(specs[name], home / f"warmup-{name}", reel, build, cache, settings.threads)
        for _ in range(settings.repeat):
            for name in specs:
                out = home / f"out-{build.name}-{name}"
                runs[name].append(reelfarm(specs[name], out, reel, build, cache, settings.threads))
                cli_out = home / f"cli-{build.name}-{name}.mp4"
                runs[f"{name}_cli"].append(reelfarm_cli(specs[name], cli_out, reel, config))
        raw = settings.shm / f"captions-{reel.theme}-{build.name}.yuv"
        try:
            decoded_frames(build, home / f"out-{build.name}-captioned" / "video.mp4", raw, reel)
            limit = best([encode_limit(build, raw, reel) for _ in range(settings.repeat)])
        finally:
            raw.unlink(missing_ok=True)
        rows.append(_row(reel, build, {side: best(runs[side]) for side in SIDES}, limit))
        shutil.rmtree(cache, ignore_errors=True)
    return rows


def _row(reel: Reel, build: Build, fastest: dict[str, Measured], limit: Measured) -> dict:
    plain, captioned = fastest["plain"], fastest["captioned"]
    plain_cli, captioned_cli = fastest["plain_cli"], fastest["captioned_cli"]
    return {
        "kind": "captions",
        "theme": reel.theme,
        "build": build.name,
        "plain_s": round(plain.seconds, 3),
        "captioned_s": round(captioned.seconds, 3),
        "plain_cpu_ms_per_frame": round(plain.cpu_ms_per_frame, 2),
        "captioned_cpu_ms_per_frame": round(captioned.cpu_ms_per_frame, 2),
        "captioned_over_plain": round(captioned.seconds / plain.seconds, 3),
        "captioned_cpu_over_plain": round(captioned.cpu_s / plain.cpu_s, 3),
        "cli_captioned_over_plain": round(captioned_cli.seconds / plain_cli.seconds, 3),
        "encode_only_s": round(limit.seconds, 3),
        "a_over_b": round(limit.seconds / captioned.seconds, 3),
        "cli_over_b": round(limit.seconds / captioned_cli.seconds, 3),
    }


def print_captions(rows: list[dict]) -> None:
    if not rows:
        return
    print("\ncaptions + logo (karaoke, a word every 0.3 s); ratios are captioned ÷ plain:")
    print("  theme      build    plain s  captioned s  ratio  cpu ratio  CLI ratio  a/b    CLI/b")
    for r in rows:
        print(f"  {r['theme']:<10} {r['build']:<8} {r['plain_s']:>7.2f}  {r['captioned_s']:>11.2f}"
              f"  {r['captioned_over_plain']:>5.3f}  {r['captioned_cpu_over_plain']:>9.3f}"
              f"  {r['cli_captioned_over_plain']:>9.3f}  {r['a_over_b']:.3f}"
              f"  {r['cli_over_b']:.3f}")  # fmt: skip
