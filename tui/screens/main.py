"""The main screen: sidebar of views, the post list, the reading pane, a status bar.

It turns key presses and widget messages into data requests (run by WorkerScreen in
threads) and puts the answers back into the widgets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, OptionList

from aggregator.errors import QueryError
from aggregator.reader.feed import (
    TRENDS_VIEW,
    FeedReader,
    PostDetail,
    Refresher,
    Setup,
    View,
)
from aggregator.reader.images import ImageLoader
from aggregator.reader.thread import ThreadFetcher
from tui import guidance
from tui import messages as m
from tui.images import Graphics
from tui.links import open_url, post_links
from tui.screens.catchup import CatchupScreen
from tui.screens.links import LinksScreen
from tui.screens.mute_chooser import MuteChooser
from tui.screens.papers import PapersScreen
from tui.screens.thread import ThreadScreen
from tui.screens.topic_picker import TopicPicker
from tui.screens.trends import TrendsScreen
from tui.screens.workers import STATE_POST, STATE_VIEW, WorkerScreen
from tui.widgets.filter_bar import FilterBar
from tui.widgets.footer import KeysFooter
from tui.widgets.image_view import Fetch
from tui.widgets.post_list import PostList
from tui.widgets.reading_pane import ReadingPane
from tui.widgets.sidebar import Sidebar, format_count
from tui.widgets.status_bar import StatusBar

MAX_SEEK_PAGES = 50  # `n` and restore look this many pages ahead, no further


class MainScreen(WorkerScreen):
    ESCAPE_TO_MINIMIZE = False  # our `back` action minimizes and puts focus on the list
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "open_browser", "Web", id="browser"),
        Binding("l", "links", "Links", id="links"),
        Binding("T", "thread", "Thread", key_display="T", id="thread", show=False),
        Binding("enter", "thread_of_opened", "Thread", show=False),
        Binding("r", "toggle_read", "Read", id="read"),
        Binding("s", "toggle_star", "Star", id="star"),
        Binding("slash", "filter", "Filter", key_display="/", id="filter"),
        Binding("t", "pick_topic", "Topic", id="topic"),
        Binding("n", "next_unread", "Unread", id="next-unread"),
        Binding("M", "mute", "Mute", key_display="M", id="mute"),
        Binding("i", "images", "Images", id="images", show=False),
        Binding("R", "collect", "Collect", key_display="R", id="collect"),
        Binding("escape", "back", "Back", show=False),
    ]

    def __init__(self, reader: FeedReader, refresher: Refresher | None, *,
                 opener: Callable[[str], object], mark_read_on_move: bool = False,
                 poll_seconds: float = 5.0, threads: ThreadFetcher | None = None,
                 images: ImageLoader | None = None, graphics: Graphics = "halfcell") -> None:
        super().__init__()
        self.reader = reader
        self.refresher = refresher
        self.threads = threads
        self.images = images
        self.graphics = graphics
        self._want_images: int | None = None  # a post whose images to show once loaded
        self.opener = opener
        self.mark_read_on_move = mark_read_on_move
        self.poll_seconds = poll_seconds
        self.views: list[View] = []
        self.view_id = "all"
        self.query_text = ""
        self.counts: dict[str, int] = {}
        self._counts_wait = False
        self._hidden_wait: int | None = None
        self.hidden = 0  # posts of this view the mutes hide
        self.marker = 0
        self._seek: int | str | None = None  # a post id, or "unread"
        self._seek_pages = 0
        self._ready = False
        self._selected_id: int | None = None
        self._seek_after_mute: int | None = None
        self.setup: Setup | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield Sidebar(id="sidebar")
            with Vertical(id="right"):
                yield FilterBar(id="filter-bar")
                yield PostList(self.reader.now, self.reader.topic_name, id="posts")
                yield ReadingPane(graphics=self.graphics, id="pane")
        yield StatusBar(id="status")
        yield KeysFooter(compact=True, show_command_palette=False)

    @property
    def posts(self) -> PostList:
        return self.query_one(PostList)

    @property
    def pane(self) -> ReadingPane:
        return self.query_one(ReadingPane)

    @property
    def status(self) -> StatusBar:
        return self.query_one(StatusBar)

    def on_mount(self) -> None:
        self.posts.focus()
        self.status.show_place("loading…")
        self.load_views()
        if self.poll_seconds > 0:
            self.set_interval(self.poll_seconds, self.poll)

    def on_unmount(self) -> None:
        self.save_state()

    def save_state(self) -> None:
        if not self._ready:
            return
        try:
            self.reader.set_state(STATE_VIEW, self.view_id)
            if self._selected_id is not None:
                self.reader.set_state(STATE_POST, str(self._selected_id))
        except Exception as exc:  # never lose the quit over a locked database
            self.log.warning(f"could not save reader state: {exc}")

    # ------------------------------------------------------------ views

    def on_views_loaded(self, msg: m.ViewsLoaded) -> None:
        self.views = msg.views
        self.marker = msg.marker
        self.setup = msg.setup
        ids = {v.id for v in msg.views}
        view_id = msg.saved_view if msg.saved_view in ids else "all"
        self.query_one(Sidebar).set_views(msg.views, view_id)
        self._ready = True
        self._counts_wait = True  # fetched once the first page is in (see on_page_loaded)
        self.open_view(view_id, seek=msg.saved_post)

    def open_view(self, view_id: str, *, seek: int | str | None = None) -> None:
        self.view_id = view_id
        self.query_one(Sidebar).select(view_id)
        self._seek, self._seek_pages = seek, 0
        self.posts.reset()
        self.set_empty_text()
        self.pane.show(None, self.reader.now(), self.reader.topic_name)
        self.posts.need(0)
        self.hidden = 0
        self._hidden_wait = self.posts.generation  # counted once the first page is in
        self.update_place()

    def set_empty_text(self) -> None:
        """What the list says if this view turns out empty: how to get posts at all
        while the archive holds none, else that this view or filter has none."""
        if self.marker == 0:
            text = guidance.empty_archive(self.setup, self.refresher is not None)
        else:
            text = guidance.empty_view(self.view_label(), self.view_id, self.query_text)
        self.posts.empty_text = text

    @on(OptionList.OptionSelected, "#sidebar")
    def sidebar_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id == "catchup":  # a screen of its own, over the lists
            self.app.push_screen(CatchupScreen(self.reader), self.caught_up)
            return
        if event.option.id == TRENDS_VIEW:  # a screen of its own too
            self.app.push_screen(TrendsScreen(self.reader), self.trend_chosen)
            return
        if event.option.id == "papers":  # a ranking of its own, over the lists
            self.app.push_screen(PapersScreen(self.reader, self.opener), self.papers_closed)
            return
        if event.option.id and event.option.id != self.view_id:
            self.open_view(event.option.id)
            self.write_state(STATE_VIEW, event.option.id)
        self.posts.focus()

    def caught_up(self, _: None = None) -> None:
        """Back from the catch-up: groups marked read show as read here too."""
        self.query_one(Sidebar).select(self.view_id)
        selected = self.posts.selected
        self.open_view(self.view_id, seek=selected.id if selected else None)
        self.fetch_counts(self.views)
        self.posts.focus()

    def trend_chosen(self, chosen: str | None) -> None:
        """Back from Trends: on a rising topic's view, or on all posts filtered by a
        rising hashtag (`tag:NAME`); Esc: where the lists were."""
        self.query_one(Sidebar).select(self.view_id)
        if chosen and chosen.startswith("topic:"):
            self.query_text = ""
            self.open_view(chosen)
            self.write_state(STATE_VIEW, chosen)
        elif chosen and chosen.startswith("tag:"):
            try:
                self.reader.check_query(chosen)
            except QueryError as exc:  # a hashtag the query language cannot spell
                self.notify(f"cannot filter on {chosen}: {exc}", markup=False,
                            severity="warning")
                self.posts.focus()
                return
            self.query_text = chosen
            self.open_view("all")
            self.write_state(STATE_VIEW, "all")
        self.posts.focus()

    def papers_closed(self, post_id: int | None = None) -> None:
        """Back from Papers: a post chosen there is shown in All, selected."""
        if post_id is None:
            self.query_one(Sidebar).select(self.view_id)
            self.posts.focus()
            return
        self.open_view("all", seek=post_id)
        self.write_state(STATE_VIEW, "all")
        self.posts.focus()

    def view_label(self) -> str:
        for v in self.views:
            if v.id == self.view_id:
                return f"{v.group}: {v.label}" if v.group else v.label
        return self.view_id

    def update_place(self) -> None:
        w = self.posts.window
        where = self.view_label()
        if self.query_text:
            where += f" · filter: {self.query_text}"
        if w.total:
            more = "" if w.exhausted else "+"
            where += f" · {self.posts.cursor + 1}/{w.total}{more}"
        elif w.exhausted:
            where += " · no posts"
        if self.hidden:
            where += f" · {format_count(self.hidden)} hidden by mutes"
        self.status.show_place(where)

    def on_hidden_counted(self, msg: m.HiddenCounted) -> None:
        if msg.generation == self.posts.generation:
            self.hidden = msg.count
            self.update_place()

    def on_counts_loaded(self, msg: m.CountsLoaded) -> None:
        self.counts = msg.counts
        self.query_one(Sidebar).set_counts(msg.counts)

    def refresh_counts_soon(self) -> None:
        self.set_timer(0.5, lambda: self.fetch_counts(self.views), name="counts")

    # ------------------------------------------------------------ pages

    def on_page_needed(self, msg: m.PageNeeded) -> None:
        w = self.posts.window
        self.fetch_page(self.posts.generation, msg.page, self.view_id, self.query_text,
                        w.before_key(msg.page) if msg.page <= len(w.pages) else None,
                        w.limit_for(msg.page))

    def on_page_loaded(self, msg: m.PageLoaded) -> None:
        if msg.generation != self.posts.generation:
            return
        self.posts.install(msg.page, msg.rows)
        self.continue_seek()
        self.update_place()
        self.after_first_page()

    def after_first_page(self) -> None:
        """The counts a view shows besides its posts (the sidebar's unread, the posts hidden
        by mutes) cost more as the archive grows: asked for once the posts are drawn, so
        that the first screen waits for none of them."""
        if self._hidden_wait == self.posts.generation:
            self._hidden_wait = None
            self.call_after_refresh(self.fetch_hidden, self.posts.generation, self.view_id,
                                    self.query_text)
        if self._counts_wait:
            self._counts_wait = False
            self.call_after_refresh(self.fetch_counts, self.views)

    def on_load_failed(self, msg: m.LoadFailed) -> None:
        if msg.generation == self.posts.generation:
            self.after_first_page()
        if msg.generation in (-1, self.posts.generation):
            self.status.show_activity(msg.error, error=True)
            self.notify(msg.error, severity="error", markup=False)

    def continue_seek(self) -> None:
        seek = self._seek
        if seek is None:
            return
        posts, w = self.posts, self.posts.window
        if seek == "unread":
            index = None
            for i in range(posts.cursor + 1, w.total):
                row = w.row(i)
                if row is None:
                    posts.need(w.page_of(i))
                    return
                if not row.is_read:
                    index = i
                    break
        else:
            index = w.find(int(seek))
        if index is not None:
            self._seek = None
            posts.move_to(index)
            return
        if w.exhausted or self._seek_pages >= MAX_SEEK_PAGES:
            self._seek = None
            if seek == "unread":
                self.status.show_activity("no more unread posts in this view")
            return
        self._seek_pages += 1
        posts.need(len(w.pages))

    # ------------------------------------------------------------ selection

    def on_selection_changed(self, msg: m.SelectionChanged) -> None:
        prev = msg.previous
        if (self.mark_read_on_move and prev is not None and not prev.is_read
                and (msg.row is None or msg.row.id != prev.id)):
            self.set_read(prev.id, True)
        if msg.row is not None:
            self.fetch_detail(msg.row.id)
            self._selected_id = msg.row.id
        self.update_place()

    def on_detail_loaded(self, msg: m.DetailLoaded) -> None:
        row = self.posts.selected
        if row is not None and row.id == msg.detail.id:
            self.pane.show(msg.detail, self.reader.now(), self.reader.topic_name)
            if self._want_images == msg.detail.id:
                self._want_images = None
                self.step_images()

    def on_post_activated(self, msg: m.PostActivated) -> None:
        if not msg.row.is_read:
            self.set_read(msg.row.id, True)
        self.pane.focus()
        self.maximize(self.pane, container=False)
        if self.images is not None and self.images.auto:
            d = self.pane.detail
            if d is None or d.id != msg.row.id:
                self._want_images = msg.row.id
            elif self.pane.images.fresh:
                self.step_images()

    def set_read(self, post_id: int, value: bool) -> None:
        self.posts.update_row(post_id, is_read=value)
        self.write_flags(post_id, is_read=value)
        self._refresh_pane_flags(post_id, is_read=value)
        self.refresh_counts_soon()

    def _refresh_pane_flags(self, post_id: int, **changes: bool) -> None:
        from dataclasses import replace

        d = self.pane.detail
        if d is not None and d.id == post_id:
            self.pane.show(replace(d, **changes),  # type: ignore[arg-type]
                           self.reader.now(), self.reader.topic_name)

    # ------------------------------------------------------------ actions

    def action_toggle_read(self) -> None:
        row = self.posts.selected
        if row is not None:
            self.set_read(row.id, not row.is_read)

    def action_toggle_star(self) -> None:
        row = self.posts.selected
        if row is None:
            return
        self.posts.update_row(row.id, starred=not row.starred)
        self.write_flags(row.id, starred=not row.starred)
        self._refresh_pane_flags(row.id, starred=not row.starred)
        self.refresh_counts_soon()

    def action_open_browser(self) -> None:
        row = self.posts.selected
        if row is None:
            return
        d = self.pane.detail
        if d is not None and d.id == row.id:
            self.open_link(d.url)
        else:
            self.fetch_detail(row.id, then=lambda detail: self.open_link(detail.url))

    def open_link(self, url: str) -> None:
        """Hand a post's link to the opener (the web browser); say so when that fails, and
        show the link to copy. May run in a worker thread: answers with a message."""
        if not url:
            self.post_message(m.BrowserFailed("", "this post has no link to open"))
            return
        failed = open_url(self.opener, url)
        if failed is not None:
            self.post_message(m.BrowserFailed(url, guidance.no_browser(url, failed)))

    def action_links(self) -> None:
        row = self.posts.selected
        d = self.pane.detail
        if row is not None and d is not None and d.id == row.id:
            self.show_links(d)
        elif row is not None:
            self.fetch_detail(row.id, then=lambda d: self.app.call_from_thread(self.show_links, d))

    def show_links(self, d: PostDetail) -> None:
        links = post_links(d.links)
        if links:
            self.app.push_screen(LinksScreen(links, d.author.name or d.author.handle, self.opener))
            return
        self.status.show_activity(guidance.NO_LINKS)
        self.notify(guidance.NO_LINKS, markup=False)

    def action_thread(self) -> None:
        row = self.posts.selected
        if row is not None:
            self.app.push_screen(ThreadScreen(self.reader, self.threads, row.id))

    def action_thread_of_opened(self) -> None:
        """Enter on the opened post (the reading pane has the focus): its conversation."""
        if self.pane.has_focus_within and self.pane.detail is not None:
            self.app.push_screen(ThreadScreen(self.reader, self.threads, self.pane.detail.id))

    def action_images(self) -> None:
        row = self.posts.selected
        if row is None:
            return
        if self.images is None:
            self.status.show_activity(guidance.IMAGES_OFF)
            self.notify(guidance.IMAGES_OFF, markup=False)
            return
        d = self.pane.detail
        if d is None or d.id != row.id:
            self._want_images = row.id  # shown once the post has loaded
            return
        self.step_images()

    def step_images(self) -> None:
        """`i`: the sensitive placeholder, or the opened post's next image (in a worker)."""
        view = self.pane.images
        step = view.step()
        if step is None:
            self.status.show_activity(guidance.NO_IMAGES)
            return
        if isinstance(step, Fetch):
            self.fetch_image(step.generation, step.index, step.url, step.box)
        self.call_after_refresh(self.pane.scroll_to_widget, view, animate=False)

    def on_image_loaded(self, msg: m.ImageLoaded) -> None:
        view = self.pane.images
        if msg.generation != view.generation:
            return  # asked for on another post, or before the last `i`
        if msg.picture is None:
            view.show_error(msg.index, msg.error)
            self.status.show_activity(msg.error, error=True)
        else:
            view.show_picture(msg.index, msg.picture)
        self.call_after_refresh(self.pane.scroll_to_widget, view, animate=False)

    def on_browser_failed(self, msg: m.BrowserFailed) -> None:
        self.status.show_activity(msg.text, error=True)
        self.notify(msg.text, severity="warning", markup=False, timeout=30)

    def action_mute(self) -> None:
        row = self.posts.selected
        if row is None:
            return
        d = self.pane.detail
        if d is not None and d.id == row.id:
            self.choose_mute(d)
        else:
            self.fetch_mute_target(row.id)

    def on_mute_target(self, msg: m.MuteTarget) -> None:
        row = self.posts.selected
        if row is not None and row.id == msg.detail.id:
            self.choose_mute(msg.detail)

    def choose_mute(self, detail: PostDetail) -> None:
        def chosen(choice: tuple[str, str] | None) -> None:
            self.posts.focus()
            if choice is not None:
                self._seek_after_mute = self.neighbor(
                    detail.author.handle if choice[0] == "author" else None)
                self.write_mute(*choice)

        self.app.push_screen(MuteChooser(detail), chosen)

    def neighbor(self, handle: str | None) -> int | None:
        """A post near the selected one that a mute of `handle` (or of the selected post)
        leaves in view: the next one below, else above; where the cursor goes after."""
        w, here = self.posts.window, self.posts.cursor
        for index in [*range(here + 1, w.total), *range(here - 1, -1, -1)]:
            row = w.row(index)
            if row is not None and (handle is None or row.author_handle != handle):
                return row.id
        return None

    def on_muted(self, msg: m.Muted) -> None:
        self.status.show_activity(msg.text, error=msg.error)
        if msg.error:
            self.notify(msg.text, severity="error", markup=False)
            return
        self.open_view(self.view_id, seek=self._seek_after_mute)
        self.fetch_counts(self.views)

    def action_next_unread(self) -> None:
        self._seek, self._seek_pages = "unread", 0
        self.continue_seek()

    def action_filter(self) -> None:
        self.minimize()
        self.query_one(FilterBar).open(self.query_text)

    @on(Input.Submitted, "#filter-input")
    def filter_submitted(self, event: Input.Submitted) -> None:
        bar = self.query_one(FilterBar)
        text = event.value.strip()
        try:
            self.reader.check_query(text)
        except QueryError as exc:
            bar.show_error(exc, text)
            return
        bar.clear_error()
        if not text:
            bar.close()
        self.query_text = text
        self.posts.focus()
        self.open_view(self.view_id)

    def action_pick_topic(self) -> None:
        topics = [v for v in self.views if v.id.startswith("topic:")]
        if not topics:
            self.notify("no topics yet", markup=False)
            return

        def chosen(view_id: str | None) -> None:
            if view_id:
                self.open_view(view_id)
                self.write_state(STATE_VIEW, view_id)
            self.posts.focus()

        self.app.push_screen(TopicPicker(topics, self.counts, self.view_id), chosen)

    def action_collect(self) -> None:
        if self.refresher is None:
            text = guidance.no_refresher(self.setup)
            self.status.show_activity(text, error=True)
            self.notify(text, severity="warning", markup=False, timeout=30)
            return
        self.status.show_activity("collecting…")
        self.run_collect()

    def on_collect_progress(self, msg: m.CollectProgress) -> None:
        self.status.show_activity(f"collecting… {msg.text}")

    def on_collect_finished(self, msg: m.CollectFinished) -> None:
        self.status.show_activity(msg.summary, error=msg.error)
        if msg.error:
            self.notify(msg.summary, severity="error", markup=False)
        self.poll()

    def action_back(self) -> None:
        bar = self.query_one(FilterBar)
        if bar.input.has_focus:
            bar.input.value = self.query_text
            bar.clear_error()
            if not self.query_text:
                bar.close()
        self.minimize()
        self.posts.focus()

    # ------------------------------------------------------------ live updates

    def poll(self) -> None:
        w = self.posts.window
        if not self._ready or (not w.pages and not w.exhausted):
            return
        self.check_new(self.posts.generation, self.view_id, self.query_text, w.top_key(),
                       self.marker)

    def on_newer_loaded(self, msg: m.NewerLoaded) -> None:
        self.marker = max(self.marker, msg.marker)
        self.set_empty_text()
        self.refresh_counts_soon()
        if msg.generation != self.posts.generation:
            return
        self.fetch_hidden(msg.generation, self.view_id, self.query_text)
        w = self.posts.window
        top = w.top_key()
        if msg.complete and top is not None:
            # Two polls can overlap (a slow database): the later one may bring rows the
            # earlier one already put on top. Only what is newer than the top goes on.
            self.posts.prepend([r for r in msg.rows if r.key > top])
        elif not msg.complete or w.total == 0:
            selected = self.posts.selected
            self.open_view(self.view_id, seek=selected.id if selected else None)
        self.update_place()
