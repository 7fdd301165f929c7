"""`rounds archive DIR`, `rounds archive --verify DIR`, `rounds prune`, `rounds db copy`,
and the file side of `rounds export --split/--gzip`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from aggregator.archive import (
    Split,
    archive_new,
    drop_manifest,
    file_name,
    verify,
    write_files,
)
from aggregator.archive import write_manifest as _write_manifest
from aggregator.cli.admin import db as db_group
from aggregator.cli.app import AppContext, pass_app, rounds
from aggregator.export import iso_z, write_csv, write_jsonl
from aggregator.fileio import atomic_text
from aggregator.when import WhenError, parse_duration


def export_files(app: AppContext, records: Iterator[dict[str, Any]], output: Path | None, *,
                 fmt: str, split: Split | None, gz: bool, raw: bool) -> None:
    """`rounds export --split/--gzip`: files (and, split, a manifest) instead of stdout."""
    if output is None:
        raise click.UsageError("--split and --gzip write files: give -o DIR (or -o FILE)")
    if split:
        if output.exists() and not output.is_dir():
            raise click.UsageError(f"--split writes one file per {split}: -o must be a "
                                   f"directory, and {output} is a file")
        drop_manifest(output)
        entries = write_files(records, output, fmt=fmt, split=split, gz=gz, raw=raw)
        _write_manifest(output, entries, exported_at=iso_z(app.clock.now()), split=split,
                        gzip=gz)
        click.echo(f"exported {sum(e.count for e in entries)} posts into {len(entries)} "
                   f"files in {output} (manifest.json)", err=True)
        return
    if output.is_dir():
        output = output / file_name("posts", None, fmt, gz)
    with atomic_text(output, gz=gz) as out:
        count = write_csv(records, out, raw=raw) if fmt == "csv" else write_jsonl(records, out)
    click.echo(f"exported {count} posts to {output}", err=True)


@rounds.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--verify", "check", is_flag=True,
              help="Check every manifest in DIR (files present, sha256, counts); write nothing.")
@click.option("--split", type=click.Choice(["day", "month"]), default="month",
              show_default=True, help="One file per period of the posts' creation date.")
@click.option("--no-gzip", is_flag=True, help="Plain files instead of .gz.")
@click.option("--raw", is_flag=True, help="Add the JSON as received from the server.")
@click.option("--settle", type=click.FloatRange(min=0), default=60.0, show_default=True,
              metavar="SECONDS", help="Leave posts that arrived in the last SECONDS for the "
              "next run (a page being written right now is never skipped).")
@pass_app
def archive(app: AppContext, directory: Path, check: bool, split: Split, no_gzip: bool,
            raw: bool, settle: float) -> None:
    """Export into DIR the posts that arrived since the last `rounds archive DIR`.

    Each run writes a batch directory (files per month by default, gzip, manifest.json
    with counts and sha256). Run it again and nothing new is written; an interrupted run
    is written again, whole, next time. Deleted posts are left out.
    """
    if check:
        checked, problems = verify(directory)
        for problem in problems:
            click.echo(f"FAIL {problem}", err=True)
        if problems:
            raise click.exceptions.Exit(1)
        click.echo(f"ok: {checked} files match their manifests")
        return
    result = archive_new(app.repo, directory, split=split, gz=not no_gzip, raw=raw,
                         settle=timedelta(seconds=settle))
    if result.batch is None:
        click.echo("nothing new since the last archive")
    else:
        if result.redone:
            click.echo(f"note: {result.batch} was left incomplete by an interrupted run; "
                       "written again, whole", err=True)
        click.echo(f"archived {result.total} posts into {result.batch} "
                   f"({len(result.files)} files)")


@rounds.command()
@click.option("--older-than", "older", required=True, metavar="AGE",
              help="Delete posts created more than AGE ago: a duration such as 365d, 2w, 36h "
              "(README: Dates and durations).")
@click.option("--keep-starred", is_flag=True, help="Keep starred posts whatever their age.")
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; change nothing.")
@pass_app
def prune(app: AppContext, older: str, keep_starred: bool, dry_run: bool) -> None:
    """Delete old posts (with their topics, sources and boosts) to bound the archive."""
    from aggregator.retention import prune_posts

    try:
        cutoff = app.clock.now() - parse_duration(older)
    except WhenError as exc:
        raise click.BadParameter(str(exc), param_hint="--older-than") from None
    result = prune_posts(app.db, cutoff, keep_starred=keep_starred, dry_run=dry_run)
    when = iso_z(cutoff)
    if dry_run:
        click.echo(f"would delete {result.posts} posts created before {when} (dry run)")
    else:
        click.echo(f"deleted {result.posts} posts created before {when} "
                   f"and {result.accounts} accounts no post refers to")


@db_group.command("copy")
@click.option("--to", "target", required=True, metavar="URL",
              help="The new, empty database (e.g. postgresql+psycopg://rounds@host/rounds).")
@click.option("--batch", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Rows per insert.")
@pass_app
def copy(app: AppContext, target: str, batch: int) -> None:
    """Copy the whole archive into a new database (SQLite -> PostgreSQL), streamed in
    batches, then check every table's row count. The target must be empty."""
    from aggregator.storage.copy import copy_database
    from aggregator.storage.db import open_database

    destination = open_database(target)
    try:
        counts = copy_database(app.db, destination, batch=batch,
                               progress=lambda table, n: click.echo(f"{table}: {n}", err=True))
    finally:
        destination.dispose()
    for table, (src, dst) in counts.items():
        click.echo(f"{table}\t{src}\t{dst}\t{'ok' if src == dst else 'MISMATCH'}")
    if any(src != dst for src, dst in counts.values()):
        raise click.ClickException("row counts differ between the databases")
    click.echo(f"copied {sum(s for s, _ in counts.values())} rows to {destination.url}")


@rounds.command()
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True,
              help="Mastodon posts to re-check in this run (one request each; Bluesky: "
                   "5 times as many, 25 a request).")
@pass_app
def recheck(app: AppContext, limit: int) -> None:
    """Re-check recent Mastodon and Bluesky posts (within recheck_hours): edits, deletions.

    Low rate by design: run it from cron every few minutes (the daemon does it itself).
    Edits keep the earlier versions; deleted posts are hidden from export and the reader.
    """
    from aggregator.recheck import default_make_api, recheck_recent

    result = recheck_recent(app.settings, app.repo, default_make_api(app.environ, app.clock),
                            limit=limit)
    click.echo(f"checked {result.checked}: {result.edited} edited, {result.deleted} deleted, "
               f"{result.errors} errors")
