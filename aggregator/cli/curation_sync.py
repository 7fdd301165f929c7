"""`rounds lists link|sync|pull|synclog|import-bluesky`: keep curated lists in step with
Mastodon, X and Bluesky lists, and start one from a Bluesky list or starter pack."""

from __future__ import annotations

from typing import cast

import click

from aggregator.cli.app import AppContext, pass_app, pass_reader
from aggregator.cli.curation_groups import curation_store, lists, safe
from aggregator.curation.bluesky import import_bluesky, link_id, parse_target, with_did
from aggregator.curation.model import RemoteLink
from aggregator.curation.pull import apply_pull, plan_pull
from aggregator.curation.remote import RemoteLists
from aggregator.curation.sync import apply_sync, list_sync_log, plan_sync
from aggregator.errors import ConfigError, CurationError
from aggregator.models import NETWORKS, Network

# aggregator.curation.remote_apis loads every network's library: imported inside the
# commands that talk to a server, so that `rounds --help` and the reader start light.


def _remote(app: AppContext, account_name: str, network: Network, *,
            write: bool = True) -> RemoteLists:
    """The lists of a configured account; `write` False when only reading (a Bluesky
    account then needs no login)."""
    account = app.settings.accounts.get(account_name)
    if account is None:
        known = ", ".join(app.settings.accounts) or "none configured"
        raise ConfigError(f"no account named {account_name!r} (known: {known})")
    if account.network != network:
        raise ConfigError(f"account {account_name!r} is a {account.network} account, "
                          f"not {network}")
    from aggregator.curation.remote_apis import open_remote

    return open_remote(account, app.environ, app.clock, write=write)


def _bluesky_list(remote: RemoteLists, value: str) -> str:
    """A list URL or at:// URI as written -> its link id (DID/RKEY), checked to exist."""
    from aggregator.curation.remote_apis import BlueskyLists

    target = parse_target(value)
    if target.kind != "list" or not isinstance(remote, BlueskyLists):
        raise click.UsageError(f"--bluesky: {value!r} is not a Bluesky list (a starter pack "
                               "is imported with rounds lists import-bluesky)")
    uri = with_did(remote, target.uri)
    remote.api.get_list(uri)
    return link_id(uri)


def _networks(app: AppContext, name: str, network: str | None) -> list[tuple[Network, str]]:
    links = curation_store(app).get_list(name).links
    chosen = [(x.network, x.account) for x in links if network in (None, x.network)]
    if not chosen:
        raise CurationError(f"list {name!r} has no {network or 'remote'} list linked; "
                            f"see rounds lists link --help")
    return chosen


@lists.command("link")
@click.argument("name")
@click.option("--mastodon", metavar="ACCOUNT[:LIST_ID]",
              help="The Mastodon list (by id) on this configured account.")
@click.option("--twitter", metavar="ACCOUNT[:LIST_ID]", help="The X list on this account.")
@click.option("--bluesky", metavar="ACCOUNT[:LIST]",
              help="The Bluesky list (its bsky.app URL or at:// URI) on this account.")
@click.option("--create", is_flag=True,
              help="Create the remote list (named like the curated one) where no id is given.")
@pass_app
def lists_link(app: AppContext, name: str, mastodon: str | None, twitter: str | None,
               bluesky: str | None, create: bool) -> None:
    """Link list NAME to a remote list per network, e.g. --mastodon work:42,
    --twitter me:1234 or --bluesky sky:https://bsky.app/profile/me.example/lists/3kabc
    (ACCOUNT is an [accounts.NAME] of the configuration), or --mastodon work --create to
    make a new remote list. Then: rounds lists sync NAME."""
    store = curation_store(app)
    store.get_list(name)
    given = [(n, v) for n, v in (("mastodon", mastodon), ("twitter", twitter),
                                 ("bluesky", bluesky)) if v]
    if not given:
        raise click.UsageError("give --mastodon ACCOUNT[:LIST_ID], --twitter "
                               "ACCOUNT[:LIST_ID] and/or --bluesky ACCOUNT[:LIST]")
    for network, value in given:
        net = cast(Network, network)
        account, _, list_id = value.partition(":")
        remote = _remote(app, account, net, write=not list_id)
        try:
            if not list_id:
                if not create:
                    raise click.UsageError(f"--{network} {account}: give ACCOUNT:LIST_ID, or "
                                           "--create to make a new list")
                list_id = remote.create_list(name)
                click.echo(f"created {network} list {list_id} on {account}")
            elif net == "bluesky":
                list_id = _bluesky_list(remote, list_id)
        finally:
            remote.close()
        store.save_link(name, RemoteLink(net, account, list_id.strip()))
        click.echo(f"linked {safe(name)} to {network} list {list_id} on account {account}")


@lists.command("sync")
@click.argument("name")
@click.option("--network", type=click.Choice(NETWORKS), help="Only this network.")
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
@click.option("--follow", is_flag=True,
              help="On Mastodon, follow accounts to add first (Mastodon only lists accounts "
                   "you follow).")
@pass_app
def lists_sync(app: AppContext, name: str, network: str | None, dry_run: bool,
               follow: bool) -> None:
    """Make the linked remote lists hold exactly the members of list NAME: add who is
    missing, remove who is not curated. Interrupted (rate limit, error)? Run it again: it
    finishes the rest and repeats nothing. Remote changes are undone: `pull` them first."""
    store, trouble = curation_store(app), False
    for net, account in _networks(app, name, network):
        remote = _remote(app, account, net, write=not dry_run)
        try:
            plan = plan_sync(store, name, net, remote)
            click.echo(f"{net} list {plan.link.remote_id} on {account}: "
                       f"{len(plan.add)} to add, {len(plan.remove)} to remove")
            for line in plan.lines():
                click.echo(f"  {safe(line)}")
            if plan.without_identity:
                click.echo(f"  ({len(plan.without_identity)} member(s) have no {net} account)")
            if plan.add and net == "mastodon" and any(a.needs_follow for a in plan.add) \
                    and not follow:
                click.echo("  note: Mastodon only lets you add accounts you follow; "
                           "--follow follows them first")
            if dry_run:
                click.echo("  dry run: nothing changed")
                trouble |= bool(plan.unresolved)
                continue
            result = apply_sync(store, plan, remote, follow=follow,
                                report=lambda line: click.echo(f"  {safe(line)}"))
        finally:
            remote.close()
        if result.error is not None:
            click.echo(f"  stopped: {safe(str(result.error))}", err=True)
            click.echo(f"  {len(result.applied)} change(s) applied and recorded; run the "
                       "same command again to finish the rest", err=True)
        elif result.failed:
            click.echo(f"  {len(result.failed)} member(s) not synced (see above)", err=True)
        else:
            click.echo("  in sync")
        trouble |= not result.complete
    if trouble:
        raise click.exceptions.Exit(1)


@lists.command("pull")
@click.argument("name")
@click.option("--network", type=click.Choice(NETWORKS), help="Only this network.")
@click.option("--yes", is_flag=True, help="Apply without asking.")
@pass_app
def lists_pull(app: AppContext, name: str, network: str | None, yes: bool) -> None:
    """Adopt changes made on the linked remote lists since the last sync or pull into
    list NAME: shows the diff first, then asks."""
    store = curation_store(app)
    for net, account in _networks(app, name, network):
        remote = _remote(app, account, net, write=False)
        try:
            plan = plan_pull(store, name, net, remote)
        finally:
            remote.close()
        click.echo(f"{net} list {plan.link.remote_id}: {len(plan.added)} added and "
                   f"{len(plan.removed)} removed remotely")
        for line in plan.lines():
            click.echo(f"  {safe(line)}")
        if plan.empty:
            continue
        if not yes:
            click.confirm(f"apply these {net} changes to {safe(name)}?", abort=True)
        for line in apply_pull(store, plan, f"lists pull {name}"):
            click.echo(f"  {safe(line)}")


@lists.command("synclog")
@click.argument("name")
@pass_reader
def lists_synclog(app: AppContext, name: str) -> None:
    """The latest remote changes made by sync for list NAME (newest first)."""
    for line in list_sync_log(curation_store(app), name):
        click.echo(safe(line))


@lists.command("import-bluesky")
@click.argument("url")
@click.option("--list", "list_name", required=True, metavar="NAME",
              help="The curated list to fill (created when it does not exist).")
@click.option("--account", metavar="ACCOUNT",
              help="Read through this Bluesky account of the configuration (default: "
                   "anonymously, through the public AppView).")
@pass_app
def lists_import_bluesky(app: AppContext, url: str, list_name: str,
                         account: str | None) -> None:
    """Create or fill list NAME from a Bluesky list or starter pack: URL is
    https://bsky.app/profile/HANDLE/lists/RKEY, https://bsky.app/starter-pack/HANDLE/RKEY
    or an at:// URI. Every member becomes a voice (known by its DID), each addition is in
    the list's history. Reading needs no login."""
    from aggregator.curation.remote_apis import BlueskyLists

    parse_target(url)  # a typo is refused before any request
    store = curation_store(app)
    remote = cast(BlueskyLists, _remote(app, account, "bluesky", write=False)) if account \
        else BlueskyLists.anonymous(app.clock)
    try:
        done = import_bluesky(store, remote, url, list_name,
                              f"lists import-bluesky {list_name}")
    finally:
        remote.close()
    if done.created:
        click.echo(f"created list {safe(list_name)}")
    for line in done.skipped:
        click.echo(f"skipped {safe(line)}", err=True)
    click.echo(f"imported {len(done.added)} member(s) of Bluesky {safe(done.source)} into "
               f"{safe(list_name)}, {done.already} already there"
               + (f", {len(done.skipped)} skipped" if done.skipped else ""))
