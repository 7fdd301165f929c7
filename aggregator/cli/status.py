"""`rounds status`: per-source health; `--json` for monitoring; exit 1 when failing.

The tables fit the terminal (80 columns included): a long error is one line cut at a
word boundary with `…`; `rounds status SOURCE` and `--json` give it whole.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from aggregator.cli.app import AppContext, pass_reader, rounds
from aggregator.errors import ArchiveMissing, CurationError
from aggregator.settings import Settings
from aggregator.status import SourceStatus, import_status, list_status, never_run
from aggregator.textutil import terminal_safe

MIN_LAST_WIDTH = 24  # the error column's least width before columns are dropped


def when(value: datetime | None, now: datetime, never: str = "never") -> str:
    if value is None:
        return never
    seconds = int((value - now).total_seconds())
    ago, seconds = seconds < 0, abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size or unit == "s":
            amount = f"{seconds // size}{unit}"
            break
    return f"{amount} ago" if ago else f"in {amount}"


def shorten(text: str, width: int) -> str:
    """`text` on one line in at most `width` characters, cut at a word boundary with `…`."""
    text = terminal_safe(text, single_line=True)
    if len(text) <= width:
        return text
    cut = text[:max(width - 1, 1)]
    space = cut.rfind(" ")
    if space >= width // 2:  # a word boundary not too far back
        cut = cut[:space]
    return cut.rstrip(" ,;:(") + "…"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str | Text]],
                last: Sequence[str], last_header: str, *, drop: Sequence[str] = (),
                console: Console | None = None) -> None:
    """A table whose last column (free text such as an error) takes the width the others
    leave, one line per row, so a long error never wraps the table into a column of
    fragments. On a narrow terminal the columns named in `drop` go first, in that order,
    until the last column has MIN_LAST_WIDTH characters."""
    console = console or Console()
    keep = list(range(len(headers)))

    def build(with_last: bool) -> Table:
        table = Table(show_edge=False, pad_edge=False)
        for i in keep:
            table.add_column(headers[i], no_wrap=True, overflow="ellipsis")
        if with_last:
            table.add_column(last_header, no_wrap=True, overflow="ellipsis")
        for n, row in enumerate(rows):
            cells = [row[i] for i in keep]
            if with_last:
                cells.append(Text(shorten(last[n], width), style="red" if last[n] else ""))
            table.add_row(*cells)
        return table

    to_drop = [headers.index(name) for name in drop]
    need = min(MIN_LAST_WIDTH, max([len(last_header), *(len(t) for t in last)]))
    while True:
        room = console.width - console.measure(build(False)).maximum - 3
        if room >= need or not to_drop:
            break
        keep.remove(to_drop.pop(0))
    width = max(room, need)
    console.print(build(True))


def hint_no_sources(settings: Settings) -> None:
    """First run: say where sources go and what to run, on stderr (stdout is data)."""
    where = settings.path or "your configuration (`rounds init` writes a starter one)"
    click.echo(f"no sources configured: add [[sources]] to {where}, then run `rounds collect`",
               err=True)


@rounds.command()
@click.argument("source", required=False)
@click.option("--json", "as_json", is_flag=True, help="One JSON document, for monitoring.")
@pass_reader
def status(app: AppContext, source: str | None, as_json: bool) -> None:
    """Per source: last success, last error, consecutive failures, next due, posts in the
    last 24 h, and X reads spent today. SOURCE: that source in detail, with its whole last
    error. Exits 1 when any (the) source has failed 3 or more times in a row."""
    curated = False
    try:
        imported = import_status(app.settings, app.repo)
    except ArchiveMissing:
        imported = []
    if source is not None and source not in {r.name for r in imported}:
        # an unknown name is an error naming the known ones
        curated = app.settings.source(source).target.kind == "curated"
    if not app.settings.sources and not imported and not as_json:
        hint_no_sources(app.settings)  # first run: one line, archive untouched
        return
    try:
        rows = list_status(expanded_settings(app), app.repo) if app.settings.sources else []
    except ArchiveMissing as exc:  # not a failure: nothing has run yet, and nothing is made
        click.echo(f"{exc}", err=True)
        rows = never_run(app.settings)
    rows += imported
    rows = [r for r in rows if source in (None, r.name)
            or (curated and r.name.startswith(f"{source} "))]
    now = app.clock.now()
    if as_json:
        click.echo(json.dumps({"now": now.isoformat().replace("+00:00", "Z"),
                               "sources": [r.as_json() for r in rows],
                               "failing": [r.name for r in rows if r.failing]},
                              ensure_ascii=True, indent=2))
    elif source is not None:
        _print_one(rows[0], now)
    elif rows:
        _print(rows, now)
    if not rows:
        hint_no_sources(app.settings)
    if any(r.failing for r in rows):
        raise click.exceptions.Exit(1)


def expanded_settings(app: AppContext) -> Settings:
    """The sources as collection runs them: a curated source is its list and members'
    accounts (read from the archive, never written)."""
    from aggregator.curation.sources import expand_curated
    from aggregator.curation.store import CurationStore

    try:
        return expand_curated(app.settings, CurationStore(app.db, app.clock))
    except CurationError as exc:  # a list not created yet: nothing collected from it
        click.echo(f"{exc}", err=True)
        return app.settings


def _reads(r: SourceStatus) -> str:
    if r.x_reads_today is None:
        return ""
    return f"{r.x_reads_today}" + (f"/{r.x_reads_budget}" if r.x_reads_budget else "")


def _due(r: SourceStatus, now: datetime) -> str:
    if r.imported:
        return "never (imported)"
    return "now" if r.next_due is None or r.next_due <= now else when(r.next_due, now)


def _print(rows: list[SourceStatus], now: datetime) -> None:
    any_x = any(r.x_reads_today is not None for r in rows)
    headers = ["source", "last success", "next due", "failures", "posts 24h",
               *(["X reads"] if any_x else [])]
    cells: list[list[str | Text]] = [
        [Text(terminal_safe(r.name, single_line=True)), when(r.last_success_at, now),
         _due(r, now), Text(str(r.consecutive_failures), style="red" if r.failing else ""),
         str(r.posts_24h), *([_reads(r)] if any_x else [])] for r in rows]
    print_table(headers, cells, [r.last_error or "" for r in rows], "last error",
                drop=["posts 24h", "next due"])


def _print_one(r: SourceStatus, now: datetime) -> None:
    """Every fact about one source, one per line, the error whole (wrapped by the terminal)."""
    facts = [
        ("source", r.name), ("network", r.network),
        ("account", r.account or ("none: an import-only source" if r.imported else "")),
        ("last run", when(r.last_run_at, now)), ("last success", when(r.last_success_at, now)),
        ("next due", _due(r, now)), ("failures in a row", str(r.consecutive_failures)),
        ("posts in 24 h", str(r.posts_24h)),
        *([("X reads today", _reads(r))] if r.x_reads_today is not None else []),
        *([("claimed by", r.claimed_by)] if r.claimed_by else []),
        ("last error", r.last_error or "none"),
    ]
    for label, value in facts:
        click.echo(f"{label + ':':<19}{terminal_safe(value, single_line=True)}")
