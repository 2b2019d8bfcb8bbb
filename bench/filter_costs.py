"""What each theme's composition costs, per frame, and which of its parts cost what.

    .venv/bin/python bench/filter_costs.py [--themes all] [--ffmpeg system|bundled|both]
                                           [--repeat 3] [--quick] [--encoded] [--json FILE]

The render's own FFmpeg command for the benchmark reel (bench/reel.py) is captured
(bench/render_command.py) and run with its video, audio and poster sent to the null muxer:
no x264, no AAC, only the composition (scenes, cards, transitions, the effect layer, the
audio mix). Its CPU time (user + system) per frame, FFmpeg's start-up included (every
picture is decoded once to probe it), is the theme's composition cost.

Each part is isolated by rendering a variant of the theme, a theme that `extends` the built-in
one from a temporary theme dir, with one thing turned off:
- effect: `effect = "none"` (no snow, sparkles, grain... layer);
- transitions: `[transition] type = "none"`, every transition a cut;
- text entrances: `text_animation = "none"`, cards shown at once.
A part's cost is the whole composition's less its variant's. With --encoded the commands run
as the render runs them, x264 and AAC included: a part's cost is then also what the encoder
spends on what it draws (fine moving detail costs x264 far more than it costs to compose).
Every command runs --repeat times, the variants and builds alternating, and the run with the
least CPU is kept. Runs of one command scatter by about 1 ms a frame on a 4 s reel (--quick),
far less on the 12 s one.
A theme costs 4 variants x builds x --repeat runs of its composition.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from measure import children_cpu_s
from reel import ROOT, Reel
from render_builds import Build, resolve_builds
from render_command import render_command, with_outputs
from render_report import markdown_table

# Each part, and the theme setting that turns it off.
PARTS = {
    "effect": 'effect = "none"\n',
    "transitions": '[transition]\ntype = "none"\n',
    "text entrances": 'text_animation = "none"\n',
}
NULL = ["-f", "null", "-"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--themes", default="all", help="'all' or a comma list")
    parser.add_argument("--ffmpeg", choices=("system", "bundled", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=3, help="least CPU of N runs each")
    parser.add_argument("--quick", action="store_true", help="540x960, a 4 s reel, --repeat 1")
    parser.add_argument("--encoded", action="store_true",
                        help="run the render's own command, encoding included")  # fmt: skip
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if args.quick:
        args.repeat = 1
    return args


def variant_themes(theme: str, theme_dir: Path) -> dict[str, str]:
    """The theme itself and, for each part, a theme that extends it with that part off."""
    names = {"whole": theme}
    for part, setting in PARTS.items():
        name = f"{theme}-without-{part.replace(' ', '-')}"
        (theme_dir / f"{name}.toml").write_text(f'extends = "{theme}"\n{setting}')
        names[part] = name
    return names


def composition_cpu_s(command: list[str]) -> float:
    """CPU seconds (user + system) of one run of `command`."""
    before = children_cpu_s()
    subprocess.run(command, check=True, stdin=subprocess.DEVNULL)
    return children_cpu_s() - before


def theme_costs(
    reel: Reel, builds: list[Build], work: Path, theme_dir: Path, repeat: int, encoded: bool
) -> list[dict]:
    """One row per build: the whole composition and each part, in CPU ms per frame."""
    names = variant_themes(reel.theme, theme_dir)
    commands: dict[tuple[str, str], list[str]] = {}
    for build in builds:
        for part, name in names.items():
            home = work / f"{build.name}-{name}"
            spec = replace(reel, theme=name).spec()
            args = render_command(spec, home, work / f"cache-{build.name}", build.ffmpeg,
                                  (theme_dir,))  # fmt: skip
            commands[build.name, part] = args if encoded else with_outputs(args, NULL, NULL)
    least: dict[tuple[str, str], float] = {}
    for _ in range(repeat):
        for key, command in commands.items():
            cpu_s = composition_cpu_s(command)
            least[key] = min(cpu_s, least.get(key, cpu_s))
    rows = []
    for build in builds:
        per_frame = {part: 1000 * least[build.name, part] / reel.frames for part in names}
        row = {"theme": reel.theme, "build": build.name, "ffmpeg": build.version,
               "frames": reel.frames, "whole_ms": round(per_frame["whole"], 2)}  # fmt: skip
        for part in PARTS:
            row[f"{part.replace(' ', '_')}_ms"] = round(per_frame["whole"] - per_frame[part], 2)
        rows.append(row)
    return rows


COLUMNS = [
    ("whole", "whole_ms"),
    ("effect", "effect_ms"),
    ("transitions", "transitions_ms"),
    ("text entrances", "text_entrances_ms"),
]


def main() -> None:
    args = parse_args()
    sys.path.insert(0, str(ROOT))
    import themes

    base = Reel(width=540, height=960, scene_s=4 / 6) if args.quick else Reel()
    builtin = themes.list_themes()
    names = builtin if args.themes == "all" else args.themes.split(",")
    builds = resolve_builds(args.ffmpeg, 0)
    for build in builds:
        print(f"ffmpeg {build.name} {build.version} {build.ffmpeg}")
    left_out = "encoding included" if args.encoded else "x264 and AAC left out"
    print(f"reel {base.size}, {base.fps} fps, {base.frames} frames; {left_out}")
    work = Path(tempfile.mkdtemp(prefix="bench-filter-costs-", dir="/var/tmp"))
    rows = []
    try:
        theme_dir = work / "themes"
        theme_dir.mkdir()
        for name in names:
            for row in theme_costs(replace(base, theme=name), builds, work, theme_dir,
                                   args.repeat, args.encoded):  # fmt: skip
                print(json.dumps(row), flush=True)
                rows.append(row)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    what = "the render's command, encoding included" if args.encoded else "composition only"
    print(f"\nCPU ms per frame, {what} (a part: the whole less the theme without it)")
    markdown_table(rows, ("theme", "theme"), COLUMNS)
    if args.json:
        figures = {"reel": vars(base), "encoded": args.encoded, "rows": rows}
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
