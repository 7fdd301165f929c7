"""`rounds feeds import|export`: OPML in and out, the format every feed reader exchanges.

Import prints ``[[sources]]`` tables to paste into rounds.toml rather than editing it: the
config file is the user's (comments, order, secrets' variable names), so rounds never
rewrites it, just as a moved feed is reported rather than rewritten. Feeds already
configured are left out.
"""

from __future__ import annotations

from pathlib import Path

import click

from aggregator.cli.app import AppContext, pass_app, rounds
from aggregator.feeds_opml import OpmlError, OpmlFeed, read_opml, sources_toml, write_opml


@rounds.group()
def feeds() -> None:
    """RSS and Atom feeds as sources: import and export OPML."""


def _configured(app: AppContext) -> list[OpmlFeed]:
    settings = app.settings
    return [OpmlFeed(s.name, s.target.value) for s in settings.sources
            if settings.accounts[s.account].network == "feed" and s.target.kind == "feed"]


@feeds.command("import")
@click.argument("opml", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--account", default=None, metavar="NAME",
              help="The feed account the sources use (default: the configured one, or "
                   "a new 'feeds' account printed too).")
@pass_app
def import_opml(app: AppContext, opml: Path, account: str | None) -> None:
    """Print OPML's feeds as [[sources]] to paste into rounds.toml (stdout)."""
    try:
        found = read_opml(opml.read_bytes(), str(opml))
    except OSError as exc:
        raise click.ClickException(f"{opml}: cannot read ({exc.strerror})") from None
    except OpmlError as exc:
        raise click.ClickException(str(exc)) from None
    settings = app.settings
    feed_accounts = [a.name for a in settings.accounts.values() if a.network == "feed"]
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


@feeds.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of stdout.")
@pass_app
def export_opml(app: AppContext, output: Path | None) -> None:
    """OPML of the configured feed sources."""
    document = write_opml(_configured(app), "grandrounds feeds", app.clock.now())
    if output is None:
        click.echo(document, nl=False)
        return
    try:
        output.write_text(document, encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"{output}: cannot write ({exc.strerror})") from None
