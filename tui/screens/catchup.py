"""The Catch-up screen (the sidebar's "Catch-up"): what arrived since the last finished
catch-up, one collapsible group per voice or author, notable posts first.

Enter or space opens and closes a group; opening one marks it read, as does `r` on it
(through the FeedReader, in a worker); Esc returns to the lists. Loading and marking run
in thread workers; an answer from an older load (a generation behind) is dropped.
Names, handles and post text are strangers' data: `rich.text.Text`, never markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from aggregator.reader.catchup import (
    Catchup,
    CatchupGroup,
    CatchupPost,
    counts_text,
    is_notable,
)
from aggregator.reader.feed import NETWORK_NAMES, FeedReader
from tui.sanitize import sanitize_line
from tui.screens.tree_screen import TreeScreen
from tui.timefmt import relative

HINT = "Enter/space opens a group (and marks it read) · r marks read · Esc back"
NOTHING = "Nothing new since your last catch-up."


@dataclass
class CatchupLoaded(Message):
    generation: int
    catchup: Catchup


@dataclass
class GroupMarked(Message):
    generation: int
    group_id: str
    count: int
    error: str = ""


def group_label(g: CatchupGroup, read: bool) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis", end="")
    text.append(sanitize_line(g.title, 60) or "?", style="dim" if read else "bold")
    handles = ", ".join(f"@{sanitize_line(h, 60).lstrip('@')}" for h in g.handles)
    networks = "/".join(dict.fromkeys(NETWORK_NAMES.get(n, n) for n in g.networks))
    text.append(f"  {handles} ({networks})", style="dim")
    if read:
        text.append(f"  ✓ {g.count} read", style="green")
        return text
    text.append(f"  {g.count} new", style="bold #a5b4fc")
    if g.to_you:
        text.append(f" · {g.to_you} to you", style="bold #f97316")
    if g.notable:
        text.append(f" · {g.notable} notable", style="bold #facc15")
    return text


def post_label(p: CatchupPost, now_text: str) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis", end="")
    text.append(f"{now_text:>4} ", style="dim")
    if p.to_you:
        text.append("to you ", style="bold #f97316")
    elif is_notable(p) and p.lift is not None:
        text.append(f"×{p.lift:.1f} ", style="bold #facc15")
    counts = counts_text(p)
    if counts:
        text.append(f"{counts}  ", style="dim")
    text.append(sanitize_line(p.text, 300))
    return text


class CatchupScreen(TreeScreen[None]):
    NAME = "catchup"
    LOADING = "Catch-up: loading…"
    HINT = HINT
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="catchup-back"),
        Binding("r", "mark_read", "Mark read", id="catchup-read"),
    ]

    def __init__(self, reader: FeedReader) -> None:
        super().__init__()
        self.reader = reader
        self.catchup: Catchup | None = None
        self.generation = 0
        self.read: set[str] = set()
        self.nodes: dict[str, TreeNode[str]] = {}

    def reload(self) -> None:
        self.generation += 1
        self.load(self.generation)

    @work(thread=True, group="catchup", exclusive=True, exit_on_error=False)
    def load(self, generation: int) -> None:
        try:
            catchup = self.reader.catch_up()
        except Exception as exc:
            self.post_message(GroupMarked(generation, "", 0, f"cannot read the catch-up: {exc}"))
            return
        self.post_message(CatchupLoaded(generation, catchup))

    def on_catchup_loaded(self, msg: CatchupLoaded) -> None:
        if msg.generation != self.generation:
            return
        c = self.catchup = msg.catchup
        self.read.clear()
        self.nodes.clear()
        tree = self.rows
        tree.clear()
        since = c.since.astimezone(UTC).strftime("%Y-%m-%d %H:%MZ")
        head = Text("Catch-up", style="bold")
        origin = {"mark": "since your last catch-up", "given": "since",
                  "default": "in the last 24 hours"}[c.origin]
        head.append(f"  {c.total} unread from {len(c.groups)} "
                    f"voice{'' if len(c.groups) == 1 else 's'} {origin} ({since})",
                    style="dim")
        self.set_head(head)
        if not c.groups:
            self.say(NOTHING)
            self.mark_group(msg.generation, c, None)  # nothing left: the mark moves here
            return
        for g in c.groups:
            node = tree.root.add(group_label(g, False), data=g.id)
            self.nodes[g.id] = node
            for p in g.posts:
                node.add_leaf(post_label(p, relative(p.created_at, c.upto)), data=f"post:{p.id}")
            if g.count > len(g.posts):
                node.add_leaf(Text(f"     … {g.count - len(g.posts)} more in the lists",
                                   style="dim"), data="")
        tree.move_cursor(tree.root.children[0])

    def _group_at_cursor(self) -> CatchupGroup | None:
        node = self.top_node()
        if node is None or self.catchup is None:
            return None
        return next((g for g in self.catchup.groups if g.id == node.data), None)

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[str]) -> None:
        event.stop()
        group = next((g for g in self.catchup.groups if g.id == event.node.data), None) \
            if self.catchup else None
        if group is not None and group.id not in self.read:
            self.set_read(group)

    def action_mark_read(self) -> None:
        group = self._group_at_cursor()
        if group is not None and group.id not in self.read:
            self.set_read(group)

    def set_read(self, group: CatchupGroup) -> None:
        assert self.catchup is not None
        self.read.add(group.id)
        self.nodes[group.id].set_label(group_label(group, True))
        self.mark_group(self.generation, self.catchup, group.id)

    @work(thread=True, group="catchup-writes", exit_on_error=False)
    def mark_group(self, generation: int, catchup: Catchup, group_id: str | None) -> None:
        try:
            count = self.reader.mark_caught_up(catchup, group_id)
        except Exception as exc:
            self.post_message(GroupMarked(generation, group_id or "", 0,
                                          f"could not mark read: {exc}"))
            return
        if group_id is not None:
            self.post_message(GroupMarked(generation, group_id, count))

    def on_group_marked(self, msg: GroupMarked) -> None:
        if msg.error:
            self.say(msg.error, error=True)
            self.notify(msg.error, severity="error", markup=False)
            return
        if msg.generation != self.generation or self.catchup is None:
            return
        left = sum(g.count for g in self.catchup.groups if g.id not in self.read)
        self.say(f"marked {msg.count} read · {left} left in this catch-up" if left
                 else f"marked {msg.count} read · all caught up")

    def action_back(self) -> None:
        self.dismiss(None)
