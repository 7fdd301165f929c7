"""pytest plugin for `make reliability`: a table of every scenario and its result.

    python -m pytest -q tests/reliability -p tests.reliability.report

A scenario is named by the test's docstring first line (or its node id), plus its
parameters; the network column shows which network a test ran against ("-" when it
does not touch one). Results: passed, FAILED, xfail (a known gap, listed in the issue),
SKIPPED (never expected on CI).

What a scenario measured it attaches with pytest's `record_property("name", "value with
unit")`; the table prints those figures on lines of their own under the scenario's row
(RSS and open files at the soak's checkpoints, posts lost and duplicated, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

NETWORKS = ("mastodon", "twitter", "bluesky", "feed")


@dataclass
class _Row:
    area: str
    scenario: str
    network: str
    result: str = ""
    figures: list[tuple[str, str]] = field(default_factory=list)


def _describe(item: pytest.Item) -> tuple[str, str, str]:
    module = item.nodeid.split("::")[0].rsplit("/", 1)[-1].removesuffix(".py")
    area = module.removeprefix("test_")
    obj: Any = getattr(item, "obj", None)
    doc = (getattr(obj, "__doc__", None) or "").strip().splitlines()
    name = doc[0].rstrip(".") if doc else getattr(item, "originalname", item.name)
    params: dict[str, Any] = dict(getattr(getattr(item, "callspec", None), "params", {}) or {})
    # a module that drives several networks at once says so: REPORT_NETWORK = "all"
    network = str(getattr(getattr(item, "module", None), "REPORT_NETWORK", "-"))
    rest = []
    for key, value in params.items():
        text = " ".join(map(str, value)) if isinstance(value, tuple) else getattr(
            value, "name", value)
        if key in ("world", "network") or text in NETWORKS:
            network = str(text)
        else:
            rest.append(str(text))
    if not params and "[" in item.name:  # ids only
        ident = item.name.split("[", 1)[1].rstrip("]")
        parts = ident.split("-")
        for part in parts:
            if part in NETWORKS:
                network = part
        rest = [p for p in parts if p not in NETWORKS]
    if rest:
        name = f"{name} [{', '.join(rest)}]"
    return area, name, network


class _Reporter:
    """Registered once per session; collects a row per test and prints the table."""

    def __init__(self) -> None:
        self.rows: dict[str, _Row] = {}

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            self.rows[item.nodeid] = _Row(*_describe(item))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        row = self.rows.get(report.nodeid)
        if row is None:
            return
        if report.skipped:
            row.result = "xfail" if hasattr(report, "wasxfail") else "SKIPPED"
        elif report.failed:
            row.result = "FAILED" if report.when == "call" else f"ERROR ({report.when})"
        elif report.passed and report.when == "call":
            row.result = "XPASS" if hasattr(report, "wasxfail") else "passed"
        if report.when == "call":
            row.figures = [(str(k), str(v)) for k, v in report.user_properties]

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        rows = [r for r in self.rows.values() if r.result]
        if not rows:
            return
        heads = ("area", "scenario", "network", "result")
        widths = [max(len(h), *(len(getattr(r, h)) for r in rows)) for h in heads]
        widths[1] = min(widths[1], 90)
        tr = terminalreporter
        tr.write_sep("=", "reliability scenarios")
        tr.write_line("  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)))
        tr.write_line("  ".join("-" * w for w in widths))
        for r in sorted(rows, key=lambda r: (r.area, r.scenario, r.network)):
            name = r.scenario if len(r.scenario) <= widths[1] else r.scenario[:widths[1] - 1] + "…"
            cells = (r.area, name, r.network, r.result)
            tr.write_line("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)))
            indent = " " * (widths[0] + 4)
            for key, value in r.figures:
                tr.write_line(f"{indent}{key}: {value}")
        counts: dict[str, int] = {}
        for r in rows:
            counts[r.result] = counts.get(r.result, 0) + 1
        tr.write_line(f"{len(rows)} scenarios: "
                      + ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
                      + f"; {sum(len(r.figures) for r in rows)} figures measured")


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_Reporter(), "reliability-report-table")
