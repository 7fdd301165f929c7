"""The views sidebar: All, Unread, Starred, saved views, topics, sources, networks, each
with its unread count (capped: "99+")."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from aggregator.reader.feed import COUNT_CAP, VIEW_COUNT_CAP, View
from tui.sanitize import sanitize_line

LABEL_WIDTH = 16


def format_count(n: int | None, cap: int = COUNT_CAP) -> str:
    if n is None or n == 0:
        return ""
    return f"{cap - 1}+" if n >= cap else str(n)


def prompt(view: View, count: int | None, width: int = LABEL_WIDTH) -> Text:
    """The label in `width` cells (cut with "…"), then the unread count."""
    label = sanitize_line(view.label, 60)
    if len(label) > width:
        label = label[: width - 1] + "…"
    text = Text(label.ljust(width), no_wrap=True, overflow="ellipsis", end="")
    text.append(format_count(count, VIEW_COUNT_CAP).rjust(5), style="bold")
    return text


class Sidebar(OptionList):
    DEFAULT_CSS = """
    Sidebar, Sidebar:focus {
        width: 25; height: 1fr; border: none; border-right: solid $primary 40%;
        padding: 0;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.views: list[View] = []
        self.counts: dict[str, int] = {}

    def set_views(self, views: list[View], current: str) -> None:
        self.views = views
        self.clear_options()
        group = ""
        options: list[Option] = []
        for view in views:
            if view.group != group:
                group = view.group
                options.append(Option(Text(group, style="bold dim"), disabled=True))
            options.append(Option(prompt(view, self.counts.get(view.id)), id=view.id))
        self.add_options(options)
        self.select(current)

    def select(self, view_id: str) -> None:
        try:
            self.highlighted = self.get_option_index(view_id)
        except Exception:  # an unknown id (a source removed from the config): leave as is
            return

    def set_counts(self, counts: dict[str, int]) -> None:
        self.counts = counts
        for view in self.views:
            try:
                self.replace_option_prompt(view.id, prompt(view, counts.get(view.id)))
            except Exception:
                continue
