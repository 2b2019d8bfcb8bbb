"""The cluster benchmark's markdown: the two sides side by side, the fault runs, the targets."""

from __future__ import annotations

import math
from typing import Any

SUBMIT_P99_TARGET_MS = 100.0
STATUS_P99_TARGET_MS = 50.0
TAKE_OVER_MARGIN_S = 5.0


def ratio(b: float, a: float) -> str:
    if not a or math.isnan(a) or math.isnan(b):
        return "—"
    return f"{b / a:.2f}"


def _cell(row: dict[str, Any], key: str, unit: str = "") -> str:
    value = row.get(key)
    return "—" if value is None else f"{value}{unit}"


def side_table(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    def line(label: str, key: str, unit: str, target: str = "") -> str:
        return (
            f"| {label} | {_cell(a, key, unit)} | {_cell(b, key, unit)} | "
            f"{ratio(b[key], a[key])} | {target} |"
        )

    return [
        f"| | A: {a['side']} | B: {b['side']} | B/A | target (B) |",
        "| --- | --- | --- | --- | --- |",
        line("submit p50", "submit_p50_ms", " ms"),
        line("submit p99", "submit_p99_ms", " ms", f"≤ {SUBMIT_P99_TARGET_MS:g} ms"),
        line("job-status p50", "status_p50_ms", " ms"),
        line("job-status p99", "status_p99_ms", " ms", f"≤ {STATUS_P99_TARGET_MS:g} ms"),
        line("requests/s", "requests_per_s", ""),
        f"| errors | {a['errors']} | {b['errors']} | | 0 |",
        f"| samples (1/s) with all {a['slots']} slots rendering | "
        f"{a['all_slots_rendering']} | {b['all_slots_rendering']} | | |",
        f"| renders finished in the window | {a['renders_in_window']} | "
        f"{b['renders_in_window']} | {ratio(b['renders_in_window'], a['renders_in_window'])} | |",
        line("slot-free → rendering p50", "handoff_p50_ms", " ms"),
        line("slot-free → rendering max", "handoff_max_ms", " ms"),
        line("CPU of the server processes, cores", "cpu_servers_cores", ""),
        line("CPU of redis-server, cores", "cpu_redis_cores", ""),
        line("CPU of the renders, cores", "cpu_renders_cores", ""),
        line("CPU of the whole box (steal included), cores", "cpu_box_busy_cores", ""),
        line("serving CPU per API request", "serving_cpu_ms_per_request", " ms"),
        f"| Redis commands per job, renders only | — | {_cell(b, 'quiet_commands_per_job')} | | |",
        f"| Redis commands per job, under the clients' load | — | "
        f"{_cell(b, 'window_commands_per_job')} | | |",
        f"| Redis commands per API request, under load | — | "
        f"{_cell(b, 'window_commands_per_request')} | | |",
    ]


def commands_line(b: dict[str, Any]) -> list[str]:
    counts = b.get("quiet_commands_by_name") or {}
    jobs = b.get("renders_in_quiet") or 0
    if not counts or not jobs:
        return []
    busiest = ", ".join(f"{name} {n / jobs:.1f}" for name, n in list(counts.items())[:8])
    return [
        "",
        f"Renders only, per job ({jobs} jobs in {b['quiet_s']} s, background work of the "
        f"nodes included): {busiest}.",
    ]


def fault_table(runs: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| fault run | lease | kill -9 → job back in the queue | kill -9 → rendering on the "
        "other node | target | jobs | lost | completed twice | attempts of the killed job |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for n, run in enumerate(runs, 1):
        lines.append(
            f"| {n} | {run['lease_s']:g} s | {run['requeued_s']} s | {run['take_over_s']} s | "
            f"≤ {run['take_over_target_s']:g} s | {run['jobs']} | {run['lost']} | "
            f"{run['completed_twice']} | {run['killed_job_attempts']} |"
        )
    return lines


def held_table(held: dict[str, Any]) -> list[str]:
    a, b = held["sqlite"], held["redis"]

    def line(label: str, key: str, unit: str) -> str:
        return f"| {label} | {a[key]}{unit} | {b[key]}{unit} | {ratio(b[key], a[key])} |"

    return [
        f"The same clients for {a['seconds']} / {b['seconds']} s with renders held back "
        "(no job claimed: the API's own cost, with whatever else runs on the box):",
        "",
        "| renders held | A | B | B/A |",
        "| --- | --- | --- | --- |",
        line("submit p50", "submit_p50_ms", " ms"),
        line("submit p99", "submit_p99_ms", " ms"),
        line("job-status p50", "status_p50_ms", " ms"),
        line("job-status p99", "status_p99_ms", " ms"),
        line("requests/s", "requests_per_s", ""),
        f"| errors | {a['errors']} | {b['errors']} | |",
        line("CPU of the whole box, cores", "cpu_box_busy_cores", ""),
        line("serving CPU per API request", "serving_cpu_ms_per_request", " ms"),
    ]


def targets(result: dict[str, Any]) -> dict[str, bool]:
    b = result["redis"]
    runs = result["faults"]
    return {
        "submit_p99": b["submit_p99_ms"] <= SUBMIT_P99_TARGET_MS,
        "status_p99": b["status_p99_ms"] <= STATUS_P99_TARGET_MS,
        "take_over": all(r["take_over_s"] <= r["take_over_target_s"] for r in runs),
        "none_lost": all(r["lost"] == 0 for r in runs),
        "none_completed_twice": all(r["completed_twice"] == 0 for r in runs),
    }


def markdown(result: dict[str, Any]) -> str:
    a, b = result["sqlite"], result["redis"]
    met = result["targets"]
    lines = [
        f"Every slot rendering; {a['clients']} clients, each polling every {a['think_ms']} ms, "
        f"for {a['seconds']} / {b['seconds']} s (A / B); Redis AOF on, "
        f"appendfsync {result['appendfsync']}.",
        "",
        *side_table(a, b),
        *commands_line(b),
        "",
        *fault_table(result["faults"]),
        "",
        *([*held_table(result["held"]), ""] if "held" in result else []),
        "Targets: " + ", ".join(f"{name} {'met' if ok else 'MISSED'}" for name, ok in met.items()),
    ]
    return "\n".join(lines)
