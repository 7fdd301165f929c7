"""`rounds topics list|explain|reclassify` and `rounds search`."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text
from sqlalchemy import func, or_, select

from aggregator.cli.app import AppContext, pass_app, pass_reader, rounds
from aggregator.errors import QueryError
from aggregator.export import ExportFilter, iter_records
from aggregator.storage.queries import COUNT_CAP
from aggregator.storage.schema import accounts, post_topics, posts
from aggregator.textutil import terminal_safe


def _taxonomy_text(app: AppContext) -> str:
    from aggregator.topics.taxonomy import load_default_text

    user = app.settings.topics_file
    return load_default_text() + ("\n" + user.read_text(encoding="utf-8") if user else "")


@rounds.group()
def topics() -> None:
    """Health topics: what they are, how many posts each has, and why a post got one."""


@topics.command("list")
@pass_reader
def list_topics(app: AppContext) -> None:
    """Every topic of the taxonomy (with your topics_file merged) and its post count."""
    from aggregator.topics.taxonomy import load_taxonomy

    taxonomy = load_taxonomy(app.settings.topics_file)
    with app.db.engine.connect() as conn:
        counts = {t: int(n) for t, n in conn.execute(
            select(post_topics.c.topic, func.count()).group_by(post_topics.c.topic))}
    table = Table(show_edge=False, pad_edge=False)
    for col, justify in (("topic", "left"), ("name", "left"), ("posts", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for t in taxonomy.topics:
        table.add_row(t.id, t.name, str(counts.get(t.id, 0)))
    for facet in sorted(k for k in counts if ":" in k):
        table.add_row(Text(terminal_safe(facet, single_line=True)), "facet", str(counts[facet]))
    Console().print(table)


def _find_post(app: AppContext, ref: str) -> int:
    cond = [posts.c.remote_id == ref, posts.c.key == ref, posts.c.url == ref]
    if ref.isdigit() and len(ref) < 12:
        cond.append(posts.c.id == int(ref))
    with app.db.engine.connect() as conn:
        found = conn.execute(select(posts.c.id).where(or_(*cond)).limit(2)).scalars().all()
    if not found:
        raise click.ClickException(f"no stored post {ref!r} (give its id, URL or key)")
    return int(found[0])


@topics.command()
@click.argument("post_ref", metavar="POST")
@pass_reader
def explain(app: AppContext, post_ref: str) -> None:
    """Which rules gave POST its topics, and why the topics it pointed at but did not get
    were dropped (POST: its id, remote id, URL or key).

    Rules, strongest first: hashtag, keyword/guarded abbreviation, then the weaker
    signals: the source's default topics (source) and the curated voice's topics (voice).
    Dropped: vetoed by a phrase, an abbreviation or weak word without a co-term, a rule
    outside its language, a keyword shared with a neighbouring topic the post is about,
    a word only inside a link. The taxonomy as it is now decides (your topics_file too).
    """
    from aggregator.storage.retopic import _as_post
    from aggregator.storage.schema import post_sources, sources
    from aggregator.topics.classifier import Classifier
    from aggregator.topics.taxonomy import load_taxonomy

    pid = _find_post(app, post_ref)
    with app.db.engine.connect() as conn:
        post = conn.execute(select(posts.c.id, posts.c.network, posts.c.created_at,
                                   posts.c.text, posts.c.spoiler, posts.c.lang,
                                   posts.c.hashtags, posts.c.links, posts.c.media,
                                   posts.c.url, accounts.c.handle)
                            .join(accounts, accounts.c.id == posts.c.author_id)
                            .where(posts.c.id == pid)).one()
        rows = conn.execute(select(post_topics).where(post_topics.c.post_id == pid)
                            .order_by(post_topics.c.weight.desc(), post_topics.c.topic)).all()
        names = conn.execute(select(sources.c.name)
                             .join(post_sources, post_sources.c.source_id == sources.c.id)
                             .where(post_sources.c.post_id == pid)).scalars().all()
    console = Console()
    console.print(Text(f"{terminal_safe(post.handle, single_line=True)}  "
                       f"{terminal_safe(post.url, single_line=True)}"))
    console.print(Text(terminal_safe(post.text)[:400]), style="dim")
    if not rows:
        console.print("no topics matched")
    else:
        table = Table(show_edge=False, pad_edge=False)
        for col in ("topic", "rule", "matched", "weight"):
            table.add_column(col)
        for r in rows:
            strength = "weaker signal" if r.rule in ("source", "voice") else ""
            table.add_row(Text(terminal_safe(r.topic, single_line=True)),
                          f"{r.rule} {strength}".strip(),
                          Text(terminal_safe(r.matched, single_line=True)), str(r.weight))
        console.print(table)
    defaults = [t for s in app.settings.sources if s.name in names for t in s.topics]
    voices = [r.topic for r in rows if r.rule == "voice"]
    classifier = Classifier(load_taxonomy(app.settings.topics_file))
    _, dropped = classifier.explain(_as_post(post), defaults, voices)
    for d in dropped:
        line = f"not {d.topic}: {d.reason}"
        console.print(Text(terminal_safe(line, single_line=True)), soft_wrap=True)


@topics.command()
@click.option("--restart", is_flag=True, help="Start from the first post even if a previous "
              "run under the same taxonomy was interrupted.")
@click.option("--batch", default=2000, show_default=True, help="Posts per transaction.")
@pass_app
def reclassify(app: AppContext, restart: bool, batch: int) -> None:
    """Re-apply the taxonomy to every stored post (after editing topics_file).

    Safe to interrupt: each batch commits with a resume mark, and the next run goes on
    from there (unless the taxonomy changed again, which starts over).
    """
    from aggregator.cli.collect import build_service
    from aggregator.topics.reclassify import reclassify as run

    service = build_service(app)
    source_topics = {s.name: s.topics for s in service.settings.sources}
    err = Console(stderr=True)
    with Progress(TextColumn("reclassifying"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=err, disable=not err.is_terminal) as bar:
        task = bar.add_task("", total=None)
        result = run(app.repo, service.classify, source_topics, _taxonomy_text(app),
                     batch=batch, restart=restart,
                     progress=lambda done, total: bar.update(task, completed=done, total=total))
    service.close()
    resumed = f" (resumed after post {result.resumed_from})" if result.resumed_from else ""
    click.echo(f"reclassified {result.done} posts{resumed}")


class QueryCommand(click.Command):
    """A command whose arguments are a query: `-word`, `-tag:x`, `-heart` are words that
    exclude, not clusters of short options (click read `-heart` as -h, help, and `-snow`
    as -n with the value "ow"). Only an option's exact name (or `--name=value`) is one."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        takes_value: dict[str, bool] = {}
        for param in self.get_params(ctx):
            if isinstance(param, click.Option):
                for name in (*param.opts, *param.secondary_opts):
                    takes_value[name] = not (param.is_flag or param.count)
        options: list[str] = []
        words: list[str] = []
        rest = iter(args)
        for arg in rest:
            if arg == "--":
                words += list(rest)
            elif arg in takes_value:
                options.append(arg)
                if takes_value[arg]:
                    value = next(rest, None)
                    if value is None:
                        raise click.UsageError(f"Option '{arg}' requires an argument.", ctx)
                    options.append(value)
            elif arg.startswith("--") and arg.split("=", 1)[0] in takes_value:
                options.append(arg)
            elif arg.startswith("--") and len(arg) > 2:  # no query word looks like this
                raise click.NoSuchOption(arg.split("=", 1)[0], ctx=ctx,
                                         possibilities=[n for n in takes_value
                                                        if n.startswith("--")])
            else:
                words.append(arg)
        return super().parse_args(ctx, [*options, "--", *words])


@rounds.command(cls=QueryCommand)
@click.argument("query", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="JSON Lines (the export record shape).")
@click.option("-n", "--limit", default=50, show_default=True, help="At most this many posts.")
@click.option("--no-mutes", is_flag=True, help="Show muted posts too (`rounds mutes list`).")
@pass_reader
def search(app: AppContext, query: tuple[str, ...], as_json: bool, limit: int,
           no_mutes: bool) -> None:
    """Find stored posts, newest first, with the query language. Muted posts are left
    out (and counted on stderr) unless --no-mutes is given.

    \b
    Words and "quoted phrases" are searched in the text; filters narrow it down:
      topic:cardiology  network:mastodon  from:drjane@med-mastodon.com  source:NAME
      tag:hashtag  since:7d  until:2026-11-01  lang:en  unread  read  starred  has:link
      has:media  boosts  -boosts  -word  -topic:x
    Example: rounds search topic:cardiology since:7d "heart failure" statin
    """
    from aggregator.mutes import count_hidden, hidden_clause
    from aggregator.query import parse_query
    from aggregator.storage.search import post_filter

    text = " ".join(query)
    now, vocabulary = app.clock.now(), app.vocabulary()
    try:
        parsed = parse_query(text, now=now, vocabulary=vocabulary)
    except QueryError as exc:
        pointer = " " * exc.position + "^"
        raise click.UsageError(f"{exc}\n  {text}\n  {pointer}") from None
    where = post_filter(parsed, app.db.dialect)
    muted = None if no_mutes else hidden_clause(app.db, app.settings, now, vocabulary)
    records = iter_records(app.db, ExportFilter(where=where, muted=muted, context=True),
                           newest_first=True, limit=limit)
    _print_hits(app, records, as_json)
    if muted is not None and (hidden := count_hidden(app.db, where, muted)):
        more = "+" if hidden >= COUNT_CAP else ""
        click.echo(f"{hidden}{more} matching post{'s' if hidden != 1 else ''} hidden by "
                   "mutes (--no-mutes shows them)", err=True)


def _print_hits(app: AppContext, records: Iterator[dict[str, Any]], as_json: bool) -> None:
    if as_json or not sys.stdout.isatty():
        found = 0
        for record in records:
            click.echo(json.dumps(record, ensure_ascii=True, separators=(",", ":")))
            found += 1
        if not found:
            _hint_no_hits(app)
        return
    table = Table(show_edge=False, pad_edge=False, expand=True)
    for col, kw in (("when", {"no_wrap": True}), ("author", {"max_width": 28}),
                    ("text", {"ratio": 1}), ("topics", {"max_width": 24})):
        table.add_column(col, overflow="ellipsis", **kw)
    shown = 0
    for r in records:
        table.add_row(str(r["created_at"])[:16].replace("T", " "),
                      Text(terminal_safe(str(r["author"]), single_line=True)),
                      Text(terminal_safe(str(r["text"]), single_line=True)),
                      ", ".join(r["topics"]))
        shown += 1
    if shown:
        Console().print(table)
    else:
        _hint_no_hits(app)


def _hint_no_hits(app: AppContext) -> None:
    """No hits: say whether the archive is empty (collect first) or the query is narrow,
    on stderr, so that a pipe reading stdout gets no made-up record."""
    from sqlalchemy import exists, select

    from aggregator.storage.schema import posts

    with app.db.engine.connect() as conn:
        empty = not conn.execute(select(exists().where(posts.c.id.isnot(None)))).scalar()
    if not empty:
        click.echo("no posts match", err=True)
    elif not app.settings.sources:
        where = app.settings.path or "your configuration (`rounds init` writes one)"
        click.echo(f"no posts yet: add [[sources]] to {where}, then run `rounds collect`",
                   err=True)
    else:
        click.echo("no posts yet: run `rounds collect` to collect your sources", err=True)
