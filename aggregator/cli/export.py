"""`rounds export`: the archive as JSON Lines or CSV."""

from __future__ import annotations

import sys
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path
from typing import IO

import click

from aggregator.archive import Split
from aggregator.cli.app import AppContext, pass_reader, rounds
from aggregator.cli.archive import export_files
from aggregator.errors import ConfigError
from aggregator.export import ExportFilter, iter_records, write_csv, write_jsonl
from aggregator.fileio import atomic_text
from aggregator.when import WhenError, parse_when


def _when(value: str | None, now: datetime, option: str, *, end: bool = False
          ) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_when(value, now, end=end)
    except WhenError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


def _source_name(app: AppContext, name: str) -> str:
    """A configured or an import-only source (an unknown one is an error naming both)."""
    if name in app.imported_sources:
        return name
    if name not in {s.name for s in app.settings.sources}:
        raise ConfigError(app.settings.unknown_source(name, app.imported_sources))
    return name


@rounds.command()
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl",
              show_default=True, help="Output format.")
@click.option("--since", metavar="WHEN", help="Only posts created at or after WHEN: 7d, 2w, "
              "36h (ago), today, yesterday, 2026-11-01, an ISO time (README: Dates and "
              "durations).")
@click.option("--until", metavar="WHEN", help="Only posts created before WHEN (a day: "
              "until its end).")
@click.option("--source", "source_names", multiple=True, metavar="NAME",
              help="Only posts brought by this source (repeatable).")
@click.option("--network", type=click.Choice(["mastodon", "twitter"]), help="Only this network.")
@click.option("--query", metavar="QUERY", help="Only posts matching a query "
              "(the language of `rounds search`).")
@click.option("--mutes", "apply_mutes", is_flag=True,
              help="Leave out what the mutes hide in the reader (`rounds mutes list`); "
                   "without it every stored post is exported.")
@click.option("--context", "with_context", is_flag=True,
              help="Also the posts fetched only as part of a conversation (T in the "
                   "reader); without it, only posts your sources brought.")
@click.option("--raw", is_flag=True, help="Add the JSON as received from the server.")
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="Write to FILE (atomically) instead of standard output; with --split, "
                   "the directory for the files.")
@click.option("--split", type=click.Choice(["day", "month"]),
              help="One file per day or month of creation, into the directory given by -o, "
                   "with a manifest.json (counts and sha256 per file).")
@click.option("--gzip", "gz", is_flag=True, help="Compress the file(s) with gzip.")
@pass_reader
def export(app: AppContext, fmt: str, since: str | None, until: str | None,
           source_names: tuple[str, ...], network: str | None, query: str | None,
           apply_mutes: bool, with_context: bool, raw: bool, output: Path | None,
           split: Split | None,
           gz: bool) -> None:
    """Export stored posts, oldest first, one record per post.

    Every record has the same fields whichever network it came from: network, id, key,
    url, author, author_name, created_at (ISO 8601 UTC), edited_at, text, spoiler, lang,
    reply_to_id, quote_of, hashtags, mentions, links, media, sources, boosted_by, topics.
    Memory use stays constant however large the archive.
    """
    now = app.clock.now()
    where = None
    if query:
        from aggregator.query import parse_query
        from aggregator.storage.search import post_filter

        where = post_filter(parse_query(
            query, now=now, vocabulary=app.vocabulary()), app.db.dialect)
    muted = None
    if apply_mutes:
        from aggregator.mutes import hidden_clause

        muted = hidden_clause(app.db, app.settings, now, app.vocabulary())
    flt = ExportFilter(
        since=_when(since, now, "--since"),
        until=_when(until, now, "--until", end=True),
        sources=[_source_name(app, n) for n in source_names],
        network=network, where=where, muted=muted, context=with_context,
    )
    records = iter_records(app.db, flt, raw=raw)
    if split or gz or (output and output.is_dir()):
        return export_files(app, records, output, fmt=fmt, split=split, gz=gz, raw=raw)
    with atomic_text(output) if output else nullcontext(sys.stdout) as out:
        stream: IO[str] = out
        if fmt == "csv":
            count = write_csv(records, stream, raw=raw)
        else:
            count = write_jsonl(records, stream)
    if output:
        click.echo(f"exported {count} posts to {output}", err=True)
