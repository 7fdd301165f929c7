"""Mutes as SQL, on SQLite and PostgreSQL: what each kind hides, what it leaves alone."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aggregator.clock import ManualClock
from aggregator.errors import StorageError
from aggregator.models import Author, Page
from aggregator.query import parse_query
from aggregator.storage import queries
from aggregator.storage.db import Database
from aggregator.storage.mutes import add_mute, author_of, list_mutes, muted_clause, remove_mute
from aggregator.storage.mutes import unmuted as unmuted_clause
from aggregator.storage.repository import Repository
from tests.tui.seed import NOW, post, settings_for

SPAMMER = Author("mastodon", "spam@junk.example", "spam@junk.example", "Spam Bot")
SAME_HANDLE_ON_X = Author("twitter", "777", "spam@junk.example", "Not the spammer")


@pytest.fixture
def archive(db: Database) -> Database:
    repo = Repository(db, ManualClock(NOW))
    ids = repo.sync_sources(settings_for("unused"))
    page = [
        post(1, who=SPAMMER, text="Buy now"),
        post(2, who=SPAMMER, text="Buy again"),
        post(3, network="twitter", who=SAME_HANDLE_ON_X, text="A tweet about statins"),
        post(4, text="New #HeartFailure data", hashtags=("HeartFailure",)),
        post(5, text="A #healthcare post", hashtags=("healthcare",)),
        post(6, text="Underscores #heart_failure", hashtags=("heart_failure",)),
        post(7, text="Crypto crypto crypto", lang="en"),
        post(8, text="No language given", lang=None),
        post(9, text="Emoji tag #Café", hashtags=("Café",)),
    ]
    repo.save_page(ids["cardiology"], Page(tuple(p for p in page if p.network == "mastodon"),
                                           None), [[] for p in page if p.network == "mastodon"])
    repo.save_page(ids["x-health"], Page((page[2],), None), [[]])
    return db


def shown(db: Database, clause: object) -> list[str]:
    where = None if clause is None else unmuted_clause(clause)  # type: ignore[arg-type]
    return sorted(r.text for r in queries.list_posts(db, where, limit=100))


def hidden(db: Database, clause: object) -> list[str]:
    return sorted(r.text for r in queries.list_posts(db, clause, limit=100))  # type: ignore[arg-type]


def test_an_author_mute_is_by_network_and_key_not_by_handle(archive: Database) -> None:
    spam_post = next(r for r in queries.list_posts(archive, None) if r.text == "Buy now")
    network, key, handle = author_of(archive, spam_post.id)
    mute, new = add_mute(archive, "author", key, network=network, label=handle, now=NOW,
                         origin="reader")
    assert new and mute.shown == "@spam@junk.example"
    clause = muted_clause([mute], [], archive.dialect)
    assert hidden(archive, clause) == ["Buy again", "Buy now"]
    assert "A tweet about statins" in shown(archive, clause)  # same handle, other network


def test_a_hashtag_mute_ignores_case_and_matches_whole_tags(archive: Database) -> None:
    mute, _ = add_mute(archive, "tag", "heartfailure", now=NOW, origin="reader")
    assert hidden(archive, muted_clause([mute], [], archive.dialect)) == ["New #HeartFailure data"]
    care, _ = add_mute(archive, "tag", "care", now=NOW, origin="reader")
    assert hidden(archive, muted_clause([care], [], archive.dialect)) == []  # not #healthcare
    under, _ = add_mute(archive, "tag", "heart_failure", now=NOW, origin="reader")
    # `_` is a LIKE wildcard: escaped, it matches itself only
    assert hidden(archive, muted_clause([under], [], archive.dialect)) == [
        "Underscores #heart_failure"]
    cafe, _ = add_mute(archive, "tag", "café", now=NOW, origin="reader")
    assert hidden(archive, muted_clause([cafe], [], archive.dialect)) == ["Emoji tag #Café"]


def test_query_mutes_and_posts_without_a_language(archive: Database) -> None:
    words = parse_query("crypto", now=NOW)
    assert hidden(archive, muted_clause([], [words], archive.dialect)) == ["Crypto crypto crypto"]
    lang = parse_query("lang:en", now=NOW)
    clause = muted_clause([], [lang], archive.dialect)
    assert "No language given" in shown(archive, clause)  # NULL lang: unknown, so it shows
    assert "Crypto crypto crypto" not in shown(archive, clause)
    both = muted_clause([], [parse_query("-lang:en", now=NOW)], archive.dialect)
    assert "Crypto crypto crypto" in shown(archive, both)


def test_several_mutes_hide_the_union_and_counts_follow(archive: Database) -> None:
    tag, _ = add_mute(archive, "tag", "healthcare", now=NOW, origin="reader")
    clause = muted_clause([tag], [parse_query("statins", now=NOW)], archive.dialect)
    assert hidden(archive, clause) == ["A #healthcare post", "A tweet about statins"]
    assert queries.count_posts(archive, clause) == 2
    assert queries.count_posts(archive, unmuted_clause(clause)) == 7
    assert muted_clause([], [], archive.dialect) is None


def test_add_is_idempotent_expired_ones_are_replaced_and_remove_says_what(
        archive: Database) -> None:
    first, new = add_mute(archive, "tag", "asco", now=NOW, origin="reader",
                          until=NOW + timedelta(days=1))
    again, new_again = add_mute(archive, "tag", "asco", now=NOW, origin="cli",
                                until=NOW + timedelta(hours=1))
    assert new and not new_again and again.id == first.id
    longer, replaced = add_mute(archive, "tag", "asco", now=NOW, origin="cli")
    assert replaced and longer.until is None
    assert [m.id for m in list_mutes(archive)] == [longer.id]
    later = NOW + timedelta(days=2)
    short, _ = add_mute(archive, "query", "crypto", now=NOW, origin="cli",
                        until=NOW + timedelta(days=1))
    assert [m.value for m in list_mutes(archive, active_at=later)] == ["asco"]
    assert short in list_mutes(archive)  # expired mutes stay listed until removed
    assert remove_mute(archive, short.id or 0).shown == "crypto"
    with pytest.raises(StorageError, match="no mute with id 999"):
        remove_mute(archive, 999)


def test_author_of_an_unknown_post_is_an_error(archive: Database) -> None:
    with pytest.raises(StorageError, match="no post with id"):
        author_of(archive, 10_000)
