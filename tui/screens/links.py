"""The `l` links screen: the opened post's links in full, where each goes; Enter opens one
in the web browser (http and https only), y copies it (OSC 52), Esc returns.

Every text here is a `rich.text.Text` built from `tui.links` (hidden characters
percent-encoded) or sanitized strings, never markup."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui import guidance
from tui.links import Link, open_url
from tui.sanitize import sanitize_line
from tui.screens.curator_dialogs import DIALOG_CSS

HINT = "Enter opens in the web browser · y copies · Esc back"
SHOWN_CHARS = 600  # of one link; longer ones end in "…" here (opened and copied whole)


def link_prompt(n: int, link: Link) -> Text:
    text = Text(f"{n:>2} ", style="bold", overflow="fold")
    if link.host:
        text.append(link.host, style="bold #a5b4fc")
    if link.problem:
        text.append(f"{'  ' if link.host else ''}{link.problem}", style="#f97316")
    if link.warning:
        text.append(f"  ⚠ {link.warning}", style="bold #f97316")
    shown = link.url if len(link.url) <= SHOWN_CHARS else link.url[:SHOWN_CHARS] + "…"
    text.append(f"\n   {shown}", style="underline")
    return text


def copied_text(n: int) -> str:
    return (f"copied link {n}, if your terminal allows OSC 52 clipboard writes; if not, "
            "select it above (Shift+drag in most terminals)")


class LinksScreen(ModalScreen[None]):
    DEFAULT_CSS = DIALOG_CSS.format(name="LinksScreen") + """
    LinksScreen > Vertical { width: 100; }
    LinksScreen OptionList, LinksScreen OptionList:focus {
        height: auto; max-height: 70vh; border: none; padding: 0;
    }
    LinksScreen #links-status { max-height: 3; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back"),
        Binding("y", "copy", "Copy"),
    ]

    def __init__(self, links: list[Link], author: str,
                 opener: Callable[[str], object]) -> None:
        super().__init__()
        self.links = links
        self.author = author
        self.opener = opener

    def compose(self) -> ComposeResult:
        with Vertical():
            title = Text(f"Links in the post by {sanitize_line(self.author, 60) or '?'}",
                         style="bold")
            title.append(f"  ({len(self.links)})", style="dim")
            yield Static(title, markup=False, id="links-title")
            yield OptionList(*(Option(link_prompt(n, link))
                               for n, link in enumerate(self.links, 1)), id="links")
            yield Static(Text(HINT), markup=False, classes="hint")
            yield Static("", markup=False, id="links-status")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @property
    def current(self) -> int | None:
        return self.query_one(OptionList).highlighted

    def say(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#links-status", Static)
        status.update(Text(text))
        status.set_class(error, "error")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        n, link = event.option_index + 1, self.links[event.option_index]
        if link.problem:
            self.say(f"link {n} {link.problem}", error=True)
            return
        failed = open_url(self.opener, link.url)
        if failed is None:
            self.say(f"opened link {n} ({link.host}) in the web browser")
        else:
            self.say(guidance.no_browser_here(n, failed), error=True)

    def action_copy(self) -> None:
        index = self.current
        if index is not None:
            self.app.copy_to_clipboard(self.links[index].url)
            self.say(copied_text(index + 1))

    def action_close(self) -> None:
        self.dismiss(None)
