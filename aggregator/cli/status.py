"""`rounds status`: per-source health; `--json` for monitoring; exit 1 when failing."""

from __future__ import annotations

import json
from datetime import datetime

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from aggregator.cli.app import AppContext, pass_reader, rounds
from aggregator.errors import ArchiveMissing
from aggregator.status import SourceStatus, list_status, never_run
from aggregator.textutil import terminal_safe


def _when(value: datetime | None, now: datetime, never: str = "never") -> str:
    if value is None:
        return never
    seconds = int((value - now).total_seconds())
    ago, seconds = seconds < 0, abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size or unit == "s":
            amount = f"{seconds // size}{unit}"
            break
    return f"{amount} ago" if ago else f"in {amount}"


@rounds.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON document, for monitoring.")
@pass_reader
def status(app: AppContext, as_json: bool) -> None:
    """Per source: last success, last error, consecutive failures, next due, posts in the
    last 24 h, and X reads spent today. Exits 1 when any source has failed 3 or more
    times in a row."""
    try:
        rows = list_status(app.settings, app.repo)
    except ArchiveMissing as exc:  # not a failure: nothing has run yet, and nothing is made
        click.echo(f"{exc}", err=True)
        rows = never_run(app.settings)
    now = app.clock.now()
    if as_json:
        click.echo(json.dumps({"now": now.isoformat().replace("+00:00", "Z"),
                               "sources": [r.as_json() for r in rows],
                               "failing": [r.name for r in rows if r.failing]},
                              ensure_ascii=True, indent=2))
    else:
        _print(rows, now)
    if any(r.failing for r in rows):
        raise click.exceptions.Exit(1)


def _print(rows: list[SourceStatus], now: datetime) -> None:
    table = Table(show_edge=False, pad_edge=False)
    for col in ("source", "last success", "next due", "failures", "posts 24h", "X reads today",
                "last error"):
        table.add_column(col, overflow="fold")
    for r in rows:
        reads = "" if r.x_reads_today is None else (
            f"{r.x_reads_today}" + (f"/{r.x_reads_budget}" if r.x_reads_budget else ""))
        due = "now" if r.next_due is None or r.next_due <= now else _when(r.next_due, now)
        table.add_row(
            Text(terminal_safe(r.name, single_line=True)), _when(r.last_success_at, now),
            due, Text(str(r.consecutive_failures), style="red" if r.failing else ""),
            str(r.posts_24h), reads,
            Text(terminal_safe(r.last_error or "", single_line=True), style="red"))
    Console().print(table)
