"""The server benchmark's markdown: latency tables per client pace, then the bulk table."""

from __future__ import annotations

from typing import Any


def latency_table(r: dict[str, Any]) -> list[str]:
    pace = (
        f"each polling every {r['think_ms']} ms"
        if r["think_ms"]
        else "each sending its next request as soon as the last one is answered (saturation)"
    )
    return [
        f"All {r['slots']} render slots busy; {r['clients']} concurrent clients, {pace}, "
        f"for {r['seconds']} s: {r['requests']} requests, {r['errors']} errors, "
        f"{r['requests_per_s']} requests/s.",
        "",
        "| request | p50 | p99 | target p99 |",
        "| --- | --- | --- | --- |",
        f"| submit (`POST /api/generate-video-async`) | {r['submit_p50_ms']} ms | "
        f"{r['submit_p99_ms']} ms | ≤ 100 ms |",
        f"| job-status (`GET /api/job-status/{{id}}`) | {r['status_p50_ms']} ms | "
        f"{r['status_p99_ms']} ms | ≤ 50 ms |",
        "",
    ]


def bulk_table(rows: list[dict[str, Any]]) -> list[str]:
    best = max((r for r in rows if r["max_concurrent"] != "auto"), key=lambda r: r["jobs_per_min"])
    auto = next(r for r in rows if r["max_concurrent"] == "auto")
    lines = [
        "20 small reels (360x640, 5 s, photo zoom + title + fade) submitted at once:",
        "",
        "| max_concurrent | slots | wall | reels/min | slot handoff p50 / max |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {r['max_concurrent']} | {r['slots']} | {r['wall_s']} s | {r['jobs_per_min']} | "
        f"{r['handoff_p50_ms']} / {r['handoff_max_ms']} ms |"
        for r in rows
    ]
    ratio = auto["jobs_per_min"] / best["jobs_per_min"] * 100
    return [
        *lines,
        "",
        f'"auto" reaches {ratio:.0f} % of the best fixed value ({best["max_concurrent"]}); '
        "target ≥ 95 %.",
    ]


def markdown(result: dict[str, Any]) -> str:
    lines = []
    for key in ("latency", "saturation"):
        if key in result:
            lines += latency_table(result[key])
    if "bulk" in result:
        lines += bulk_table(result["bulk"])
    return "\n".join(lines)
