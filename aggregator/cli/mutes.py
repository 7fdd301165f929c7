"""`rounds mutes list|add|remove`: the mutes that hide posts from the reader and search.

Mutes come from two places: `[[mutes]]` in the configuration file (edit the file to
change those: rounds never rewrites it) and the database (`M` in the reader, `rounds
mutes add`), which `remove` deletes from. `list` only reads.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

import click

from aggregator.cli.app import AppContext, pass_app, pass_reader, rounds
from aggregator.errors import QueryError
from aggregator.mutes import all_mutes
from aggregator.query import parse_mute
from aggregator.storage.mutes import CONFIG, Mute, add_mute, remove_mute
from aggregator.textutil import terminal_safe
from aggregator.when import WhenError, parse_deadline

_NETWORK = {"mastodon": "Mastodon", "twitter": "X", "bluesky": "Bluesky", "feed": "feed"}


@rounds.group()
def mutes() -> None:
    """Mute words and people: what the reader and `rounds search` hide.

    \b
    In the configuration file, each a query (the language of `rounds search`):
      [[mutes]]
      query = "crypto"            # or from:spam@example.org, tag:giveaway, has:media lang:xx
      until = "2026-12-31"        # optional: hides through that day, then no more
    In the reader, M mutes the selected post's author or one of its hashtags.
    Muted posts are hidden, never deleted: `rounds search --no-mutes` shows them; exports
    keep them unless given --mutes.
    """


def _end(until: datetime) -> str:
    """A day's end as the day it closes ("through 2026-12-31"), else the moment."""
    if until.astimezone(UTC).time() == time(0):
        return f"through {until.astimezone(UTC) - timedelta(days=1):%Y-%m-%d}"
    return f"until {until.astimezone(UTC):%Y-%m-%d %H:%M}Z"


def _line(m: Mute, now_active: bool) -> str:
    ident = "config" if m.id is None else str(m.id)
    what = terminal_safe(m.shown, single_line=True)
    if m.kind == "author" and m.network:
        what += f" ({_NETWORK.get(m.network, m.network)})"
    kind = {"author": "author", "tag": "hashtag", "query": "query"}[m.kind]
    when = "" if m.until is None else f"  {'' if now_active else 'expired: '}{_end(m.until)}"
    origin = "" if m.origin == CONFIG else f"  (from the {m.origin})"
    return f"{ident:>6}  {kind:<7}  {what}{when}{origin}"


@mutes.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per mute.")
@pass_reader
def list_(app: AppContext, as_json: bool) -> None:
    """Every mute: the configuration file's (id "config"), then the stored ones by id."""
    now = app.clock.now()
    found = all_mutes(app.db, app.settings)
    if as_json:
        for m in found:
            click.echo(json.dumps({
                "id": m.id, "kind": m.kind, "value": m.value, "network": m.network,
                "label": m.label, "until": m.until.isoformat() if m.until else None,
                "active": m.active(now), "origin": m.origin}, ensure_ascii=True))
        return
    if not found:
        click.echo("no mutes (add [[mutes]] to the configuration, press M in the reader, "
                   "or run `rounds mutes add`)", err=True)
        return
    for m in found:
        click.echo(_line(m, m.active(now)))


@mutes.command("add")
@click.argument("expression", nargs=-1, required=True)
@click.option("--until", metavar="WHEN", help="Hide until then: a day (2026-12-31, through "
              "its end) or an ISO time. Default: for good.")
@pass_app
def add(app: AppContext, expression: tuple[str, ...], until: str | None) -> None:
    """Mute what a query matches (the language of `rounds search`):
    `rounds mutes add crypto`, `rounds mutes add from:spam@example.org`,
    `rounds mutes add tag:giveaway --until 2026-12-31`."""
    text = " ".join(expression)
    now = app.clock.now()
    try:
        parse_mute(text, now=now, vocabulary=app.vocabulary())
    except QueryError as exc:
        raise click.UsageError(f"{exc}\n  {text}\n  {' ' * exc.position}^") from None
    try:
        end = None if until is None else parse_deadline(until, now)
    except WhenError as exc:
        raise click.BadParameter(str(exc), param_hint="--until") from None
    mute, new = add_mute(app.db, "query", text, now=now, origin="cli", until=end)
    shown = terminal_safe(mute.shown, single_line=True)
    if new:
        click.echo(f"muted {shown} (id {mute.id}; `rounds mutes remove {mute.id}` undoes)")
    else:
        click.echo(f"{shown} is already muted (id {mute.id})")


@mutes.command("remove")
@click.argument("mute_id", metavar="ID", type=int)
@pass_app
def remove(app: AppContext, mute_id: int) -> None:
    """Remove a stored mute by the id `rounds mutes list` shows; its posts show again.
    (Mutes of the configuration file go by editing the file.)"""
    mute = remove_mute(app.db, mute_id)
    click.echo(f"unmuted {terminal_safe(mute.shown, single_line=True)}")
