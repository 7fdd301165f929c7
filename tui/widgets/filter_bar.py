"""The `/` filter box: a query-language input with its error shown inline."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Static

from aggregator.errors import QueryError
from tui.sanitize import sanitize_line

PLACEHOLDER = 'filter, e.g. topic:cardiology unread has:link "heart failure"  (Esc: cancel)'


class FilterBar(Vertical):
    DEFAULT_CSS = """
    FilterBar { height: auto; display: none; }
    FilterBar.-open { display: block; }
    FilterBar Input { border: tall $accent; height: 3; }
    FilterBar #filter-error { color: $error; height: auto; display: none; padding: 0 1; }
    FilterBar #filter-error.-shown { display: block; }
    """

    def compose(self) -> ComposeResult:
        yield Input(placeholder=PLACEHOLDER, id="filter-input", compact=False)
        yield Static("", id="filter-error", markup=False)

    def on_mount(self) -> None:
        self.query_one(Input).cursor_blink = False

    @property
    def input(self) -> Input:
        return self.query_one(Input)

    def open(self, text: str) -> None:
        self.add_class("-open")
        self.input.value = text
        self.input.cursor_position = len(text)
        self.input.focus()

    def close(self) -> None:
        self.remove_class("-open")
        self.clear_error()

    def show_error(self, exc: QueryError, text: str) -> None:
        error = self.query_one("#filter-error", Static)
        msg = Text(f"✗ {sanitize_line(str(exc), 200)}", no_wrap=False)
        pos = max(0, min(exc.position, len(text)))
        if text:
            msg.append("\n  ")
            msg.append(sanitize_line(text, 300))
            msg.append("\n  " + " " * pos + "^", style="bold")
        error.update(msg)
        error.add_class("-shown")

    def clear_error(self) -> None:
        error = self.query_one("#filter-error", Static)
        error.update("")
        error.remove_class("-shown")
