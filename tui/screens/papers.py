"""The Papers screen (the sidebar's "Papers"): the works your voices shared, ranked by how
many distinct voices shared each, for a period (`p` moves through PERIODS).

Enter on a work shows the posts discussing it below it (loaded in a worker the first
time); Enter on one of those posts returns to the lists with that post selected; `o` opens
the work's link in the browser; Esc returns. An answer from an older load (a generation
behind) is dropped. Titles, names and post text are strangers' data: `rich.text.Text`,
never markup.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from aggregator.reader.feed import FeedReader, PostRow
from aggregator.reader.papers import PERIODS, RankedWork, identifier_of, link_of, period_start
from tui.links import open_url
from tui.sanitize import sanitize_line
from tui.screens.tree_screen import TreeScreen
from tui.timefmt import relative

HINT = "Enter shows the posts discussing a paper · o opens its link · p period · Esc back"
LIMIT = 100  # works shown
POSTS = 50  # posts shown per work
NOTHING = "No papers shared in this period: p shows a longer one."


@dataclass
class PapersLoaded(Message):
    generation: int
    works: list[RankedWork]
    error: str = ""


@dataclass
class WorkPostsLoaded(Message):
    generation: int
    work_id: int
    posts: list[PostRow]
    error: str = ""


def work_label(w: RankedWork) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis", end="")
    text.append(f"{w.voices:>3} voice{' ' if w.voices == 1 else 's'}", style="bold #a5b4fc")
    text.append(f" {w.posts:>3} post{' ' if w.posts == 1 else 's'}  ", style="dim")
    text.append(sanitize_line(w.title, 300) or "(no title)", style="bold" if w.title else "")
    text.append(f"  {sanitize_line(identifier_of(w), 200)}", style="dim")
    return text


def post_label(p: PostRow, now: datetime) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis", end="")
    text.append(f"{relative(p.created_at, now):>6} ", style="dim")
    text.append(sanitize_line(p.author_name or p.author_handle, 60), style="bold")
    if p.boosted_by:
        text.append(f" ♻ {sanitize_line(p.boosted_by, 60)}", style="dim")
    text.append("  " + sanitize_line(p.text, 300))
    return text


class PapersScreen(TreeScreen[int | None]):
    """Dismissed with a post id (Enter on a post: show it in the lists), or None."""

    NAME = "papers"
    LOADING = "Papers: loading…"
    HINT = HINT

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="papers-back"),
        Binding("o", "open_link", "Open link", id="papers-open"),
        Binding("p", "period", "Period", id="papers-period"),
    ]

    def __init__(self, reader: FeedReader, opener: Callable[[str], object],
                 period: int = 1) -> None:
        super().__init__()
        self.reader = reader
        self.opener = opener
        self.period = period
        self.generation = 0
        self.works: list[RankedWork] | None = None
        self.nodes: dict[int, TreeNode[str]] = {}
        self.loaded: set[int] = set()

    def reload(self) -> None:
        self.generation += 1
        self.works = None
        self.load(self.generation, PERIODS[self.period][1])

    @work(thread=True, group="papers", exclusive=True, exit_on_error=False)
    def load(self, generation: int, days: int | None) -> None:
        try:
            works = self.reader.list_papers(period_start(days, self.reader.now()), LIMIT)
        except Exception as exc:
            self.post_message(PapersLoaded(generation, [], f"cannot read the papers: {exc}"))
            return
        self.post_message(PapersLoaded(generation, works))

    def on_papers_loaded(self, msg: PapersLoaded) -> None:
        if msg.generation != self.generation:
            return
        if msg.error:
            self.say(msg.error, error=True)
            return
        self.works = msg.works
        self.nodes.clear()
        self.loaded.clear()
        tree = self.rows
        tree.clear()
        head = Text("Papers", style="bold")
        voices = "shared by your voices"
        head.append(f"  {len(msg.works)}{'+' if len(msg.works) >= LIMIT else ''} "
                    f"work{'' if len(msg.works) == 1 else 's'} {voices}, "
                    f"{PERIODS[self.period][0]}, most voices first", style="dim")
        self.set_head(head)
        if not msg.works:
            self.say(NOTHING)
            return
        self.say(HINT)
        for w in msg.works:
            self.nodes[w.id] = tree.root.add(work_label(w), data=f"work:{w.id}",
                                             allow_expand=True)
        tree.move_cursor(tree.root.children[0])

    def _work_at_cursor(self) -> RankedWork | None:
        node = self.top_node()
        if node is None or self.works is None or not str(node.data or "").startswith("work:"):
            return None
        work_id = int(str(node.data).removeprefix("work:"))
        return next((w for w in self.works if w.id == work_id), None)

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted[str]) -> None:
        """The highlighted work in full on the status line: identifier, link, first seen
        and who (the row above is cut to the screen's width)."""
        event.stop()
        w = self._work_at_cursor()
        if w is None or not str(event.node.data or "").startswith("work:"):
            return
        link = link_of(w)
        ident = identifier_of(w)
        where = link if ident == link.removeprefix("https://") else f"{ident} · {link}"
        who = "; ".join(w.who) + (f" and {w.voices - len(w.who)} more"
                                  if w.voices > len(w.who) else "")
        self.say(sanitize_line(f"Enter: its posts · {where} · first seen "
                               f"{w.first_seen:%Y-%m-%d} · {who}", 400))

    def on_tree_node_selected(self, event: Tree.NodeSelected[str]) -> None:
        event.stop()
        data = str(event.node.data or "")
        if data.startswith("post:"):
            self.dismiss(int(data.removeprefix("post:")))

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[str]) -> None:
        event.stop()
        data = str(event.node.data or "")
        if data.startswith("work:") and int(data[5:]) not in self.loaded:
            work_id = int(data[5:])
            self.loaded.add(work_id)
            event.node.add_leaf(Text("       loading…", style="dim"), data="")
            self.load_posts(self.generation, work_id)

    @work(thread=True, group="papers-posts", exit_on_error=False)
    def load_posts(self, generation: int, work_id: int) -> None:
        try:
            posts = self.reader.paper_posts(work_id, POSTS)
        except Exception as exc:
            self.post_message(WorkPostsLoaded(generation, work_id, [],
                                              f"cannot read the posts: {exc}"))
            return
        self.post_message(WorkPostsLoaded(generation, work_id, posts))

    def on_work_posts_loaded(self, msg: WorkPostsLoaded) -> None:
        node = self.nodes.get(msg.work_id)
        if msg.generation != self.generation or node is None:
            return
        node.remove_children()
        if msg.error:
            self.loaded.discard(msg.work_id)
            self.say(msg.error, error=True)
            return
        now = self.reader.now()
        for p in msg.posts:
            node.add_leaf(post_label(p, now), data=f"post:{p.id}")
        if not msg.posts:
            node.add_leaf(Text("       (every post sharing it is muted or gone)",
                               style="dim"), data="")
        self.say(f"{len(msg.posts)} post{'' if len(msg.posts) == 1 else 's'} discussing it"
                 " · Enter on one shows it in the lists")

    def action_open_link(self) -> None:
        w = self._work_at_cursor()
        if w is None:
            return
        failed = open_url(self.opener, link_of(w))
        self.say(failed or f"opened {link_of(w)}", error=failed is not None)

    def action_period(self) -> None:
        self.period = (self.period + 1) % len(PERIODS)
        self.reload()

    def action_back(self) -> None:
        self.dismiss(None)
