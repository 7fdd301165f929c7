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


def test_a_curated_source_on_bluesky_reads_the_list_and_members_by_did(
        db: Database, clock: ManualClock) -> None:
    config = {"accounts": {"sky": {"network": "bluesky"}},
              "sources": [{"name": "Cardio", "account": "sky", "curated": "Cardio"}]}
    did_a, did_b = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb"
    store = CurationStore(db, clock)
    store.create_list("Cardio", topics=["cardiology"])
    for handle, did in (("alice.example.org", did_a), ("bob.example.org", did_b)):
        store.add_member("Cardio", store.voice_for_account("bluesky", handle, did), "c")
    store.add_member("Cardio", store.ensure_voice("bluesky", "carol.example.org"), "c")
    lst = store.save_link("Cardio", RemoteLink("bluesky", "sky", f"{did_a}/3kabc"))
    # alice is on the remote list under a handle she has since changed: still her
    save_snapshot(store, lst.id, "bluesky", [RemoteMember("old-alice.example.org", did_a)])
    settings = expand_curated(parse_settings(config, Path("rounds.toml"), {}), store)
    got = {(s.name, s.target) for s in settings.sources}
    assert got == {
        ("Cardio", Target("list", f"at://{did_a}/app.bsky.graph.list/3kabc")),
        ("Cardio @bob.example.org", Target("user", did_b)),
        ("Cardio @carol.example.org", Target("user", "carol.example.org")),
    }
    bob = store.find_voice("bluesky", did_b)
    assert bob is not None
    store.edit_voice(bob.id, topics=["cardiology"])
    author = Author("bluesky", did_b, "bobby.example.org", "Bob")  # posts under a new handle
    lookup = voice_topics_of(store)
    assert lookup(Post("bluesky", "k", "1", "", author, datetime(2026, 1, 1, tzinfo=UTC),
                       "text", "{}")) == ("cardiology",)
