"""The post list: a line-rendered scroll view over a PostWindow.

Only the visible lines are rendered and only a bounded window of rows is in memory, so
a million-post view scrolls as fast as a ten-post one. Rows whose page is not in memory
render as a placeholder and ask for the page (PageNeeded); the screen fetches it in a
worker and hands it back with `install`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from datetime import datetime
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from aggregator.reader.feed import PostRow
from tui.messages import PageNeeded, PostActivated, SelectionChanged
from tui.widgets.post_row import row_lines
from tui.window import PostWindow

ROW_HEIGHT = 2


class PostList(ScrollView, can_focus=True):
    DEFAULT_CSS = """
    PostList { height: 1fr; }
    PostList > .post-list--cursor { background: $accent 30%; }
    PostList:focus > .post-list--cursor { background: $accent 55%; }
    PostList > .post-list--placeholder { color: $text-muted; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"post-list--cursor", "post-list--placeholder"}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", key_display="j/k", id="down", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False, id="up"),
        Binding("up", "cursor_up", "Up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("home", "first", "First", show=False),
        Binding("enter", "activate", "Open", id="open"),
    ]

    def __init__(self, now: Callable[[], datetime], topic_name: Callable[[str], str],
                 *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.window = PostWindow()
        self.cursor = 0
        self.generation = 0
        self._now = now
        self._topic_name = topic_name
        self._pending: set[int] = set()
        self.empty_text: list[str] = ["No posts here."]  # paragraphs, set by the screen

    # ------------------------------------------------------------ data in

    def reset(self) -> int:
        """Forget every row (a new view or filter); returns the new generation."""
        self.generation += 1
        self.window = PostWindow()
        self.cursor = 0
        self._pending.clear()
        self.scroll_to(0, 0, animate=False)
        self._resize()
        self.refresh()
        return self.generation

    def install(self, page: int, rows: list[PostRow]) -> None:
        self._pending.discard(page)
        before = self.selected
        if not self.window.install(page, rows):
            return
        self._resize()
        self.refresh()
        if before is None and self.selected is not None:
            self.post_message(SelectionChanged(self.cursor, self.selected, None))

    def prepend(self, rows: list[PostRow]) -> None:
        """Newer posts on top; the selection and the visible rows stay where they are."""
        if not rows:
            return
        self._pending.clear()  # page numbers shift
        self.window.prepend(rows)
        shift = len(rows)
        self.cursor += shift
        self._resize()
        self.scroll_to(y=self.scroll_y + shift * ROW_HEIGHT, animate=False, immediate=True)
        self.refresh()

    def update_row(self, post_id: int, **changes: bool) -> PostRow | None:
        row = self.window.update(post_id, **changes)
        self.refresh()
        return row

    def _resize(self) -> None:
        rows = self.window.total + (0 if self.window.exhausted else 1)
        self.virtual_size = Size(self.size.width, rows * ROW_HEIGHT)

    @property
    def selected(self) -> PostRow | None:
        if self.cursor >= self.window.total:
            return None
        return self.window.row(self.cursor)

    def need(self, page: int) -> None:
        if page not in self._pending and not self.window.is_loaded(page):
            if page == len(self.window.pages) and self.window.exhausted:
                return
            self._pending.add(page)
            self.post_message(PageNeeded(page))

    # ------------------------------------------------------------ rendering

    def render_line(self, y: int) -> Strip:
        scroll_y = int(self.scroll_offset.y)
        line = scroll_y + y
        index, part = divmod(line, ROW_HEIGHT)
        width = self.size.width
        total = self.window.total
        if index >= total:
            if index == total and not self.window.exhausted:
                self.need(len(self.window.pages))
                return self._plain("  loading…" if part == 0 else "", width)
            if total == 0 and self.window.exhausted:
                lines = self._empty_lines(width)
                return self._plain(lines[line] if line < len(lines) else "", width)
            return Strip.blank(width)
        row = self.window.row(index)
        if row is None:
            self.need(self.window.page_of(index))
            return self._plain("  …" if part == 0 else "", width)
        head, body = row_lines(row, self._now(), self._topic_name, width)
        text = head if part == 0 else body
        style = (self.get_component_rich_style("post-list--cursor")
                 if index == self.cursor else Style())
        segments = list(text.render(self.app.console))
        strip = Strip(segments).adjust_cell_length(width)
        return strip.apply_style(style) if index == self.cursor else strip

    def _empty_lines(self, width: int) -> list[str]:
        """The empty text wrapped at whole words to the list's width: a blank line between
        paragraphs, a newline within one starts a line (a path stays whole on its own)."""
        lines: list[str] = []
        for paragraph in self.empty_text:
            for part in paragraph.split("\n"):
                lines.extend(textwrap.wrap(part, max(10, width - 4), initial_indent="  ",
                                           subsequent_indent="  ", break_on_hyphens=False))
            lines.append("")
        return lines

    def _plain(self, text: str, width: int) -> Strip:
        style = self.get_component_rich_style("post-list--placeholder")
        return Strip([Segment(text, style)]).adjust_cell_length(width)

    def on_resize(self, event: events.Resize) -> None:
        self._resize()

    # ------------------------------------------------------------ movement

    def move_to(self, index: int) -> None:
        limit = self.window.total - 1
        index = max(0, min(index, limit)) if limit >= 0 else 0
        previous = self.selected
        if index == self.cursor and previous is not None:
            return
        self.cursor = index
        self.scroll_to_region(Region(0, index * ROW_HEIGHT, max(1, self.size.width), ROW_HEIGHT),
                              animate=False, immediate=True)
        if index >= limit - 5 and not self.window.exhausted:
            self.need(len(self.window.pages))
        self.refresh()
        self.post_message(SelectionChanged(index, self.selected, previous))

    def action_cursor_down(self) -> None:
        self.move_to(self.cursor + 1)

    def action_cursor_up(self) -> None:
        self.move_to(self.cursor - 1)

    def action_page_down(self) -> None:
        self.move_to(self.cursor + max(1, self.size.height // ROW_HEIGHT))

    def action_page_up(self) -> None:
        self.move_to(self.cursor - max(1, self.size.height // ROW_HEIGHT))

    def action_first(self) -> None:
        self.move_to(0)

    def action_activate(self) -> None:
        if self.selected is not None:
            self.post_message(PostActivated(self.selected))

    def on_click(self, event: events.Click) -> None:
        index = (event.y + int(self.scroll_offset.y)) // ROW_HEIGHT
        if index >= self.window.total:
            return
        if index == self.cursor:
            self.action_activate()
        else:
            self.move_to(index)
