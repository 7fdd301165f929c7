"""Curated lists and their membership history, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest

from aggregator.clock import ManualClock
from aggregator.curation.store import CurationStore
from aggregator.errors import CurationError
from aggregator.storage.db import Database

DAY = 86400.0


def names(voices: list) -> list[str]:  # type: ignore[type-arg]
    return [v.identities[0].handle for v in voices]


def test_history_answers_who_was_on_a_list_on_a_date(db: Database, clock: ManualClock) -> None:
    store = CurationStore(db, clock)  # the clock starts on 2026-11-27
    store.create_list("Nurses")
    store.create_list("Physicians")
    alice = store.ensure_voice("mastodon", "alice@example.social")
    bob = store.ensure_voice("twitter", "DrBob")
    store.add_member("Nurses", alice, "lists add Nurses")
    clock.advance(DAY)  # 11-28
    store.add_member("Nurses", bob, "lists add Nurses")
    clock.advance(DAY)  # 11-29
    store.move_member("Nurses", "Physicians", alice, "lists move Nurses Physicians")
    clock.advance(DAY)  # 11-30
    store.remove_member("Nurses", bob, "lists remove Nurses")

    assert names(store.members_on("Nurses", date(2026, 11, 26))) == []
    assert names(store.members_on("Nurses", date(2026, 11, 27))) == ["alice@example.social"]
    assert sorted(names(store.members_on("Nurses", date(2026, 11, 28))), key=str.lower) == [
        "alice@example.social", "DrBob"]
    assert names(store.members_on("Nurses", date(2026, 11, 29))) == ["DrBob"]
    assert names(store.members_on("Nurses", date(2026, 11, 30))) == []
    assert names(store.members_on("Physicians", date(2026, 11, 29))) == ["alice@example.social"]
    assert store.members("Nurses") == []

    events = store.history("Nurses")
    assert [(e.action, e.present, e.detail) for e in events] == [
        ("added", True, ""), ("added", True, ""), ("moved", False, "to Physicians"),
        ("removed", False, "")]
    assert events[2].command == "lists move Nurses Physicians"
    assert [e.action for e in store.history("Physicians")] == ["moved"]


def test_history_survives_a_rename(db: Database, clock: ManualClock) -> None:
    store = CurationStore(db, clock)
    store.create_list("Old")
    store.add_member("Old", store.ensure_voice("twitter", "DrBob"), "lists add Old")
    store.rename_list("Old", "New")
    assert names(store.members_on("New", date(2026, 11, 27))) == ["DrBob"]
    with pytest.raises(CurationError, match="no curated list named 'Old'"):
        store.members("Old")


def test_adding_twice_records_once(db: Database, clock: ManualClock) -> None:
    store = CurationStore(db, clock)
    store.create_list("L")
    bob = store.ensure_voice("twitter", "DrBob")
    assert store.add_member("L", bob, "c") is True
    assert store.add_member("L", bob, "c") is False
    assert store.remove_member("L", store.ensure_voice("twitter", "other"), "c") is False
    assert len(store.history("L")) == 1


def test_a_handle_belongs_to_one_voice_and_link_joins_two(db: Database,
                                                           clock: ManualClock) -> None:
    store = CurationStore(db, clock)
    store.create_list("L")
    masto = store.ensure_voice("mastodon", "@Alice@Example.social")
    x = store.ensure_voice("twitter", "@DrAlice")
    store.add_member("L", x, "c")
    assert store.ensure_voice("mastodon", "alice@example.social").id == masto.id
    with pytest.raises(CurationError, match="already belongs to voice"):
        store.add_voice("Someone", [("twitter", "dralice")])
    joined = store.link(masto, x)
    assert {i.handle for i in joined.identities} == {"Alice@example.social", "DrAlice"}
    assert [v.id for v in store.members("L")] == [masto.id]
    split = store.unlink("twitter", "DrAlice")
    assert split.id != masto.id and store.get_voice(masto.id).on("twitter") is None


def test_duplicate_and_unknown_lists_are_clear_errors(db: Database, clock: ManualClock) -> None:
    store = CurationStore(db, clock)
    store.create_list("L")
    with pytest.raises(CurationError, match="already exists"):
        store.create_list("L")
    with pytest.raises(CurationError, match=r"known: L"):
        store.get_list("M")
    store.delete_list("L")
    assert store.list_lists() == []


def test_a_bluesky_account_is_known_by_its_did(db: Database, clock: ManualClock) -> None:
    store = CurationStore(db, clock)
    did = "did:plc:ragtjsm2j2vknwkz3zp4oxrd"
    typed = store.ensure_voice("bluesky", did)  # typed as its DID: resolved already
    assert typed.identities[0].remote_id == did
    voice = store.voice_for_account("bluesky", "pfrazee.com", did, "Paul Frazee")
    assert voice.id == typed.id and voice.identities[0].handle == "pfrazee.com"
    renamed = store.voice_for_account("bluesky", "paul.example.org", did)
    assert renamed.id == typed.id and renamed.identities[0].handle == "paul.example.org"
    assert store.find_voice("bluesky", did) == renamed
    assert store.find_voice("bluesky", "pfrazee.com") is None
    with pytest.raises(CurationError, match="is now another account"):  # a reused handle
        store.voice_for_account("bluesky", "paul.example.org", "did:plc:someoneelse0000000000000")
