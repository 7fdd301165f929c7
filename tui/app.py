"""The reader app: composition root and navigation only.

It is handed a FeedReader (reads and read/star state), a Refresher (a collect pass, or
None) and a ThreadFetcher (a post's conversation, or None), and never builds a database or
an API client itself, so tests run it on a temporary database and the CLI on the real one,
through the same constructor.
"""

from __future__ import annotations

import webbrowser
from collections.abc import Callable, Iterable
from typing import ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from aggregator.reader.curator import Curator
from aggregator.reader.feed import FeedReader, Refresher
from aggregator.reader.images import ImageLoader
from aggregator.reader.thread import ThreadFetcher
from tui.guidance import NO_CURATOR
from tui.images import Graphics
from tui.screens.curator import CuratorScreen
from tui.screens.help import HelpScreen
from tui.screens.main import MainScreen


class ReaderApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "grandrounds"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("question_mark", "help", "Help", key_display="?", id="help"),
        Binding("c", "curator", "Curate", id="curator"),
    ]

    def __init__(self, reader: FeedReader, refresher: Refresher | None = None, *,
                 mark_read_on_move: bool = False, poll_seconds: float = 5.0,
                 opener: Callable[[str], object] = webbrowser.open,
                 curator: Curator | None = None,
                 threads: ThreadFetcher | None = None, images: ImageLoader | None = None,
                 graphics: Graphics = "halfcell") -> None:
        super().__init__()
        self.reader = reader
        self.refresher = refresher
        self.curator = curator
        self.opener = opener
        self.main_screen = MainScreen(reader, refresher, opener=opener,
                                      mark_read_on_move=mark_read_on_move,
                                      poll_seconds=poll_seconds, threads=threads,
                                      images=images, graphics=graphics)

    def on_mount(self) -> None:
        self.push_screen(self.main_screen)

    async def action_quit(self) -> None:
        self.main_screen.save_state()
        self.exit()

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_curator(self) -> None:
        if self.screen is not self.main_screen:
            return
        if self.curator is None:
            self.main_screen.status.show_activity(NO_CURATOR, error=True)
            self.notify(NO_CURATOR, severity="warning", markup=False, timeout=30)
            return
        self.push_screen(CuratorScreen(self.curator))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        main = self.main_screen
        yield SystemCommand("Help: keys", "Show the key map (?)", self.action_help)
        yield SystemCommand("Filter posts", "Filter with the query language (/)",
                            main.action_filter)
        yield SystemCommand("Pick a topic", "Show one topic's posts (t)", main.action_pick_topic)
        yield SystemCommand("Next unread", "Jump to the next unread post (n)",
                            main.action_next_unread)
        yield SystemCommand("Toggle read", "Mark the selected post read/unread (r)",
                            main.action_toggle_read)
        yield SystemCommand("Toggle star", "Star or unstar the selected post (s)",
                            main.action_toggle_star)
        yield SystemCommand("Mute", "Mute the selected post's author or a hashtag (M)",
                            main.action_mute)
        yield SystemCommand("Open in browser", "Open the selected post's page (o)",
                            main.action_open_browser)
        yield SystemCommand("Links", "The post's links: open or copy one (l)", main.action_links)
        yield SystemCommand("Conversation", "The post's thread: ancestors and replies (T)",
                            main.action_thread)
        yield SystemCommand("Images", "Show the post's images, one at a time (i)",
                            main.action_images)
        yield SystemCommand("Curate lists", "Curated lists, members, sync status (c)",
                            self.action_curator)
        yield SystemCommand("Collect now", "Run a collection pass in the background (R)",
                            main.action_collect)
