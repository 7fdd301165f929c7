"""The curator screen (`c`) driven by Pilot on a real SQLite archive: lists, members,
add/remove/move with confirmation, the recorded history and the recorded sync status."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from aggregator.curation.remote import RemoteMember
from aggregator.curation.store import CurationStore
from aggregator.curation.sync import apply_sync, plan_sync
from aggregator.errors import RateLimited
from aggregator.models import Network
from aggregator.reader.curator import StorageCurator
from aggregator.reader.feed import StorageFeedReader
from tests.tui.conftest import SIZE, TOPIC_NAMES, Opened
from tests.tui.helpers import loaded, settle, wait_for, wait_for_text
from tests.tui.screen_text import screen_text
from tests.tui.seed import Seeder
from tests.tui.test_snapshots import matches_snapshot
from tui.app import ReaderApp
from tui.screens.curator import CuratorScreen
from tui.screens.curator_dialogs import ConfirmDialog, HandleDialog, ListPicker

MARKUP = "[@click=app.quit]x"


@dataclass
class RemoteList:
    """An in-memory stand-in for one Mastodon list (the network side of a sync)."""

    network: Network = "mastodon"
    held: dict[str, RemoteMember] = field(default_factory=dict)
    fail_adds: bool = False

    def fetch_members(self, list_id: str) -> list[RemoteMember]:
        return list(self.held.values())

    def fetch_id(self, handle: str) -> str:
        return f"id-{handle.lower()}"

    def fetch_following(self, ids: list[str]) -> set[str]:
        return set(ids)

    def follow(self, remote_id: str) -> bool:
        return True

    def add_member(self, list_id: str, remote_id: str) -> None:
        if self.fail_adds:
            raise RateLimited("mastodon", "429 Too Many Requests")
        handle = remote_id.removeprefix("id-")
        self.held[handle] = RemoteMember(handle, remote_id)

    def remove_member(self, list_id: str, remote_id: str) -> None:
        self.held = {k: m for k, m in self.held.items() if m.remote_id != remote_id}

    def create_list(self, name: str) -> str:
        return "1"

    def close(self) -> None:
        return None


@pytest.fixture
def store(seeded: Seeder) -> CurationStore:
    s = CurationStore(seeded.db, seeded.clock)
    s.create_list("Cardiologists")
    s.create_list("Nurses")
    jane = s.add_voice("Dr Jane Heart", [("mastodon", "jane@cardio.example"),
                                         ("twitter", "JaneHeart")], role="physician")
    s.add_member("Cardiologists", jane, "lists add Cardiologists")
    s.add_member("Cardiologists", s.ensure_voice("twitter", "DrBob"), "lists add Cardiologists")
    return s


def make(seeded: Seeder, store: CurationStore | None) -> ReaderApp:
    reader = StorageFeedReader(seeded.db, seeded.repo, seeded.settings, seeded.clock,
                               TOPIC_NAMES)
    return ReaderApp(reader, None, poll_seconds=0, opener=Opened(),
                     curator=StorageCurator(store) if store is not None else None)


def curator_screen(app: ReaderApp) -> CuratorScreen:
    screen = app.screen
    assert isinstance(screen, CuratorScreen)
    return screen


def member_names(store: CurationStore, name: str) -> list[str]:
    return [v.name or v.identities[0].handle for v in store.members(name)]


async def open_curator(pilot: Pilot[None], app: ReaderApp) -> CuratorScreen:
    """Press c once the reader is up; wait until the first list's members are shown."""
    await loaded(pilot, app)
    await pilot.press("c")
    await wait_for(pilot, lambda: isinstance(app.screen, CuratorScreen))
    screen = curator_screen(app)
    await wait_for(pilot, lambda: screen.current is not None and "member" in str(
        screen.query_one("#members-title", Static).render()), what="the first list's members")
    await settle(pilot)
    return screen


async def focus_members(pilot: Pilot[None], screen: CuratorScreen) -> None:
    await pilot.press("tab")
    await wait_for(pilot, lambda: screen.table.has_focus)


async def test_c_shows_lists_and_members_and_esc_returns(seeded: Seeder,
                                                         store: CurationStore) -> None:
    app = make(seeded, store)
    async with app.run_test(size=SIZE) as pilot:
        await open_curator(pilot, app)
        await wait_for_text(pilot, app, "Cardiologists", "Nurses", "not linked", "2 member(s)",
                            "Dr Jane Heart", "@jane@cardio.example x:@JaneHeart", "physician",
                            "x:@DrBob", "2026-11-27", "Sync: Cardiologists",
                            "rounds lists link Cardiologists --mastodon")
        await pilot.press("down")  # the Nurses list
        await wait_for_text(pilot, app, "no members yet")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main_screen)


async def open_handle_dialog(pilot: Pilot[None], app: ReaderApp) -> None:
    await pilot.press("a")
    await wait_for(pilot, lambda: isinstance(app.screen, HandleDialog)
                   and app.screen.query_one(Input).has_focus)


async def test_add_a_handle_valid_and_invalid(seeded: Seeder, store: CurationStore) -> None:
    app = make(seeded, store)
    async with app.run_test(size=SIZE) as pilot:
        await open_curator(pilot, app)
        await open_handle_dialog(pilot, app)
        await pilot.press(*"bad handle!", "enter")
        await wait_for_text(pilot, app, "is not an account")
        assert isinstance(app.screen, HandleDialog)  # stays open, error inline
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, CuratorScreen))
        assert len(store.members("Cardiologists")) == 2

        await open_handle_dialog(pilot, app)
        await pilot.press(*"@Alice@Nurses.Example", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: "Alice@nurses.example" in
                       member_names(store, "Cardiologists"))
        await wait_for_text(pilot, app, "@Alice@nurses.example", "3 member(s)")
    event = store.history("Cardiologists")[-1]
    assert (event.action, event.command) == ("added", "reader")


async def test_remove_asks_first(seeded: Seeder, store: CurationStore) -> None:
    app = make(seeded, store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_curator(pilot, app)
        await focus_members(pilot, screen)  # Dr Jane Heart is selected
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await wait_for_text(pilot, app, "Remove Dr Jane Heart")
        await pilot.press("n")  # cancel keeps the member
        await wait_for(pilot, lambda: app.screen is screen)
        assert member_names(store, "Cardiologists") == ["Dr Jane Heart", "DrBob"]
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: member_names(store, "Cardiologists") == ["DrBob"])
        await wait_for(pilot, lambda: "Dr Jane Heart" not in screen_text(app).split("Sync:")[0],
                       what=lambda: screen_text(app))
    events = store.history("Cardiologists")
    assert [(e.action, e.voice.name, e.command) for e in events][-1] == (
        "removed", "Dr Jane Heart", "reader")


async def test_move_to_another_list(seeded: Seeder, store: CurationStore) -> None:
    app = make(seeded, store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_curator(pilot, app)
        await focus_members(pilot, screen)
        await pilot.press("down")  # DrBob
        await wait_for(pilot, lambda: screen.table.cursor_row == 1)
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, ListPicker))
        await pilot.press("enter")  # the only other list: Nurses
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await wait_for_text(pilot, app, "Move x:@DrBob from Cardiologists to Nurses?")
        await pilot.press("y")
        await wait_for(pilot, lambda: member_names(store, "Nurses") == ["DrBob"])
        assert member_names(store, "Cardiologists") == ["Dr Jane Heart"]
        await wait_for_text(pilot, app, "1 member(s)")
    assert [(e.action, e.detail, e.command) for e in store.history("Nurses")] == [
        ("moved", "from Cardiologists", "reader")]


def sync_once(store: CurationStore, remote: RemoteList) -> None:
    apply_sync(store, plan_sync(store, "Cardiologists", "mastodon", remote), remote)


async def test_sync_status_of_a_linked_list(seeded: Seeder, store: CurationStore) -> None:
    from aggregator.curation.model import RemoteLink

    store.save_link("Cardiologists", RemoteLink("mastodon", "med", "42"))
    remote = RemoteList(held={"old@gone.example": RemoteMember("old@gone.example", "id-old")})
    sync_once(store, remote)
    seeded.clock.advance(3600)
    store.add_member("Cardiologists", store.ensure_voice("mastodon", "new@heart.example"),
                     "lists add Cardiologists")
    app = make(seeded, store)
    async with app.run_test(size=(120, 50)) as pilot:
        screen = await open_curator(pilot, app)
        await pilot.press("y")  # the sync panel, full screen
        await wait_for(pilot, lambda: screen.maximized is not None)
        text = await wait_for_text(
            pilot, app, "Mastodon list 42 (account med): last sync 2026-11-27 12:00, complete",
            "+ new@heart.example", "changed since", "rounds lists sync Cardiologists --dry-run",
            "mastodon add jane@cardio.example done", "mastodon remove old@gone.example done")
        assert "- old@gone.example" not in text  # removed by the last sync
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen.maximized is None)
        assert app.screen is screen
    remote.fail_adds = True
    sync_once(store, remote)  # stops at the 429
    app = make(seeded, store)
    async with app.run_test(size=(120, 50)) as pilot:
        await open_curator(pilot, app)
        await wait_for_text(pilot, app, "last sync 2026-11-27 12:00, incomplete: stopped",
                            "mastodon sync failed (mastodon: 429 Too Many Requests)")
        assert "incomplete" in str(curator_screen(app).list_menu.get_option_at_index(0).prompt)


async def test_without_a_curator_the_key_says_so(seeded: Seeder) -> None:
    app = make(seeded, None)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("c")  # says how to get curated lists, not "not available"
        await wait_for(pilot, lambda: "rounds lists create" in app.main_screen.status.activity)
        assert app.screen is app.main_screen
        assert "rounds read" in app.main_screen.status.activity


async def test_strangers_names_are_inert(seeded: Seeder, store: CurationStore) -> None:
    store.create_list(MARKUP)
    evil = store.add_voice(f"{MARKUP} \x1b[2J\u202eevil", [("twitter", "evil")],
                           role="[b]x[/b]")
    store.add_member("Cardiologists", evil, "lists add Cardiologists")
    app = make(seeded, store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_curator(pilot, app)
        await wait_for_text(pilot, app, MARKUP, f"{MARKUP} evil", "[b]x[/b]")
        await pilot.click("#members", offset=(3, 1))  # a live [@click] would quit here
        await pilot.click("#curator-lists", offset=(3, 0))
        await pilot.press("tab", "d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert app.is_running and screen.is_attached
        svg = app.export_screenshot()
        assert "\x1b" not in svg and "\u202e" not in svg


async def test_curator_snapshot_80x24(seeded: Seeder, store: CurationStore) -> None:
    app = make(seeded, store)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_curator(pilot, app)
        await matches_snapshot(pilot, app, "curator_80x24")


async def test_rounds_read_wires_the_curator(seeded: Seeder, store: CurationStore) -> None:
    from aggregator.cli.app import AppContext
    from aggregator.cli.read import build_reader_app

    ctx = AppContext(database_url=seeded.url, environ={}, clock=seeded.clock)
    app = build_reader_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_curator(pilot, app)
        await wait_for_text(pilot, app, "Dr Jane Heart")
        await focus_members(pilot, screen)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: member_names(store, "Cardiologists") == ["DrBob"])
    assert store.history("Cardiologists")[-1].command == "reader"
    ctx.db.dispose()
