"""The curator screen (`c`) driven by Pilot on a real SQLite archive: lists, members,
add/remove/move with confirmation, the recorded history and the recorded sync status."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from aggregator.curation.remote import RemoteMember
from aggregator.curation.store import CurationStore
from aggregator.curation.sync import apply_sync, plan_sync
from aggregator.errors import RateLimited
from aggregator.models import Network
from tests.tui.conftest import SIZE, TOPIC_NAMES, Opened
from tests.tui.helpers import settle
from tests.tui.screen_text import screen_text
from tests.tui.seed import Seeder
from tests.tui.test_snapshots import compare
from tui.app import ReaderApp
from tui.curation_data import StorageCurator
from tui.data import StorageFeedReader
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


async def open_curator(pilot: object, app: ReaderApp) -> CuratorScreen:
    await settle(pilot)  # type: ignore[arg-type]
    await pilot.press("c")  # type: ignore[attr-defined]
    await settle(pilot)  # type: ignore[arg-type]
    return curator_screen(app)


async def test_c_shows_lists_and_members_and_esc_returns(seeded: Seeder,
                                                         store: CurationStore) -> None:
    app = make(seeded, store)
    async with app.run_test(size=SIZE) as pilot:
        await open_curator(pilot, app)
        text = screen_text(app)
        for expected in ("Cardiologists", "Nurses", "not linked", "2 member(s)",
                         "Dr Jane Heart", "@jane@cardio.example x:@JaneHeart", "physician",
                         "x:@DrBob", "2026-11-27", "Sync: Cardiologists",
                         "rounds lists link Cardiologists --mastodon"):
            assert expected in text, expected
        await pilot.press("down")  # the Nurses list
        await settle(pilot)
        assert "no members yet" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is app.main_screen


async def test_add_a_handle_valid_and_invalid(seeded: Seeder, store: CurationStore) -> None:
    app = make(seeded, store)
    async with app.run_test(size=SIZE) as pilot:
        await open_curator(pilot, app)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, HandleDialog)
        await pilot.press(*"bad handle!", "enter")
        await settle(pilot)
        assert isinstance(app.screen, HandleDialog)  # stays open, error inline
        assert "is not an account" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, CuratorScreen)
        assert len(store.members("Cardiologists")) == 2

        await pilot.press("a", *"@Alice@Nurses.Example", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await settle(pilot)
        assert "Alice@nurses.example" in member_names(store, "Cardiologists")
        assert "@Alice@nurses.example" in screen_text(app)
        assert "3 member(s)" in screen_text(app)
    event = store.history("Cardiologists")[-1]
    assert (event.action, event.command) == ("added", "reader")


async def test_remove_asks_first(seeded: Seeder, store: CurationStore) -> None:
    app = make(seeded, store)
    async with app.run_test(size=SIZE) as pilot:
        await open_curator(pilot, app)
        await pilot.press("tab")  # focus the members table; Dr Jane Heart is selected
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert "Remove Dr Jane Heart" in screen_text(app)
        await pilot.press("n")  # cancel keeps the member
        await settle(pilot)
        assert member_names(store, "Cardiologists") == ["Dr Jane Heart", "DrBob"]
        await pilot.press("d", "y")
        await settle(pilot)
        assert member_names(store, "Cardiologists") == ["DrBob"]
        assert "Dr Jane Heart" not in screen_text(app).split("Sync:")[0]
    events = store.history("Cardiologists")
    assert [(e.action, e.voice.name, e.command) for e in events][-1] == (
        "removed", "Dr Jane Heart", "reader")


async def test_move_to_another_list(seeded: Seeder, store: CurationStore) -> None:
    app = make(seeded, store)
    async with app.run_test(size=SIZE) as pilot:
        await open_curator(pilot, app)
        await pilot.press("tab", "down", "m")  # DrBob
        await settle(pilot)
        assert isinstance(app.screen, ListPicker)
        await pilot.press("enter")  # the only other list: Nurses
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert "Move x:@DrBob from Cardiologists to Nurses?" in screen_text(app)
        await pilot.press("y")
        await settle(pilot)
        assert member_names(store, "Cardiologists") == ["Dr Jane Heart"]
        assert member_names(store, "Nurses") == ["DrBob"]
        assert "1 member(s)" in screen_text(app)
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
        await open_curator(pilot, app)
        await pilot.press("y")  # the sync panel, full screen
        await settle(pilot)
        text = screen_text(app)
        for expected in ("Mastodon list 42 (account med): last sync 2026-11-27 12:00, "
                         "complete", "+ new@heart.example", "changed since",
                         "rounds lists sync Cardiologists --dry-run",
                         "mastodon add jane@cardio.example done",
                         "mastodon remove old@gone.example done"):
            assert expected in text, text
        assert "- old@gone.example" not in text  # removed by the last sync
        await pilot.press("escape")
        assert isinstance(app.screen, CuratorScreen) and app.screen.maximized is None
    remote.fail_adds = True
    sync_once(store, remote)  # stops at the 429
    app = make(seeded, store)
    async with app.run_test(size=(120, 50)) as pilot:
        await open_curator(pilot, app)
        text = screen_text(app)
        assert "last sync 2026-11-27 12:00, incomplete: stopped" in text, text
        assert "mastodon sync failed (mastodon: 429 Too Many Requests)" in text
        assert "incomplete" in str(curator_screen(app).list_menu.get_option_at_index(0).prompt)


async def test_without_a_curator_the_key_says_so(seeded: Seeder) -> None:
    app = make(seeded, None)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert app.screen is app.main_screen
        assert "curation not available" in screen_text(app)


async def test_strangers_names_are_inert(seeded: Seeder, store: CurationStore) -> None:
    store.create_list(MARKUP)
    evil = store.add_voice(f"{MARKUP} \x1b[2J\u202eevil", [("twitter", "evil")],
                           role="[b]x[/b]")
    store.add_member("Cardiologists", evil, "lists add Cardiologists")
    app = make(seeded, store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_curator(pilot, app)
        text = screen_text(app)
        assert MARKUP in text and f"{MARKUP} evil" in text and "[b]x[/b]" in text, text
        await pilot.click("#members", offset=(3, 1))  # a live [@click] would quit here
        await pilot.click("#curator-lists", offset=(3, 0))
        await pilot.press("tab", "d")
        await settle(pilot)
        assert app.is_running and screen.is_attached
        svg = app.export_screenshot()
        assert "\x1b" not in svg and "\u202e" not in svg


async def test_curator_snapshot_80x24(seeded: Seeder, store: CurationStore) -> None:
    app = make(seeded, store)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_curator(pilot, app)
        compare(app, "curator_80x24")


async def test_rounds_read_wires_the_curator(seeded: Seeder, store: CurationStore) -> None:
    from aggregator.cli.app import AppContext
    from aggregator.cli.read import build_reader_app

    ctx = AppContext(database_url=seeded.url, environ={}, clock=seeded.clock)
    app = build_reader_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await open_curator(pilot, app)
        assert "Dr Jane Heart" in screen_text(app)
        await pilot.press("tab", "d", "y")
        await settle(pilot)
    assert member_names(store, "Cardiologists") == ["DrBob"]
    assert store.history("Cardiologists")[-1].command == "reader"
    ctx.db.dispose()
