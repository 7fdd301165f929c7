"""The `?` help screen: the key map."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.keymap import KEYMAP


def keymap_table() -> Table:
    table = Table(box=None, show_header=False, padding=(0, 2))
    table.add_column(style="bold #a5b4fc", no_wrap=True)
    table.add_column()
    for keys, what in KEYMAP:
        table.add_row(keys, what)
    return table


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical {
        width: 84; max-width: 100%; height: auto; max-height: 100%;
        border: thick $accent; background: $surface; padding: 1 2;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("q", "close", "Close", show=False),
        Binding("question_mark", "close", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with Vertical():
            title = Text("grandrounds reader: keys", style="bold")
            title.append("   Esc closes this help", style="bold #a5b4fc")
            yield Static(title, markup=False)
            yield Static(keymap_table(), markup=False)
            yield Static(Text("Mouse: click a view or a post; click the selected post to "
                              "open it; the wheel scrolls.", style="dim"), markup=False)

    def action_close(self) -> None:
        self.dismiss(None)
