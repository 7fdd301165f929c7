"""How the curator screen shows lists, members and sync status: pure functions from the
Curator's dataclasses to `rich.text.Text` (strangers' names stay inert: never markup)."""

from __future__ import annotations

import shlex
from datetime import datetime

from rich.text import Text

from aggregator.curation.model import Voice, shown_handle
from aggregator.reader.curator import LinkStatus, ListSummary, Member, SyncStatus
from aggregator.reader.feed import NETWORK_NAMES
from tui.sanitize import sanitize_line

NAME_WIDTH = 18
MAX_SHOWN = 8  # handles listed per pending direction


def when(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M}" if at else "never"


def list_prompt(summary: ListSummary) -> Text:
    """Two lines: the name and member count, then its remote links and last sync."""
    name = sanitize_line(summary.name, 80)
    if len(name) > NAME_WIDTH:
        name = name[: NAME_WIDTH - 1] + "…"
    text = Text(name.ljust(NAME_WIDTH), style="bold", end="")
    text.append(f"{summary.members:>5}")
    if not summary.links:
        text.append("\n  not linked", style="dim")
        return text
    nets = "+".join(NETWORK_NAMES[x.link.network] for x in summary.links)
    nets = "Masto+X" if len(summary.links) > 1 else nets
    trouble = any(x.outcome.startswith("incomplete") for x in summary.links)
    pending = any(x.pending for x in summary.links)
    state = "incomplete" if trouble else "changed" if pending else (
        "synced" if summary.last_synced_at else "never synced")
    style = "red" if trouble else "yellow" if pending else "dim"
    text.append(f"\n  {nets} ", style="dim")
    text.append(state, style=style)
    if summary.last_synced_at:
        text.append(f" {summary.last_synced_at:%m-%d}", style="dim")
    return text


def handles(voice: Voice) -> Text:
    return Text(sanitize_line(" ".join(shown_handle(i) for i in voice.identities), 200))


def member_cells(member: Member) -> tuple[Text, Text, Text, Text]:
    voice = member.voice
    added = f"{member.added_at:%Y-%m-%d}" if member.added_at else ""
    return (Text(sanitize_line(voice.name, 80) or "—"), Text(sanitize_line(voice.role, 30)),
            Text(added), handles(voice))


def voice_label(voice: Voice) -> str:
    return sanitize_line(voice.label, 120)


def _link_lines(out: Text, status: LinkStatus) -> None:
    link = status.link
    out.append(f"{NETWORK_NAMES[link.network]} list {sanitize_line(link.remote_id, 40)} "
               f"(account {sanitize_line(link.account, 40)}): ", style="bold")
    out.append(f"last sync {when(link.last_synced_at)}, ")
    out.append(status.outcome + "\n",
               style="red" if status.outcome.startswith("incomplete") else "")
    if not link.last_synced_at and not status.pending:
        return
    if not status.pending:
        out.append("  curated members match the remote list as of the last sync\n",
                   style="dim")
        return
    out.append("  changed since the last sync (next sync would):\n")
    for sign, names, style in (("+", status.to_add, "green"), ("-", status.to_remove, "red")):
        for handle in names[:MAX_SHOWN]:
            out.append(f"    {sign} {sanitize_line(handle, 100)}\n", style=style)
        if len(names) > MAX_SHOWN:
            out.append(f"    {sign} … {len(names) - MAX_SHOWN} more\n", style=style)


def sync_text(status: SyncStatus) -> Text:
    """The sync panel: per linked list its status and pending diff, the command to run,
    the recorded sync log and the latest membership changes."""
    name = sanitize_line(status.list_name, 80)
    out = Text(f"Sync: {name}\n", style="bold")
    quoted = shlex.quote(name)
    if not status.links:
        out.append("Not linked to a remote list. To link one:\n  ")
        out.append(f"rounds lists link {quoted} --mastodon ACCOUNT:LIST_ID\n", style="bold")
    for link in status.links:
        _link_lines(out, link)
    if status.links:
        out.append("The reader does not sync; to sync run  ")
        out.append(f"rounds lists sync {quoted} --dry-run", style="bold")
        out.append("  then without --dry-run.\n")
    out.append("\nSync log", style="bold")
    out.append(" (newest first)\n" if status.log else ": nothing recorded yet\n")
    for line in status.log:
        out.append(f"  {sanitize_line(line, 200)}\n")
    out.append("\nRecent changes", style="bold")
    out.append(" (newest first)\n" if status.history else ": none yet\n")
    for event in status.history:
        detail = f" ({event.detail})" if event.detail else ""
        what = sanitize_line(f"{event.voice.label}{detail} by {event.command}", 200)
        out.append(f"  {event.at:%Y-%m-%d %H:%M} {event.action} {what}\n")
    out.rstrip()
    return out
