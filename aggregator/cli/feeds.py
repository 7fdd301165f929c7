"""`rounds feeds import|export`: OPML in and out, the format every feed reader exchanges.

Import prints ``[[sources]]`` tables to paste into rounds.toml rather than editing it: the
config file is the user's (comments, order, secrets' variable names), so rounds never
rewrites it, just as a moved feed is reported rather than rewritten. Feeds already
configured are left out. With ``--list NAME`` the feeds become voices' feed identities on a
curated list instead (the database is ours to write), collected by a ``curated = "NAME"``
source on a feed account; ``export --list NAME`` writes that list's feeds back as OPML.
"""

from __future__ import annotations

from pathlib import Path

import click

from aggregator.cli.app import AppContext, pass_app, pass_reader, rounds
from aggregator.cli.curation_groups import curation_store, safe
from aggregator.curation.handles import normalize_feed
from aggregator.errors import CurationError
from aggregator.feeds_opml import (
    OpmlError,
    OpmlFeed,
    curated_source_toml,
    read_opml,
    sources_toml,
    write_opml,
)


@rounds.group()
def feeds() -> None:
    """RSS and Atom feeds as sources: import and export OPML."""


def _configured(app: AppContext) -> list[OpmlFeed]:
    settings = app.settings
    return [OpmlFeed(s.name, s.target.value) for s in settings.sources
            if settings.accounts[s.account].network == "feed" and s.target.kind == "feed"]


def _feed_accounts(app: AppContext) -> list[str]:
    return [a.name for a in app.settings.accounts.values() if a.network == "feed"]


@feeds.command("import")
@click.argument("opml", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--account", default=None, metavar="NAME",
              help="The feed account the sources use (default: the configured one, or "
                   "a new 'feeds' account printed too).")
@click.option("--list", "list_name", default=None, metavar="LIST",
              help="Instead: add each feed to curated list LIST as a voice's feed (a new "
                   "voice named after the feed's title, unless one has that feed already).")
@click.option("--skip-bad", is_flag=True,
              help="With --list: skip feeds whose URL cannot be a voice's feed instead of "
                   "adding nothing.")
@pass_app
def import_opml(app: AppContext, opml: Path, account: str | None, list_name: str | None,
                skip_bad: bool) -> None:
    """Print OPML's feeds as [[sources]] to paste into rounds.toml (stdout), or with
    --list add them to a curated list."""
    try:
        found = read_opml(opml.read_bytes(), str(opml))
    except OSError as exc:
        raise click.ClickException(f"{opml}: cannot read ({exc.strerror})") from None
    except OpmlError as exc:
        raise click.ClickException(str(exc)) from None
    if list_name is not None:
        _import_into_list(app, found, list_name, skip_bad)
        return
    settings = app.settings
    feed_accounts = _feed_accounts(app)
    if account is not None and account in settings.accounts and account not in feed_accounts:
        raise click.ClickException(f"account {account!r} is not a feed account "
                                   "(network = \"feed\")")
    name = account or (feed_accounts[0] if feed_accounts else "feeds")
    known = {f.xml_url for f in _configured(app)}
    fresh = [f for f in found if f.xml_url not in known]
    skipped = len(found) - len(fresh)
    taken = {s.name for s in settings.sources}
    click.echo(sources_toml(fresh, name, taken, with_account=name not in settings.accounts),
               nl=False)
    click.echo(f"{len(fresh)} feeds to add" + (f", {skipped} already configured" if skipped
                                               else ""), err=True)


def _import_into_list(app: AppContext, found: list[OpmlFeed], list_name: str,
                      skip_bad: bool) -> None:
    """Every feed checked first; then each one's voice (found or new) joins the list."""
    good: list[tuple[OpmlFeed, str]] = []
    bad: list[str] = []
    for feed in found:
        try:
            good.append((feed, normalize_feed(feed.xml_url)))
        except CurationError as exc:
            bad.append(str(exc))
    if bad and not skip_bad:
        raise click.ClickException(f"{len(bad)} of {len(found)} feeds cannot be a voice's "
                                   f"feed, nothing added (--skip-bad adds the others); first: "
                                   f"{bad[0]}")
    for problem in bad:
        click.echo(f"skipped: {safe(problem)}", err=True)
    store = curation_store(app)
    if list_name not in {lst.name for lst in store.list_lists()}:
        store.create_list(list_name)
        click.echo(f"created list {safe(list_name)}", err=True)
    added = 0
    for feed, url in good:
        voice = store.ensure_voice("feed", url, feed.title if feed.title != feed.xml_url else "")
        added += store.add_member(list_name, voice, f"feeds import --list {list_name}")
    click.echo(f"{added} feeds added to list {safe(list_name)}"
               + (f", {len(good) - added} already on it" if len(good) > added else ""), err=True)
    if not any(s.target.kind == "curated" and s.target.value == list_name
               and app.settings.accounts[s.account].network == "feed"
               for s in app.settings.sources):
        account = (_feed_accounts(app) or ["feeds"])[0]
        click.echo("to collect them, add to rounds.toml:", err=True)
        click.echo(curated_source_toml(list_name, account,
                                       with_account=account not in app.settings.accounts),
                   err=True, nl=False)


@feeds.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of stdout.")
@click.option("--list", "list_name", default=None, metavar="LIST",
              help="The feeds of curated list LIST's voices instead of the configured "
                   "feed sources.")
@pass_reader
def export_opml(app: AppContext, output: Path | None, list_name: str | None) -> None:
    """OPML of the configured feed sources (or of a curated list's voices' feeds)."""
    if list_name is None:
        chosen, title = _configured(app), "grandrounds feeds"
    else:
        members = curation_store(app).members(list_name)
        chosen = [OpmlFeed(v.name or ident.handle, ident.handle) for v in members
                  if (ident := v.on("feed")) is not None]
        title = f"grandrounds: {list_name}"
    document = write_opml(chosen, title, app.clock.now())
    if output is None:
        click.echo(document, nl=False)
        return
    try:
        output.write_text(document, encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"{output}: cannot write ({exc.strerror})") from None
