"""`rounds catchup`: what arrived since you last caught up, by voice or author, notable
posts first. Only reads: the catch-up mark moves in the reader, never here."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from typing import Any

import click

from aggregator.cli.app import AppContext, pass_reader, rounds
from aggregator.reader.catchup import (
    DEFAULT_HOURS,
    Catchup,
    CatchupGroup,
    CatchupPost,
    StorageCatchup,
    counts_text,
    is_notable,
)
from aggregator.textutil import terminal_safe
from aggregator.when import WHEN_FORMS, WhenError, parse_when

POSTS_SHOWN = 3  # per group in the text output (--json gives every one it read)


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%MZ")


def _age(value: datetime, now: datetime) -> str:
    seconds = max(int((now - value).total_seconds()), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return "now"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:max(width - 1, 0)] + "…"


def _origin(c: Catchup) -> str:
    return {"mark": "your last catch-up", "given": "--since",
            "default": f"no catch-up finished yet: the last {DEFAULT_HOURS} h"}[c.origin]


def post_line(p: CatchupPost, now: datetime, width: int) -> str:
    flag = "to you" if p.to_you else f"×{p.lift:.1f}" if is_notable(p) and p.lift else ""
    head = f"  {_age(p.created_at, now):>4} {counts_text(p):<16} {flag:<6} "
    text = terminal_safe(p.text, single_line=True)
    return _cut(head + text, width)


def group_line(g: CatchupGroup, width: int) -> str:
    title = terminal_safe(g.title, single_line=True)
    handles = ", ".join(f"@{terminal_safe(h, single_line=True).lstrip('@')}"
                        for h in g.handles)
    facts = f"{g.count} new"
    if g.to_you:
        facts += f" · {g.to_you} to you"
    if g.notable:
        facts += f" · {g.notable} notable"
    tail = f"  {facts}"
    room = max(width - len(tail), 10)
    return _cut(_cut(f"{title}  {handles}" if handles and title else title or handles, room)
                + tail, width)


def _post_json(p: CatchupPost) -> dict[str, Any]:
    return {"id": p.id, "network": p.network,
            "created_at": p.created_at.isoformat().replace("+00:00", "Z"), "text": p.text,
            "replies": p.reply_count, "boosts": p.boost_count, "likes": p.like_count,
            "lift": None if p.lift is None else round(p.lift, 2), "to_you": p.to_you,
            "notable": is_notable(p)}


def as_json(c: Catchup, limit: int) -> str:
    def stamp(value: datetime) -> str:
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")

    return json.dumps({
        "since": stamp(c.since), "upto": stamp(c.upto), "origin": c.origin,
        "total": c.total, "groups": [
            {"id": g.id, "title": g.title, "handles": list(g.handles),
             "networks": list(g.networks), "count": g.count, "to_you": g.to_you,
             "notable": g.notable, "posts": [_post_json(p) for p in g.posts]}
            for g in c.groups[:limit]]}, ensure_ascii=True, indent=2)


@rounds.command()
@click.option("--since", metavar="WHEN", help=f"Start here instead: {WHEN_FORMS}.")
@click.option("--json", "json_out", is_flag=True, help="One JSON document.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True,
              help="Groups shown at most.")
@pass_reader
def catchup(app: AppContext, since: str | None, json_out: bool, limit: int) -> None:
    """What arrived since you last caught up: the unread posts stored since then, grouped
    by curated voice or author with counts, each group's notable posts first (replies
    and mentions to you, then boosts + likes against that author's usual).

    \b
    "Since you last caught up": since the reader last marked a whole catch-up read
    (Catch-up in its sidebar); before the first, the last 24 hours; at most 30 days
    back. Posts read in the reader's lists are not in it. This command only reads.
    """
    now = app.clock.now()
    start = None
    if since is not None:
        try:
            start = parse_when(since, now)
        except WhenError as exc:
            raise click.BadParameter(str(exc), param_hint="--since") from None
    c = StorageCatchup(app.db, app.repo, app.settings, app.clock).catch_up(start)
    if json_out:
        click.echo(as_json(c, limit))
        return
    width = max(shutil.get_terminal_size((80, 24)).columns, 40)
    voices = len(c.groups)
    head = (f"{c.total} unread post{'' if c.total == 1 else 's'} from {voices} "
            f"voice{'' if voices == 1 else 's'} since {_utc(c.since)} ({_origin(c)})")
    if not c.groups:
        click.echo(f"nothing new since {_utc(c.since)} ({_origin(c)})")
        return
    click.echo(head)
    for g in c.groups[:limit]:
        click.echo("")
        click.echo(group_line(g, width))
        for p in g.posts[:POSTS_SHOWN]:
            click.echo(post_line(p, c.upto, width))
        if g.count > POSTS_SHOWN:
            click.echo(f"  … {g.count - POSTS_SHOWN} more")
    if len(c.groups) > limit:
        click.echo(f"\n… {len(c.groups) - limit} more groups (--limit)")
    click.echo("\nrounds read, then Catch-up in the sidebar: read them, group by group",
               err=True)
