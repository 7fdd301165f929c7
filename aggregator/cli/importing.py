"""`rounds import`: bring existing archives in (twarc files, X and Mastodon account
archives, our own exports, Bluesky repositories)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from aggregator.cli.app import AppContext, pass_app, rounds
from aggregator.cli.collect import _logs_above
from aggregator.errors import AggregatorError
from aggregator.importing.items import FORMATS, NETWORK

if TYPE_CHECKING:  # the readers load the network normalizers: only when importing
    from aggregator.importing.reading import Chunk
    from aggregator.importing.run import Importer, ImportSummary
from aggregator.textutil import terminal_safe

FORMAT_HELP = """\b
Formats (--format, default auto: recognised from the file):
  twarc             JSON Lines from twarc: twarc2 (one X API v2 response per line,
                    data + includes, or one flattened tweet per line) or twarc 1 (one
                    v1.1 tweet per line).
  x-archive         an X account archive (.zip): data/tweets.js and its parts, long
                    posts' text from data/note-tweet.js; the owner from account.js.
                    Likes and deleted posts are not posts: not imported.
  mastodon-jsonl    JSON Lines of Mastodon API statuses: one status, or one page of
                    them (a JSON array), per line, as saved from /api/v1/timelines.
  mastodon-archive  a Mastodon account archive (.zip or .tar.gz): outbox.json's posts
                    (Create activities), the author from actor.json. Boosts are not
                    imported: the archive holds only the boosted post's address.
  rounds            `rounds export --raw` JSON Lines: each post goes back to the
                    sources its record names (unless --source), with its topics.
  bluesky-car       a Bluesky repository export (.car, com.atproto.sync.getRepo):
                    its app.bsky.feed.post records."""


@rounds.command("import", epilog=FORMAT_HELP)
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", "source", metavar="NAME",
              help="The source the posts belong to: a configured source of the same "
                   "network, or a name for an import-only source (created if absent; "
                   "listed by `rounds status`, never collected). Required, except for "
                   "--format rounds, whose records name their sources.")
@click.option("--format", "fmt", type=click.Choice(["auto", *FORMATS]), default="auto",
              show_default=True, help="The input format (see below).")
@click.option("--skip-bad", is_flag=True,
              help="Go on past a malformed line or member (counted as bad, its position "
                   "logged) instead of stopping there.")
@click.option("--one-process", is_flag=True,
              help="Read and classify in this process. Default: inputs of 1 MB or more "
                   "are read, parsed and classified in a second process while this one "
                   "stores (both cores; about twice as fast), on a machine with two or "
                   "more cores.")
@pass_app
def import_(app: AppContext, paths: tuple[Path, ...], source: str | None, fmt: str,
            skip_bad: bool, one_process: bool) -> None:
    """Import posts from files into the archive, streaming (constant memory).

    Imported posts get topics and full-text search like collected ones. Importing is
    idempotent (a second run adds nothing: "already present") and resumable (interrupted,
    run it again: every post is stored once). A malformed line or member is reported
    with its position (FILE:LINE, or ARCHIVE:MEMBER item N); the import stops there,
    after storing the posts before it, unless --skip-bad. One summary line at the end.
    """
    from aggregator.curation.sources import voice_topic_index
    from aggregator.curation.store import CurationStore
    from aggregator.importing.formats import detect
    from aggregator.importing.reading import WORKER_MIN_BYTES, Reading, chunks, input_bytes
    from aggregator.importing.run import Importer, ImportSummary
    from aggregator.pipeline import bulk_gc, produce

    formats = [detect(p) if fmt == "auto" else fmt for p in paths]
    if source is None and any(f != "rounds" for f in formats):
        raise click.UsageError("--source NAME is required (except for rounds exports)")
    importer = Importer(app.settings, app.repo)
    if source is not None:
        for f in formats:
            if f in NETWORK:  # create it up front: `rounds status` shows it even if empty
                importer.source_id(source, NETWORK[f], f)
    total = input_bytes(paths)
    worker = not one_process and total >= WORKER_MIN_BYTES and (os.cpu_count() or 1) > 1
    reading = Reading(paths, tuple(formats), source, app.settings,
                      voice_topic_index(CurationStore(app.db, app.clock)),
                      find_works=not worker)
    summary = ImportSummary()
    err = Console(stderr=True)
    label = formats[0] if len(set(formats)) == 1 else "mixed"
    try:
        with bulk_gc():
            prepared = produce(chunks, (reading,), worker=worker)
            if err.is_terminal:
                _with_progress(importer, prepared, label, skip_bad, summary, total, err)
            else:
                importer.run(prepared, fmt=label, skip_bad=skip_bad, summary=summary)
    except AggregatorError as exc:
        importer.record_runs(summary, str(exc))
        click.echo(terminal_safe(summary.line(), single_line=True), err=True)
        raise
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: what was committed stays, and is said
        click.echo(terminal_safe(summary.line(), single_line=True), err=True)
        importer.record_runs(summary, "interrupted")
        raise
    importer.record_runs(summary)
    click.echo(terminal_safe(summary.line(), single_line=True))


def _with_progress(importer: Importer, prepared: Iterable[Chunk], fmt: str, skip_bad: bool,
                   summary: ImportSummary, total: int, console: Console) -> None:
    started = time.monotonic()
    with Progress(TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn(),
                  console=console, transient=True) as bar, _logs_above(bar.console):
        task = bar.add_task("importing", total=total or None)

        def show(s: ImportSummary, position: int) -> None:
            rate = s.read / max(time.monotonic() - started, 1e-6)
            bar.update(task, completed=position,
                       description=f"{s.read} posts, {s.stored} new, {rate:,.0f}/s")

        importer.run(prepared, fmt=fmt, skip_bad=skip_bad, progress=show, summary=summary)
