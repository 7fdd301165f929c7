"""The Trends screen (the sidebar's "Trends"): posts per topic per day as sparklines
(Textual's Sparkline, one cell a day), the topics and hashtags rising now, and the most
shared links, from `FeedReader.trends` (a daily rollup: quick on a large archive).

Enter on a rising topic or hashtag returns to the lists on its posts (the topic's view,
or the filter `tag:NAME`); Esc returns. Loading runs in a thread worker. Topic names,
hashtags and links are strangers' data: `rich.text.Text`, never markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Label, OptionList, Sparkline, Static
from textual.widgets.option_list import Option

from aggregator.reader.feed import FeedReader
from aggregator.reader.trends import FLOOR, RECENT_DAYS, Rising, Trends
from tui.sanitize import sanitize_line
from tui.widgets.footer import KeysFooter

HINT = "Enter on a rising topic or hashtag shows its posts · Esc back"
SERIES_SHOWN = 8
LINKS_SHOWN = 5


@dataclass
class TrendsLoaded(Message):
    trends: Trends | None
    error: str = ""


def rising_label(r: Rising) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis", end="")
    text.append(sanitize_line(r.name, 60), style="bold")
    shift = "new" if r.ratio is None else f"×{r.ratio:.1f} its usual week"
    text.append(f"  {r.recent} posts in {RECENT_DAYS} days, {shift}", style="dim")
    return text


class TrendsScreen(Screen[str | None]):
    """Dismissed with what to show: "topic:ID", "tag:NAME", or None (Esc)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="trends-back"),
    ]
    DEFAULT_CSS = """
    TrendsScreen #trends-head { height: auto; padding: 0 1; }
    TrendsScreen #trends-series { height: auto; max-height: 10; padding: 0 1; }
    TrendsScreen .trend-row { height: 1; }
    TrendsScreen .trend-name { width: 24; }
    TrendsScreen .trend-total { width: 8; content-align: right middle; }
    TrendsScreen Sparkline { width: 1fr; height: 1; }
    TrendsScreen #trends-rising { height: 1fr; border: none; padding: 0 1; }
    TrendsScreen #trends-links { height: auto; max-height: 7; padding: 0 1; }
    TrendsScreen #trends-status { height: 1; padding: 0 1; color: $text-muted; }
    TrendsScreen #trends-status.error { color: $error; }
    """

    def __init__(self, reader: FeedReader) -> None:
        super().__init__()
        self.reader = reader
        self.trends: Trends | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text("Trends: loading…", style="bold"), id="trends-head", markup=False)
        yield VerticalScroll(id="trends-series")
        yield OptionList(id="trends-rising")
        yield Static("", id="trends-links", markup=False)
        yield Static(Text(HINT), id="trends-status", markup=False)
        yield KeysFooter(compact=True, show_command_palette=False)

    @property
    def rising(self) -> OptionList:
        return self.query_one("#trends-rising", OptionList)

    def on_mount(self) -> None:
        self.rising.focus()
        self.load()

    @work(thread=True, group="trends", exclusive=True, exit_on_error=False)
    def load(self) -> None:
        try:
            self.post_message(TrendsLoaded(self.reader.trends()))
        except Exception as exc:
            self.post_message(TrendsLoaded(None, f"cannot read the trends: {exc}"))

    def on_trends_loaded(self, msg: TrendsLoaded) -> None:
        status = self.query_one("#trends-status", Static)
        if msg.trends is None:
            status.update(Text(msg.error))
            status.add_class("error")
            return
        t = self.trends = msg.trends
        head = Text("Trends", style="bold")
        head.append(f"  posts per topic per day, {t.days[0]} to {t.days[-1]} (UTC)",
                    style="dim")
        self.query_one("#trends-head", Static).update(head)
        box = self.query_one("#trends-series", VerticalScroll)
        rows = []
        for s in t.series[:SERIES_SHOWN]:
            rows.append(Horizontal(
                Label(Text(sanitize_line(s.name, 23), no_wrap=True, overflow="ellipsis"),
                      classes="trend-name", markup=False),
                Sparkline(list(s.counts), summary_function=max),
                Label(Text(f"{s.total:>7}"), classes="trend-total", markup=False),
                classes="trend-row"))
        if rows:
            box.mount_all(rows)
        else:
            box.mount(Label(Text("No posts with a topic in these days.", style="dim"),
                            markup=False))
        options: list[Option | None] = [Option(Text(
            f"Rising: the last {RECENT_DAYS} days against the 28 before "
            f"(at least {FLOOR} posts, twice the usual week)", style="bold"), disabled=True)]
        found = [*t.rising_topics, *t.rising_tags]
        options += [Option(rising_label(r), id=f"topic:{r.id}" if r.kind == "topic"
                           else f"tag:{r.id}") for r in found]
        if not found:
            options.append(Option(Text("Nothing is rising.", style="dim"), disabled=True))
        self.rising.clear_options()
        self.rising.add_options(options)
        if found:
            self.rising.highlighted = 1
        links = Text("Most shared links (by distinct authors)", style="bold")
        for link in t.links[:LINKS_SHOWN]:
            links.append(f"\n{link.authors:>4} ", style="bold #a5b4fc")
            links.append(f"author{'' if link.authors == 1 else 's'}  ", style="dim")
            links.append(sanitize_line(link.url, 200))
        if not t.links:
            links.append("\n  no links in these days", style="dim")
        self.query_one("#trends-links", Static).update(links)

    @on(OptionList.OptionSelected, "#trends-rising")
    def chosen(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.dismiss(event.option.id)

    def action_back(self) -> None:
        self.dismiss(None)
