"""`rounds papers`: the works your voices share, ranked by how many of them shared each;
`rounds papers backfill` (find them in posts stored before) and `rounds papers enrich`
(titles from Crossref, on request)."""

from __future__ import annotations

import difflib
import json
import shutil
from datetime import UTC, datetime
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from aggregator.cli.app import AppContext, pass_app, rounds
from aggregator.papers.backfill import STATE
from aggregator.reader.papers import RankedWork, identifier_of, link_of
from aggregator.storage import papers as stored
from aggregator.textutil import terminal_safe
from aggregator.when import WHEN_FORMS, WhenError, parse_when

NAMES_SHOWN = 4  # voices named per work in the text output (--json: up to WHO_SHOWN)


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:max(width - 1, 0)] + "…"


def work_json(w: RankedWork) -> dict[str, Any]:
    return {"id": w.id, "scheme": w.scheme, "identifier": w.ident, "link": link_of(w),
            "title": w.title or None, "voices": w.voices, "posts": w.posts,
            "first_seen": _stamp(w.first_seen), "last_seen": _stamp(w.last_seen),
            "who": list(w.who)}


def work_lines(rank: int, w: RankedWork, width: int) -> list[str]:
    """Three lines: counts and title; identifier and link; first seen and who."""
    def safe(text: str) -> str:
        return terminal_safe(text, single_line=True)

    head = f"{rank:>3}. {w.voices} voice{'' if w.voices == 1 else 's'}, {w.posts} post" \
           f"{'' if w.posts == 1 else 's'}  "
    title = safe(w.title) or ("(no title yet: rounds papers enrich)" if w.scheme == "doi"
                              else "(no title)")
    names = "; ".join(safe(n) for n in w.who[:NAMES_SHOWN])  # names hold commas ("X, RN")
    more = w.voices - min(len(w.who), NAMES_SHOWN)
    who = names + (f" and {more} more" if more > 0 else "")
    ident = safe(identifier_of(w))
    link = safe(link_of(w))
    second = ident if ident == link.removeprefix("https://") else f"{ident}  {link}"
    return [_cut(head + title, width),
            _cut("     " + second, width),
            _cut(f"     first seen {w.first_seen.astimezone(UTC):%Y-%m-%d %H:%MZ} · {who}",
                 width)]


def _topic_id(app: AppContext, given: str) -> str:
    topics = app.settings.query_vocabulary().topics
    known = {**{name.casefold(): tid for tid, name in topics.items()},
             **{tid.casefold(): tid for tid in topics}}
    found = known.get(given.strip().casefold())
    if found is None:
        near = difflib.get_close_matches(given, list(topics), n=3)
        hint = f"; did you mean {' or '.join(near)}?" if near else ""
        raise click.BadParameter(f"unknown topic {given!r}{hint}", param_hint="--topic")
    return found


@rounds.group(invoke_without_command=True)
@click.option("--since", metavar="WHEN", help=f"Only shares from then on: {WHEN_FORMS}.")
@click.option("--topic", metavar="T", help="Only posts with this topic (id or name).")
@click.option("--list", "list_name", metavar="NAME",
              help="Only the voices of this curated list count.")
@click.option("--json", "json_out", is_flag=True, help="One JSON document.")
@click.option("-n", "--limit", type=click.IntRange(min=1), default=20, show_default=True,
              help="Works shown at most.")
@click.pass_context
def papers(ctx: click.Context, since: str | None, topic: str | None, list_name: str | None,
           json_out: bool, limit: int) -> None:
    """The papers, preprints and trials your voices shared (DOIs, PubMed and PMC ids,
    arXiv ids, NCT numbers, journal pages), ranked by how many distinct voices shared
    each (a curated voice's accounts count once; boosts count as sharing), with the
    title, identifier, link, when first seen and who. This only reads.

    \b
    rounds papers backfill   find them in posts stored before this version
    rounds papers enrich     fetch missing titles from Crossref (needs [papers] mailto)
    """
    if ctx.invoked_subcommand is not None:
        return
    app = ctx.ensure_object(AppContext)
    app.existing_only = True  # read-only: never creates or migrates the archive
    start = None
    if since is not None:
        try:
            start = parse_when(since, app.clock.now())
        except WhenError as exc:
            raise click.BadParameter(str(exc), param_hint="--since") from None
    topic_id = _topic_id(app, topic) if topic is not None else None
    ranked = stored.rank_works(app.db, since=start, topic=topic_id, list_name=list_name,
                               limit=limit)
    if json_out:
        click.echo(json.dumps({"since": None if start is None else _stamp(start),
                               "topic": topic_id, "list": list_name,
                               "works": [work_json(w) for w in ranked]},
                              ensure_ascii=True, indent=2))
        return
    if not ranked:
        click.echo("no papers shared" + (f" since {_stamp(start)}" if start else ""))
        if stored.count_works(app.db) == 0 and app.repo.get_app_state(STATE) is None:
            click.echo("posts stored before this version: rounds papers backfill", err=True)
        return
    width = max(shutil.get_terminal_size((100, 24)).columns, 40)
    for i, w in enumerate(ranked, 1):
        if i > 1:
            click.echo("")
        for line in work_lines(i, w, width):
            click.echo(line)


@papers.command()
@click.option("--restart", is_flag=True, help="Start again from the first post.")
@click.option("--batch", type=click.IntRange(min=1), default=2000, show_default=True,
              help="Posts per transaction.")
@pass_app
def backfill(app: AppContext, restart: bool, batch: int) -> None:
    """Find the papers of the posts stored before works were found on arrival.

    Safe to interrupt: each batch commits with a mark, and the next run goes on from
    there; running it again only reads the posts stored since.
    """
    from aggregator.papers.backfill import BackfillProgress
    from aggregator.papers.backfill import backfill as run

    err = Console(stderr=True)
    with Progress(TextColumn("finding papers"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=err, disable=not err.is_terminal) as bar:
        task = bar.add_task("", total=None)

        def show(p: BackfillProgress) -> None:
            bar.update(task, completed=p.done, total=max(p.top, p.done))

        result = run(app.db, app.repo, batch=batch, restart=restart, progress=show)
    origin = "from the first post" if result.start == 0 else f"after post {result.start}"
    click.echo(f"read {result.posts} posts {origin}: {result.sharing} share a paper; "
               f"{stored.count_works(app.db)} papers in the archive", err=True)


@papers.command()
@click.option("-n", "--limit", type=click.IntRange(min=1), default=100, show_default=True,
              help="Works asked about at most (most shared first).")
@click.option("--retry-failed", is_flag=True,
              help="Ask again about the works an earlier run could not find or reach.")
@pass_app
def enrich(app: AppContext, limit: int, retry_failed: bool) -> None:
    """Fetch the titles no post carried from Crossref (DOIs only), politely: your
    [papers] mailto in every request, at most [papers] requests_per_second (default 1),
    each work asked once (the answer, or the failure, is kept in the archive).
    One line per failure; the others go on.
    """
    from aggregator.papers.enrich import enrich as run

    result = run(app.db, app.settings.papers, app.clock, limit=limit,
                 retry_failed=retry_failed,
                 report=lambda line: click.echo(terminal_safe(line, single_line=True),
                                                err=True))
    if result.asked == 0:
        click.echo("no untitled DOIs left to ask about", err=True)
        return
    click.echo(f"asked Crossref about {result.asked} DOIs: {result.titled} titled, "
               f"{len(result.failed)} failed", err=True)
