"""The curator screen (`c`): curated lists on the left, the selected list's members on the
right, its sync status and recorded sync log below; add, remove and move members, each
after a confirmation. Changes go through the Curator (recorded with command "reader");
database work runs in thread workers that answer with messages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, OptionList, Static
from textual.widgets.option_list import Option

from aggregator.reader.curator import Curator, ListSummary, Member, SyncStatus
from tui.sanitize import sanitize_line
from tui.screens.curator_dialogs import ConfirmDialog, HandleDialog, ListPicker
from tui.widgets.curator_views import list_prompt, member_cells, sync_text, voice_label
from tui.widgets.footer import KeysFooter

MEMBER_COLUMNS = ("Voice", "Role", "Added", "Handles")


def _cell_width(cell: Text) -> int:
    return max((line.cell_len for line in cell.split("\n")), default=0)


@dataclass
class ListsLoaded(Message):
    lists: list[ListSummary]
    select: str | None


@dataclass
class ListLoaded(Message):
    name: str
    members: list[Member]
    status: SyncStatus


@dataclass
class CurationDone(Message):
    text: str
    error: bool = False
    select: str | None = None
    reload: bool = True  # a change was attempted: re-read the lists


class SyncPanel(VerticalScroll):
    """The selected list's sync status, sync log and recent changes; `y` maximizes it."""

    ALLOW_MAXIMIZE = True


class CuratorScreen(Screen[None]):
    ESCAPE_TO_MINIMIZE = False
    DEFAULT_CSS = """
    #curator-main { height: 1fr; }
    #curator-lists, #curator-lists:focus {
        width: 27; height: 1fr; border: none; border-right: solid $primary 40%; padding: 0;
    }
    #curator-right { width: 1fr; }
    #members-title { height: 1; padding: 0 1; background: $boost; }
    #members { height: 1fr; min-height: 4; }
    #sync-panel { height: 40%; border-top: solid $primary 40%; padding: 0 1; }
    #sync-panel.-maximized { height: 1fr; border-top: none; }
    #curator-status { height: 1; padding: 0 1; background: $panel; }
    #curator-status.error { color: $error; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add", "Add", id="curator-add"),
        Binding("d,delete", "remove", "Remove", key_display="d", id="curator-remove"),
        Binding("m", "move", "Move", id="curator-move"),
        Binding("y", "sync_view", "Sync status", id="curator-sync"),
        Binding("escape", "back", "Back", id="curator-back"),
    ]

    def __init__(self, curator: Curator) -> None:
        super().__init__()
        self.curator = curator
        self.lists: list[ListSummary] = []
        self.current: str | None = None
        self.members: list[Member] = []

    def compose(self) -> ComposeResult:
        with Horizontal(id="curator-main"):
            yield OptionList(id="curator-lists")
            with Vertical(id="curator-right"):
                yield Static("", id="members-title", markup=False)
                yield DataTable(id="members", cursor_type="row", zebra_stripes=True)
                with SyncPanel(id="sync-panel"):
                    yield Static("", id="sync-body", markup=False)
        yield Static(Text("curated lists: loading…"), id="curator-status", markup=False)
        yield KeysFooter(compact=True, show_command_palette=False)

    @property
    def list_menu(self) -> OptionList:
        return self.query_one("#curator-lists", OptionList)

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#members", DataTable)

    def on_mount(self) -> None:
        self.table.add_columns(*MEMBER_COLUMNS)
        self.list_menu.focus()
        self.load_lists(None)

    def show_status(self, text: str, *, error: bool = False) -> None:
        bar = self.query_one("#curator-status", Static)
        bar.set_class(error, "error")
        bar.update(Text(sanitize_line(text, 300), no_wrap=True, overflow="ellipsis"))

    # ------------------------------------------------------------ workers

    @work(thread=True, group="curator-lists", exclusive=True, exit_on_error=False)
    def load_lists(self, select: str | None) -> None:
        try:
            found = self.curator.list_lists()
        except Exception as exc:
            self.post_message(CurationDone(f"cannot read the curated lists: {exc}", True,
                                           reload=False))
            return
        self.post_message(ListsLoaded(found, select))

    @work(thread=True, group="curator-list", exclusive=True, exit_on_error=False)
    def load_list(self, name: str) -> None:
        try:
            members = self.curator.members(name)
            status = self.curator.sync_status(name)
        except Exception as exc:
            self.post_message(CurationDone(f"cannot read list {name}: {exc}", True, reload=False))
            return
        self.post_message(ListLoaded(name, members, status))

    @work(thread=True, group="curator-write", exit_on_error=False)
    def change(self, do: Callable[[], str], select: str) -> None:
        try:
            text = do()
        except Exception as exc:  # CurationError or a database error: shown, not raised
            self.post_message(CurationDone(str(exc), True, select))
            return
        self.post_message(CurationDone(text, False, select))

    # ------------------------------------------------------------ answers

    def on_lists_loaded(self, msg: ListsLoaded) -> None:
        self.lists = msg.lists
        menu = self.list_menu
        menu.clear_options()
        menu.add_options([Option(list_prompt(s), id=str(i)) for i, s in enumerate(msg.lists)])
        if not msg.lists:
            self.current = None
            self.show_status("no curated lists yet: create one with rounds lists create NAME")
            self.query_one("#members-title", Static).update(Text("no list"))
            return
        names = [s.name for s in msg.lists]
        want = msg.select if msg.select in names else self.current
        index = names.index(want) if want in names else 0
        menu.highlighted = index
        self.open_list(names[index])
        self.show_status(f"{len(names)} curated list(s) · a add · d remove · m move · "
                         "y sync status · Esc back")

    def open_list(self, name: str) -> None:
        self.current = name
        self.load_list(name)

    @on(OptionList.OptionHighlighted, "#curator-lists")
    def list_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        index = int(event.option.id or 0)
        if index < len(self.lists) and self.lists[index].name != self.current:
            self.open_list(self.lists[index].name)

    @on(OptionList.OptionSelected, "#curator-lists")
    def list_selected(self, event: OptionList.OptionSelected) -> None:
        self.table.focus()

    def on_list_loaded(self, msg: ListLoaded) -> None:
        if msg.name != self.current:
            return
        table = self.table
        keep = table.cursor_row if self.members else 0
        self.members = msg.members
        rows = [member_cells(member) for member in msg.members]
        # Widths measured here, not left to the table: it measures new rows only when its
        # message queue runs dry, and on a busy machine the columns stayed at header width.
        table.clear(columns=True)
        for i, label in enumerate(MEMBER_COLUMNS):
            table.add_column(label, key=label,
                             width=max([len(label), *(_cell_width(row[i]) for row in rows)]))
        for member, cells in zip(msg.members, rows, strict=True):
            table.add_row(*cells, key=str(member.voice.id))
        if msg.members:
            table.move_cursor(row=min(keep, len(msg.members) - 1))
        title = Text(sanitize_line(msg.name, 60), style="bold")
        title.append(f" · {len(msg.members)} member(s)" if msg.members else " · no members "
                     "yet: a adds one")
        self.query_one("#members-title", Static).update(title)
        self.query_one("#sync-body", Static).update(sync_text(msg.status))

    def on_curation_done(self, msg: CurationDone) -> None:
        self.show_status(msg.text, error=msg.error)
        if msg.error:
            self.notify(sanitize_line(msg.text, 300), severity="error", markup=False)
        if msg.reload:
            self.load_lists(msg.select)

    # ------------------------------------------------------------ actions

    def selected_member(self) -> Member | None:
        row = self.table.cursor_row
        if not self.members or not 0 <= row < len(self.members):
            return None
        return self.members[row]

    def action_add(self) -> None:
        name = self.current
        if name is None:
            self.show_status("no list to add to", error=True)
            return

        def confirmed(ref: str, ok: bool | None) -> None:
            if ok:
                self.change(lambda: self.curator.add(name, ref), name)

        def typed(ref: str | None) -> None:
            if not ref:
                return
            question = Text(f"Add {sanitize_line(ref, 100)} to {sanitize_line(name, 60)}?\n")
            question.append("A handle no voice has yet becomes a new voice.", style="dim")
            self.app.push_screen(ConfirmDialog(question, "Add"),
                                 lambda ok: confirmed(ref, ok))

        self.app.push_screen(HandleDialog(name, self.curator.check_ref), typed)

    def action_remove(self) -> None:
        name, member = self.current, self.selected_member()
        if name is None or member is None:
            self.show_status("no member selected", error=True)
            return
        voice_id = member.voice.id

        def confirmed(ok: bool | None) -> None:
            if ok:
                self.change(lambda: self.curator.remove(name, voice_id), name)

        question = Text(f"Remove {voice_label(member.voice)} from {sanitize_line(name, 60)}?")
        self.app.push_screen(ConfirmDialog(question, "Remove"), confirmed)

    def action_move(self) -> None:
        name, member = self.current, self.selected_member()
        if name is None or member is None:
            self.show_status("no member selected", error=True)
            return
        others = [s.name for s in self.lists if s.name != name]
        if not others:
            self.show_status("no other list to move to (rounds lists create NAME)", error=True)
            return
        voice_id, who = member.voice.id, voice_label(member.voice)

        def confirmed(target: str, ok: bool | None) -> None:
            if ok:
                self.change(lambda: self.curator.move(name, target, voice_id), name)

        def picked(target: str | None) -> None:
            if not target:
                return
            question = Text(f"Move {who} from {sanitize_line(name, 60)} to "
                            f"{sanitize_line(target, 60)}?")
            self.app.push_screen(ConfirmDialog(question, "Move"),
                                 lambda ok: confirmed(target, ok))

        self.app.push_screen(ListPicker(Text(f"Move {who} to:", style="bold"), others), picked)

    def action_sync_view(self) -> None:
        panel = self.query_one("#sync-panel")
        if panel.is_maximized:
            self.minimize()
            self.table.focus()
        else:
            panel.focus()
            self.maximize(panel, container=False)

    def action_back(self) -> None:
        if self.maximized is not None:
            self.minimize()
            self.table.focus()
            return
        self.dismiss(None)
