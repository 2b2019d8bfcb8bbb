"""Fixtures for the deploy files (dashboard, alert rules) and the real promtool and Prometheus."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


@pytest.fixture(scope="session")
def promtool() -> str:
    """promtool from Debian's `prometheus` package (.ci/run installs it)."""
    return _binary("promtool")


@pytest.fixture(scope="session")
def prometheus_bin() -> str:
    """The Prometheus server from Debian's `prometheus` package (.ci/run installs it)."""
    return _binary("prometheus")


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (apt-get install prometheus; .ci/run does)")
    return found


@pytest.fixture(scope="session")
def dashboard() -> dict[str, Any]:
    return json.loads((DEPLOY / "dashboard.json").read_text())


@pytest.fixture(scope="session")
def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load((DEPLOY / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


# Grafana's variables, as Grafana would substitute them for a short time range.
GRAFANA_VARIABLES = {
    "$__rate_interval": "1m",
    "$__interval": "15s",
    "$__range": "5m",
    "$instance": ".*",
}


@pytest.fixture(scope="session")
def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every non-row panel of the dashboard, including those inside collapsed rows."""
    return _panels(dashboard["panels"])


@pytest.fixture(scope="session")
def dashboard_exprs(panels: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(panel title, PromQL with Grafana's variables substituted) for every panel target."""
    return [
        (panel["title"], substitute(target["expr"]))
        for panel in panels
        for target in panel.get("targets", [])
    ]


@pytest.fixture(scope="session")
def rule_exprs(alert_rules: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(alert name, PromQL) for every rule in deploy/alerts.yml."""
    return [(rule.get("alert") or rule["record"], rule["expr"]) for rule in alert_rules]


def substitute(expr: str) -> str:
    # Longest names first so a short variable never replaces part of a longer one.
    for name in sorted(GRAFANA_VARIABLES, key=len, reverse=True):
        expr = expr.replace(name, GRAFANA_VARIABLES[name])
    return expr


def _panels(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for panel in panels:
        if panel.get("type") == "row":
            found.extend(_panels(panel.get("panels", [])))
        else:
            found.append(panel)
    return found
