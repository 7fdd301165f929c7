"""`curated = "LIST"` sources: what they collect, and the voice-topic signal."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from aggregator.clock import ManualClock
from aggregator.curation.model import RemoteLink
from aggregator.curation.remote import RemoteMember
from aggregator.curation.sources import expand_curated, voice_topics_of
from aggregator.curation.store import CurationStore
from aggregator.curation.sync import save_snapshot
from aggregator.models import Author, Post, Target
from aggregator.settings import parse_settings
from aggregator.storage.db import Database

CONFIG = {
    "accounts": {"work": {"network": "mastodon", "base_url": "https://med.example",
                          "token_env": "T"},
                 "me": {"network": "twitter", "bearer_token_env": "B"}},
    "sources": [{"name": "Nurses", "account": "work", "curated": "Nurses",
                 "topics": ["oncology"]},
                {"name": "Nurses on X", "account": "me", "curated": "Nurses"},
                {"name": "tag", "account": "work", "hashtag": "MedTwitter"}],
}


def test_a_curated_source_collects_the_linked_list_and_unsynced_members(
        db: Database, clock: ManualClock) -> None:
    store = CurationStore(db, clock)
    store.create_list("Nurses", topics=["nursing"])
    for handle in ("alice@example.social", "bob@med.example"):
        store.add_member("Nurses", store.ensure_voice("mastodon", handle), "c")
    store.add_member("Nurses", store.ensure_voice("twitter", "CarolRN"), "c")
    lst = store.save_link("Nurses", RemoteLink("mastodon", "work", "42"))
    save_snapshot(store, lst.id, "mastodon", [RemoteMember("alice@example.social", "1")])
    settings = expand_curated(parse_settings(CONFIG, Path("rounds.toml"), {}), store)
    got = {(s.name, s.account, s.target, s.topics) for s in settings.sources}
    assert got == {
        ("Nurses", "work", Target("list", "42"), ("oncology", "nursing")),
        ("Nurses @bob@med.example", "work", Target("user", "bob@med.example"),
         ("oncology", "nursing")),
        ("Nurses on X @CarolRN", "me", Target("user", "CarolRN"), ("nursing",)),
        ("tag", "work", Target("hashtag", "MedTwitter"), ()),
    }


def test_posts_from_a_voice_carry_its_topics(db: Database, clock: ManualClock) -> None:
    store = CurationStore(db, clock)
    store.add_voice("Alice", [("mastodon", "Alice@Example.social"), ("twitter", "DrAlice")],
                    topics=["oncology"])
    store.save_remote_id("twitter", "DrAlice", "777")
    lookup = voice_topics_of(store)

    def post(network: str, key: str, handle: str) -> Post:
        author = Author(network, key, handle, "A")  # type: ignore[arg-type]
        return Post(network, "k", "1", "", author,  # type: ignore[arg-type]
                    datetime(2026, 1, 1, tzinfo=UTC), "text", "{}")

    assert lookup(post("mastodon", "alice@example.social", "alice@example.social")) == (
        "oncology",)
    assert lookup(post("twitter", "777", "DrAlice_renamed")) == ("oncology",)
    assert lookup(post("twitter", "999", "someone")) == ()
