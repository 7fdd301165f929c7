"""`rounds collect`: one pass over the configured sources."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from aggregator.cli.app import AppContext, pass_app, rounds
from aggregator.collectors.registry import build_collector
from aggregator.jobs import SourceRunner
from aggregator.locking import ClaimManager
from aggregator.service import Classify, CollectService, SourceResult
from aggregator.settings import Settings
from aggregator.textutil import TerminalSafeFormatter, terminal_safe

if TYPE_CHECKING:
    from aggregator.curation.store import CurationStore


def build_service(app: AppContext) -> CollectService:
    """The collect service as the CLI, the reader and the daemon use it."""
    from aggregator.curation.sources import expand_curated
    from aggregator.curation.store import CurationStore

    curation = CurationStore(app.db, app.clock)
    settings = expand_curated(app.settings, curation)  # `curated = "LIST"` sources
    return CollectService(
        settings, app.repo,
        lambda account: build_collector(account, app.environ, app.clock),
        app.clock, classify=build_classify(app, settings, curation),
    )


def build_classify(app: AppContext, settings: Settings | None = None,
                   curation: CurationStore | None = None) -> Classify:
    """Ingest-time topics: the taxonomy, a source's defaults and curated voices' topics
    (collection and `rounds import` classify alike)."""
    from aggregator.curation.sources import voice_topics_of
    from aggregator.curation.store import CurationStore
    from aggregator.topics.wiring import make_classify

    curation = curation if curation is not None else CurationStore(app.db, app.clock)
    return make_classify(settings or app.settings, voice_topics_of(curation))


@rounds.command()
@click.option("--source", "names", multiple=True, metavar="NAME",
              help="Collect only this source (repeatable). Default: every source.")
@click.option("--due", is_flag=True,
              help="Only sources whose `every` has passed since their last run (for cron: "
                   "safe every minute; a source another process is collecting is skipped).")
@pass_app
def collect(app: AppContext, names: tuple[str, ...], due: bool) -> None:
    """Collect new posts from every configured source (or the named ones) now.

    The first run of a source takes up to its `backfill` posts; later runs take only
    what is newer than what is stored. Prints a summary per source; exits 1 when any
    source failed (the others are still collected).
    """
    settings = app.settings
    wanted = {settings.source(n).name for n in names}
    if not settings.sources:
        raise click.UsageError("no sources configured; add [[sources]] to "
                               f"{settings.path or 'your configuration (rounds init)'}")
    service = build_service(app)
    chosen = [s.name for s in service.settings.sources  # curated sources expanded
              if not wanted or s.name in wanted or s.name.split(" @")[0] in wanted]
    runner = SourceRunner(service, ClaimManager(app.db, app.clock), app.clock)
    err = Console(stderr=True)
    try:
        if due:
            chosen = [s.name for s in runner.due_sources(chosen)]
        if err.is_terminal:
            results = _collect_with_progress(runner, chosen, err, due)
        else:
            results = runner.run_many(chosen, due_only=due)
    finally:
        service.close()
    _print_summary(results, Console())
    if any(not r.ok for r in results):
        click.get_current_context().exit(1)


def _collect_with_progress(runner: SourceRunner, names: list[str],
                           console: Console, due: bool) -> list[SourceResult]:
    results = []
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=console, transient=True) as bar, _logs_above(bar.console):
        for name in names:
            task = bar.add_task(terminal_safe(name, single_line=True))

            def show(r: SourceResult, task: TaskID = task) -> None:
                bar.update(task, description=f"{terminal_safe(r.name, single_line=True)}: "
                           f"{r.new} new, {r.requests} requests")

            results.append(runner.run(runner.service.settings.source(name), due_only=due,
                                      progress=show))
            bar.remove_task(task)
    return results


@contextmanager
def _logs_above(console: Console) -> Iterator[None]:
    """While a progress display runs, log lines print above it instead of through it."""
    root = logging.getLogger()
    handler = RichHandler(console=console, show_path=False, markup=False)
    handler.setFormatter(TerminalSafeFormatter("%(name)s: %(message)s"))
    saved = root.handlers[:]
    root.handlers = [handler]
    try:
        yield
    finally:
        root.handlers = saved


def _print_summary(results: list[SourceResult], console: Console) -> None:
    table = Table(title=None, show_edge=False, pad_edge=False)
    for col in ("source", "network", "new", "already stored", "requests", "errors"):
        table.add_column(col, justify="right" if col in {"new", "already stored", "requests"}
                         else "left", overflow="fold")
    for r in results:
        error = Text(terminal_safe(r.error, single_line=True), style="red") if r.error else Text("")
        table.add_row(Text(terminal_safe(r.name, single_line=True)), r.network, str(r.new),
                      str(r.existing), str(r.requests), error)
    if console.is_terminal:
        console.print(table)
    else:  # plain, stable lines for cron mail and scripts
        for r in results:
            status = "ok" if r.ok else f"error: {terminal_safe(r.error or '', single_line=True)}"
            if r.ok and r.requests == 0 and r.warnings and r.warnings[0].startswith("skipped"):
                status = r.warnings[0]  # another process has it (collect --due from cron)
            click.echo(f"{terminal_safe(r.name, single_line=True)}\t{r.network}\tnew={r.new}\t"
                       f"existing={r.existing}\trequests={r.requests}\t{status}")
