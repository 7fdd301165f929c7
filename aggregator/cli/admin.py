"""`rounds init`, `rounds sources`, `rounds db upgrade`."""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path
from types import SimpleNamespace

import click
from rich.text import Text
from sqlalchemy import func, select

from aggregator.cli.app import AppContext, pass_app, pass_reader, rounds
from aggregator.cli.status import (
    expanded_settings,
    hint_no_sources,
    print_table,
    shorten,
    when,
)
from aggregator.errors import ArchiveMissing
from aggregator.settings import find_config
from aggregator.status import stored_sources
from aggregator.storage.db import head_revision, open_database, schema_revision
from aggregator.storage.schema import post_sources
from aggregator.textutil import terminal_safe


def example_config() -> str:
    return files("aggregator").joinpath("data/rounds.example.toml").read_text(encoding="utf-8")


@rounds.command()
@click.option("--path", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write (default: the configuration path rounds reads).")
@click.pass_obj
def init(app: AppContext, path: Path | None) -> None:
    """Write an annotated starter configuration file (never overwrites one)."""
    target = path or find_config(app.config, app.environ)[0]
    if target.exists():
        raise click.ClickException(f"{target} already exists; not overwriting it")
    target.parent.mkdir(parents=True, exist_ok=True)
    # 0600 from the start: the file may later name token files or hold team secrets.
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(example_config())
    click.echo(f"wrote {target}\nedit it, then run: rounds collect")


@rounds.command("sources")
@pass_reader
def list_sources(app: AppContext) -> None:
    """List configured sources with their last run, outcome, cursor and post count (a long
    error is cut to fit; `rounds status SOURCE` shows it whole)."""
    settings = app.settings
    if not settings.sources:  # first run: one line on what to do, the archive untouched
        hint_no_sources(settings)
        return
    try:
        settings = expanded_settings(app)  # curated sources as collection runs them
        rows = stored_sources(settings, app.repo)
    except ArchiveMissing as exc:  # nothing has run yet, and nothing is made: say so
        click.echo(f"{exc}", err=True)
        rows, counts = {}, {}
        reads = dict.fromkeys((a for a, acc in settings.accounts.items()
                               if acc.network == "twitter"), 0)
    else:
        with app.db.engine.connect() as conn:
            counts = {r[0]: int(r[1]) for r in conn.execute(
                select(post_sources.c.source_id, func.count())
                .group_by(post_sources.c.source_id))}
        reads = {a: app.repo.reads_since(a, app.repo.start_of_day()) for a in settings.accounts
                 if settings.accounts[a].network == "twitter"}
    any_x = bool(reads)
    headers = ["source", "account", "target", "every", "last run", "cursor", "posts",
               *(["X reads"] if any_x else [])]
    cells: list[list[str | Text]] = []
    outcomes: list[str] = []
    now = app.clock.now()
    for s in settings.sources:
        row = rows.get(s.name, _NEVER_RUN)
        outcomes.append("never run" if row.last_run_at is None else
                        "ok" if row.last_error is None else f"error: {row.last_error}")
        budget = settings.accounts[s.account].max_reads_per_day
        spent = (f"{reads[s.account]}" + (f"/{budget}" if budget else "")
                 if s.account in reads else "")
        cells.append([
            Text(terminal_safe(s.name, single_line=True)), s.account,
            Text(shorten(f"{s.target.kind}:{s.target.value}", 24)), _every(s.every),
            when(row.last_run_at, now, never="-"), shorten(row.cursor or "-", 12),
            str(counts.get(row.id, 0)), *([spent] if any_x else [])])
    print_table(headers, cells, outcomes, "outcome",
                drop=["cursor", "account", "every", "posts", "last run"])


# A source the archive has no row for yet (no archive): what its row will say.
_NEVER_RUN = SimpleNamespace(id=None, last_run_at=None, last_error=None, cursor=None)


def _every(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@rounds.group()
def db() -> None:
    """Database maintenance."""


@db.command()
@pass_app
def upgrade(app: AppContext) -> None:
    """Apply pending schema migrations (new databases are migrated automatically)."""
    database = open_database(app.settings.database_url, migrate=False)
    before = schema_revision(database.engine)
    database.dispose()
    database = open_database(app.settings.database_url)
    after = schema_revision(database.engine)
    click.echo(f"{database.url}: schema {before or 'empty'} -> {after} (head {head_revision()})")
