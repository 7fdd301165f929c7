"""The conversation view (`T`, or Enter on an opened post): the post with its ancestors and
replies, indented as a thread, the post it was opened on highlighted, curated voices
marked.

The stored conversation shows at once (it opens offline); a conversation never fetched is
fetched in a worker and shown again when it is stored; `r` fetches it again. Where the
network bills reads (X) the worker first asks what the fetch will cost and the screen asks
the person (ConfirmDialog) before anything is sent; the daily budget may refuse it in one
line. Answers carry
a generation so a late one never overwrites a newer one. Every text is a `rich.text.Text`
of sanitized strangers' data, never markup; an error is one line in the status line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from rich.console import RenderableType
from rich.padding import Padding
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from aggregator.reader.feed import FeedReader, StoredThread, ThreadPost
from aggregator.reader.thread import Estimate, ThreadFetcher
from tui.sanitize import first_line, sanitize, sanitize_line
from tui.screens.curator_dialogs import ConfirmDialog
from tui.timefmt import relative
from tui.widgets.post_row import badge

MAX_INDENT = 8  # deeper replies stay at this indent (their depth is still shown)
TEXT_CHARS = 600  # of one post here; the reading pane shows it whole
HINT = "Esc back · r fetch again · ↑/↓ move"
GAPS = {"deleted": "(deleted)", "blocked": "(blocked)", "unavailable": "(post unavailable)"}
VOICE = "◆ voice"


@dataclass
class ThreadLoaded(Message):
    generation: int
    thread: StoredThread


@dataclass
class ThreadFailed(Message):
    generation: int
    text: str


@dataclass
class ThreadCostAsked(Message):
    generation: int
    estimate: Estimate


@dataclass
class ThreadFetched(Message):
    generation: int
    summary: str
    error: bool = False


def post_prompt(p: ThreadPost, now: datetime) -> RenderableType:
    """One post of the thread as a plain-text option, indented by its depth."""
    t = Text(overflow="fold")
    if p.post_id is None and p.state:
        t.append(GAPS.get(p.state, GAPS["unavailable"]), style="dim italic")
    else:
        if p.focus:
            t.append("▶ ", style="bold #eab308")
        t.append(sanitize_line(p.author_name, 60) or sanitize_line(p.author_handle, 80) or "?",
                 style="bold")
        if p.author_handle:
            t.append(f"  @{sanitize_line(p.author_handle, 80)}", style="dim")
        t.append("  ")
        t.append_text(badge(p.network))
        if p.created_at is not None:
            t.append(f"  {relative(p.created_at, now)}", style="dim")
        if p.voice:
            t.append(f"  {VOICE}", style="bold #22c55e")
        if p.state:
            t.append(f"  {GAPS.get(p.state, '')}", style="dim italic")
        body = sanitize(p.text[: TEXT_CHARS * 2]).strip()
        if len(body) > TEXT_CHARS:
            body = body[:TEXT_CHARS] + "…"
        t.append("\n" + body, style="bold" if p.focus else "")
    indent = min(p.depth, MAX_INDENT) * 2
    return Padding(t, (0, 0, 0, indent)) if indent else t


def thread_summary(thread: StoredThread, now: datetime, fetching: bool) -> str:
    shown = sum(1 for p in thread.posts if p.post_id is not None)
    place = f"{shown} post{'' if shown == 1 else 's'}"
    if fetching:
        return f"{place} · fetching the conversation…"
    if thread.fetched_at is None:
        return f"{place} from the archive · never fetched"
    return f"{place} · fetched {relative(thread.fetched_at, now)} ago".replace(
        "fetched now ago", "fetched just now")


class ThreadScreen(Screen[None]):
    DEFAULT_CSS = """
    ThreadScreen { layout: vertical; }
    ThreadScreen #thread-title { height: 1; padding: 0 1; background: $panel; }
    ThreadScreen OptionList, ThreadScreen OptionList:focus {
        height: 1fr; border: none; padding: 0 1;
    }
    ThreadScreen #thread-status { height: 1; padding: 0 1; background: $panel; }
    ThreadScreen #thread-status.error { color: $error; text-style: bold; }
    ThreadScreen .hint { height: 1; padding: 0 1; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back"),
        Binding("r", "refetch", "Fetch again"),
    ]

    def __init__(self, reader: FeedReader, fetcher: ThreadFetcher | None,
                 post_id: int) -> None:
        super().__init__()
        self.reader = reader
        self.fetcher = fetcher
        self.post_id = post_id
        self.generation = 0
        self.thread: StoredThread | None = None
        self.fetching = False
        self._fetched_once = False

    def compose(self) -> ComposeResult:
        yield Static(Text("Conversation", style="bold"), markup=False, id="thread-title")
        yield OptionList(id="thread")
        yield Static(Text("loading the conversation…"), markup=False, id="thread-status")
        yield Static(Text(HINT), markup=False, classes="hint")

    @property
    def options(self) -> OptionList:
        return self.query_one("#thread", OptionList)

    def on_mount(self) -> None:
        self.options.focus()
        self.load_stored(self.generation)

    # ------------------------------------------------------------ workers

    @work(thread=True, group="thread-read", exclusive=True, exit_on_error=False)
    def load_stored(self, generation: int) -> None:
        try:
            thread = self.reader.thread(self.post_id)
        except Exception as exc:
            self.post_message(ThreadFailed(generation, f"cannot read the conversation: "
                                                       f"{first_line(str(exc), 300)}"))
            return
        self.post_message(ThreadLoaded(generation, thread))

    @work(thread=True, group="thread-fetch", exclusive=True, exit_on_error=False)
    def fetch(self, generation: int, confirmed: bool = False) -> None:
        assert self.fetcher is not None
        try:
            if not confirmed:
                estimate = self.fetcher.estimate(self.post_id)
                if estimate is not None:  # billed reads: ask first, send nothing yet
                    self.post_message(ThreadCostAsked(generation, estimate))
                    return
            summary = self.fetcher.fetch(self.post_id)
        except Exception as exc:
            self.post_message(ThreadFetched(generation, first_line(str(exc), 300) or
                                            type(exc).__name__, error=True))
            return
        self.post_message(ThreadFetched(generation, summary))

    # ------------------------------------------------------------ answers

    def on_thread_loaded(self, msg: ThreadLoaded) -> None:
        if msg.generation != self.generation:
            return
        self.thread = msg.thread
        self.show(msg.thread)
        if msg.thread.fetched_at is None and not self._fetched_once:
            self.start_fetch()
        else:
            self.say(thread_summary(msg.thread, self.reader.now(), self.fetching))

    def on_thread_failed(self, msg: ThreadFailed) -> None:
        if msg.generation == self.generation:
            self.say(msg.text, error=True)

    def on_thread_cost_asked(self, msg: ThreadCostAsked) -> None:
        if msg.generation != self.generation:
            return

        def answered(yes: bool | None) -> None:
            if msg.generation != self.generation:
                return
            if yes:
                self.fetch(msg.generation, confirmed=True)
                return
            self.fetching = False
            self.say("not fetched: showing the stored posts · r asks again")

        question = Text(sanitize_line(msg.estimate.question(), 300))
        self.app.push_screen(ConfirmDialog(question, "Fetch"), answered)

    def on_thread_fetched(self, msg: ThreadFetched) -> None:
        if msg.generation != self.generation:
            return
        self.fetching = False
        if msg.error:
            where = "" if self.thread is None else \
                f" · showing the {'archived' if self.thread.fetched_at else 'stored'} posts"
            self.say(f"could not fetch the conversation: {msg.summary}{where}", error=True)
            return
        self.generation += 1
        self.load_stored(self.generation)
        self.notify(msg.summary, markup=False, timeout=4)

    def start_fetch(self) -> None:
        self._fetched_once = True
        if self.fetcher is None:
            self.say("showing the archived posts only: no account is configured to fetch "
                     "the conversation with")
            return
        self.fetching = True
        if self.thread is not None:
            self.say(thread_summary(self.thread, self.reader.now(), True))
        self.fetch(self.generation)

    def show(self, thread: StoredThread) -> None:
        now = self.reader.now()
        options = self.options
        options.clear_options()
        options.add_options([Option(post_prompt(p, now), id=f"p{i}")
                             for i, p in enumerate(thread.posts)])
        options.highlighted = next((i for i, p in enumerate(thread.posts) if p.focus), 0)
        options.scroll_to_highlight()

    def say(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#thread-status", Static)
        status.update(Text(sanitize_line(text, 300)))
        status.set_class(error, "error")

    # ------------------------------------------------------------ keys

    def action_refetch(self) -> None:
        if self.fetching:
            return
        self.generation += 1
        self.start_fetch()

    def action_close(self) -> None:
        self.dismiss(None)
