"""`rounds lists ...` and `rounds voices ...`: curated lists of voices, their history,
and CSV import/export. Remote sync commands live in curation_sync.py; both register on
the groups of curation_groups.py."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import click

from aggregator.cli.app import AppContext, pass_app, pass_reader
from aggregator.cli.curation_groups import curation_store, lists, safe, voices
from aggregator.curation.bluesky import web_list_url
from aggregator.curation.csvio import FORMATS, Format, export_csv, import_csv
from aggregator.curation.handles import parse_handle
from aggregator.curation.model import ROLES, Voice, shown_handle
from aggregator.curation.store import CurationStore
from aggregator.errors import CurationError
from aggregator.fileio import atomic_text


def describe(voice: Voice) -> str:
    role = f" [{safe(voice.role)}]" if voice.role else ""
    return f"#{voice.id} {safe(voice.label)}{role}"


def resolve_voice(store: CurationStore, ref: str, *, create: bool = False) -> Voice:
    """`#12` is a voice id; anything else a handle (`user@domain`, `x:name`, `@name`,
    `bsky:name.bsky.social`, `did:plc:...`)."""
    text = ref.strip()
    if text.startswith("#") and text[1:].isdigit():
        return store.get_voice(int(text[1:]))
    if text.startswith("#"):
        raise CurationError(f"{ref!r}: a voice id is # followed by digits (like #12)")
    network, handle = parse_handle(text)
    found = store.find_voice(network, handle)
    if found is None:
        if not create:
            raise CurationError(f"no voice has the handle {handle}")
        found = store.ensure_voice(network, handle)
    return found


# ---------------------------------------------------------------------------- lists


@lists.command("create")
@click.argument("name")
@click.option("--topic", "topics", multiple=True, help="Default topic of the list (repeatable).")
@pass_app
def lists_create(app: AppContext, name: str, topics: tuple[str, ...]) -> None:
    """Create an empty curated list NAME."""
    lst = curation_store(app).create_list(name, topics)
    click.echo(f"created list {safe(lst.name)}")


@lists.command("show")
@click.argument("name", required=False)
@pass_reader
def lists_show(app: AppContext, name: str | None) -> None:
    """Show every list with its size and remote links, or the members of list NAME."""
    store = curation_store(app)
    if name is None:
        everything = store.list_lists()
        if not everything:
            click.echo("no curated lists yet (rounds lists create NAME)")
        for lst in everything:
            links = ", ".join(f"{x.network}:{x.account}:{x.remote_id}" for x in lst.links)
            click.echo(f"{safe(lst.name)}\t{len(store.members(lst.name))} members"
                       + (f"\tlinked: {links}" if links else ""))
        return
    lst = store.get_list(name)
    members = store.members(name)
    topics = f" (topics: {', '.join(lst.topics)})" if lst.topics else ""
    click.echo(f"{safe(lst.name)}: {len(members)} members{topics}")
    for link in lst.links:
        synced = link.last_synced_at.strftime("%Y-%m-%d %H:%M") if link.last_synced_at else "never"
        where = web_list_url(link.remote_id) if link.network == "bluesky" else link.remote_id
        click.echo(f"  linked to {link.network} list {where} on account "
                   f"{link.account} (last sync: {synced})")
    for voice in members:
        click.echo(f"  {describe(voice)}")


@lists.command("rename")
@click.argument("old")
@click.argument("new")
@pass_app
def lists_rename(app: AppContext, old: str, new: str) -> None:
    """Rename list OLD to NEW (its history and links stay)."""
    curation_store(app).rename_list(old, new)
    click.echo(f"renamed {safe(old)} to {safe(new)}")


@lists.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def lists_delete(app: AppContext, name: str, yes: bool) -> None:
    """Delete list NAME with its history (voices stay; remote lists are not touched)."""
    store = curation_store(app)
    count = len(store.members(name))
    if not yes:
        click.confirm(f"delete list {safe(name)} with its {count} members and history?",
                      abort=True)
    store.delete_list(name)
    click.echo(f"deleted list {safe(name)}")


@lists.command("add")
@click.argument("name")
@click.argument("accounts", nargs=-1, required=True)
@pass_app
def lists_add(app: AppContext, name: str, accounts: tuple[str, ...]) -> None:
    """Add voices or handles to list NAME (a new handle becomes a new voice)."""
    store = curation_store(app)
    store.get_list(name)
    for ref in accounts:  # validate every argument before changing anything
        if not ref.strip().startswith("#"):
            parse_handle(ref)
    voices = [resolve_voice(store, ref, create=True) for ref in accounts]
    for voice in voices:
        done = store.add_member(name, voice, f"lists add {name}")
        click.echo(f"{'added' if done else 'already on the list:'} {describe(voice)}")


@lists.command("remove")
@click.argument("name")
@click.argument("accounts", nargs=-1, required=True)
@pass_app
def lists_remove(app: AppContext, name: str, accounts: tuple[str, ...]) -> None:
    """Remove voices or handles from list NAME."""
    store = curation_store(app)
    voices = [resolve_voice(store, ref) for ref in accounts]
    for voice in voices:
        done = store.remove_member(name, voice, f"lists remove {name}")
        click.echo(f"{'removed' if done else 'was not on the list:'} {describe(voice)}")


@lists.command("move")
@click.argument("source")
@click.argument("target")
@click.argument("accounts", nargs=-1, required=True)
@pass_app
def lists_move(app: AppContext, source: str, target: str, accounts: tuple[str, ...]) -> None:
    """Move voices from list SOURCE to list TARGET (recorded as a move on both)."""
    store = curation_store(app)
    voices = [resolve_voice(store, ref) for ref in accounts]
    for voice in voices:
        store.move_member(source, target, voice, f"lists move {source} {target}")
        click.echo(f"moved {describe(voice)} to {safe(target)}")


@lists.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              help="Default: recognised from the first row.")
@click.option("--list", "into_list", metavar="NAME",
              help="The list to import a Mastodon following export into.")
@click.option("--skip-bad", is_flag=True, help="Import the good rows even if some are bad.")
@pass_app
def lists_import(app: AppContext, path: Path, fmt: Format | None, into_list: str | None,
                 skip_bad: bool) -> None:
    """Import a CSV: Mastodon's lists export (List name,Account address), Mastodon's
    following export (with --list NAME), or the rich format `lists export --format rich`
    writes. Every row is checked first; with a bad row nothing is imported, unless
    --skip-bad."""
    text = path.read_text(encoding="utf-8-sig")
    report = import_csv(curation_store(app), text, fmt, into_list=into_list,
                        skip_bad=skip_bad, command=f"lists import {path.name}")
    for bad in report.bad:
        click.echo(f"skipped {bad}", err=True)
    for name in report.lists_created:
        click.echo(f"created list {safe(name)}")
    click.echo(f"imported {report.added} membership(s), {report.already} already present, "
               f"{len(report.bad)} bad row(s) skipped")


@lists.command("export")
@click.argument("names", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(["mastodon-lists", "rich"]),
              default="mastodon-lists", show_default=True,
              help="mastodon-lists holds fediverse accounts only; rich holds everything.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write here instead of standard output.")
@pass_reader
def lists_export(app: AppContext, names: tuple[str, ...], fmt: Format,
                 output: Path | None) -> None:
    """Export lists NAMES (default: all) as CSV that Mastodon can import
    (Settings > Import and export) or, with --format rich, with platforms, ids, roles,
    topics and notes."""
    text = export_csv(curation_store(app), list(names) or None, fmt)
    if output:
        with atomic_text(output) as out:
            out.write(text)
        click.echo(f"wrote {output}")
    else:
        click.echo(text, nl=False)


@lists.command("history")
@click.argument("name")
@click.option("--on", "on", metavar="DATE",
              help="Instead: who was on the list on DATE (YYYY-MM-DD, or an ISO time).")
@pass_reader
def lists_history(app: AppContext, name: str, on: str | None) -> None:
    """Every membership change of list NAME (when, what, by which command), or with
    --on DATE the members it had at the end of that day (UTC)."""
    store = curation_store(app)
    if on:
        when: date | datetime
        try:
            when = datetime.fromisoformat(on) if "T" in on or " " in on else \
                date.fromisoformat(on)
        except ValueError:
            raise click.BadParameter(f"{on!r} is not a date (YYYY-MM-DD)", param_hint="--on")\
                from None
        members = store.members_on(name, when)
        click.echo(f"{safe(name)} on {on}: {len(members)} members")
        for voice in members:
            click.echo(f"  {describe(voice)}")
        return
    for event in store.history(name):
        detail = f" ({safe(event.detail)})" if event.detail else ""
        click.echo(f"{event.at:%Y-%m-%d %H:%M:%S}  {event.action:<8} {describe(event.voice)}"
                   f"{detail}  by `rounds {safe(event.command)}`")


# ---------------------------------------------------------------------------- voices


_role = click.option("--role", type=click.Choice(ROLES), help="What kind of voice this is.")


@voices.command("add")
@click.argument("name")
@click.argument("handles", nargs=-1)
@_role
@click.option("--specialty", default="", help="Medical specialty or field.")
@click.option("--topic", "topics", multiple=True, help="Topic id (repeatable).")
@click.option("--note", default="", help="Why this voice is worth hearing.")
@pass_app
def voices_add(app: AppContext, name: str, handles: tuple[str, ...], role: str | None,
               specialty: str, topics: tuple[str, ...], note: str) -> None:
    """Add a voice NAME with its HANDLES (user@domain for Mastodon, x:name for X,
    bsky:handle or did:plc:... for Bluesky)."""
    parsed = [parse_handle(h) for h in handles]
    voice = curation_store(app).add_voice(name, parsed, role=role or "", specialty=specialty,
                                          topics=topics, note=note)
    click.echo(f"added voice {describe(voice)}")


@voices.command("edit")
@click.argument("voice")
@click.option("--name")
@_role
@click.option("--specialty")
@click.option("--topic", "topics", multiple=True, help="Replaces the topics (repeatable).")
@click.option("--note")
@pass_app
def voices_edit(app: AppContext, voice: str, name: str | None, role: str | None,
                specialty: str | None, topics: tuple[str, ...], note: str | None) -> None:
    """Change the name, role, specialty, topics or note of VOICE (#ID or a handle)."""
    store = curation_store(app)
    found = resolve_voice(store, voice)
    edited = store.edit_voice(found.id, name=name, role=role, specialty=specialty,
                              topics=topics or None, note=note)
    click.echo(f"edited {describe(edited)}")


@voices.command("show")
@click.argument("voice", required=False)
@pass_reader
def voices_show(app: AppContext, voice: str | None) -> None:
    """Show every voice, or VOICE (#ID or handle) in detail with the lists it is on."""
    store = curation_store(app)
    if voice is None:
        for v in store.list_voices():
            click.echo(describe(v))
        return
    v = resolve_voice(store, voice)
    click.echo(describe(v))
    for label, value in (("specialty", v.specialty), ("topics", ", ".join(v.topics)),
                         ("note", v.note)):
        if value:
            click.echo(f"  {label}: {safe(value)}")
    for ident in v.identities:
        rid = f" (id {ident.remote_id})" if ident.remote_id else ""
        click.echo(f"  {ident.network}: {safe(shown_handle(ident))}{rid}")
    on = [lst.name for lst in store.list_lists() if v.id in {m.id for m in
                                                            store.members(lst.name)}]
    click.echo(f"  lists: {', '.join(safe(n) for n in on) or 'none'}")


@voices.command("link")
@click.argument("voice")
@click.argument("other")
@pass_app
def voices_link(app: AppContext, voice: str, other: str) -> None:
    """Join OTHER into VOICE as one person (e.g. their Mastodon and X accounts): OTHER's
    identities and list memberships move to VOICE."""
    store = curation_store(app)
    keep = resolve_voice(store, voice, create=True)
    joined = store.link(keep, resolve_voice(store, other, create=True))
    click.echo(f"linked: {describe(joined)}")


@voices.command("unlink")
@click.argument("handle")
@pass_app
def voices_unlink(app: AppContext, handle: str) -> None:
    """Split HANDLE off its voice into a voice of its own (not on any list)."""
    network, parsed = parse_handle(handle)
    voice = curation_store(app).unlink(network, parsed)
    click.echo(f"unlinked into {describe(voice)}")
