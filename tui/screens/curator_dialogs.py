"""The curator's modal dialogs: confirm a change, type a handle, pick a list.

Every text shown here that may come from a stranger (names, handles, list names) is a
`rich.text.Text` built from sanitized strings, never markup.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from aggregator.errors import CurationError
from tui.sanitize import sanitize_line

DIALOG_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{
    width: 64; max-width: 100%; height: auto; max-height: 100%;
    border: thick $accent; background: $surface; padding: 0 1;
}}
{name} .buttons {{ height: auto; align-horizontal: right; }}
{name} Button {{ margin: 0 0 0 1; min-width: 10; }}
{name} .error {{ color: $error; height: auto; }}
{name} .hint {{ color: $text-muted; height: auto; }}
"""


def plain(text: str, limit: int = 200, style: str = "") -> Text:
    return Text(sanitize_line(text, limit), style=style)


class ConfirmDialog(ModalScreen[bool]):
    """A yes/no question; Enter or y confirms, Esc or n cancels."""

    DEFAULT_CSS = DIALOG_CSS.format(name="ConfirmDialog")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: Text, action: str = "Yes") -> None:
        super().__init__()
        self.question = question
        self.action_label = action

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, id="question", markup=False)
            with Horizontal(classes="buttons"):
                yield Button(self.action_label, variant="primary", id="yes")
                yield Button("Cancel", id="no")

    def on_mount(self) -> None:
        self.query_one("#yes", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)


class HandleDialog(ModalScreen[str | None]):
    """Type a handle or a voice id; checked as you submit, the error shown inline."""

    DEFAULT_CSS = DIALOG_CSS.format(name="HandleDialog")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, list_name: str, check: Callable[[str], None]) -> None:
        super().__init__()
        self.list_name = list_name
        self.check = check

    def compose(self) -> ComposeResult:
        with Vertical():
            title = Text("Add to ", style="bold")
            title.append(sanitize_line(self.list_name, 60))
            yield Static(title, markup=False)
            yield Static(Text("user@domain (Mastodon), x:name or @name (X), or #ID of a "
                              "voice. Enter adds, Esc cancels."), classes="hint", markup=False)
            yield Input(placeholder="alice@mastodon.social", id="handle")
            yield Static("", id="handle-error", classes="error", markup=False)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        error = self.query_one("#handle-error", Static)
        try:
            self.check(event.value)
        except CurationError as exc:
            error.update(plain(str(exc), 300))
            return
        self.dismiss(event.value.strip())

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#handle-error", Static).update("")

    def action_cancel(self) -> None:
        self.dismiss(None)


class ListPicker(ModalScreen[str | None]):
    """Pick a list to move a member to."""

    DEFAULT_CSS = DIALOG_CSS.format(name="ListPicker") + """
    ListPicker OptionList { height: auto; max-height: 16; border: none; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: Text, names: list[str]) -> None:
        super().__init__()
        self.title_text = title
        self.names = names

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, markup=False)
            yield Label(Text("Enter picks, Esc cancels", style="dim"))
            yield OptionList(*[Option(plain(n, 60), id=str(i))
                               for i, n in enumerate(self.names)], id="targets")

    def on_mount(self) -> None:
        targets = self.query_one(OptionList)
        targets.highlighted = 0 if self.names else None
        targets.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.names[int(event.option.id or 0)])

    def action_cancel(self) -> None:
        self.dismiss(None)
