"""Conversations in the archive: context posts stay out of views and unread counts, are
found by search and exported with --context, become ordinary posts when a source brings
them; a stored thread is assembled from the archive alone (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner

from aggregator.clock import ManualClock
from aggregator.export import ExportFilter, iter_records
from aggregator.models import Author, Page, Post, Target
from aggregator.reader.feed import StorageFeedReader, View
from aggregator.settings import AccountSettings, Settings, SourceSettings
from aggregator.storage.db import Database
from aggregator.storage.repository import Repository
from aggregator.storage.threads import save_context, thread_of

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
BASE = "https://med.example/users/doc/statuses/"


def who(n: int) -> Author:
    return Author("mastodon", f"doc{n}@med.example", f"doc{n}@med.example", f"Dr {n}",
                  remote_id=str(100 + n))


AUTHORS = {1: 1, 5: 2, 10: 1, 12: 3}  # post number -> its author


def toot(n: int, text: str, parent: int | None = None, *, author: int = 1) -> Post:
    """Post `n`; a reply names its parent by remote id and the parent's author by key."""
    return Post("mastodon", f"{BASE}{n}", str(n), f"https://med.example/@doc/{n}", who(author),
                NOW - timedelta(minutes=100 - n), text, "{}",
                reply_to_id=str(parent) if parent else None,
                reply_to_author=f"doc{AUTHORS.get(parent, 1)}@med.example" if parent else None)


def setup(db: Database) -> tuple[Repository, StorageFeedReader, int]:
    clock = ManualClock(NOW)
    repo = Repository(db, clock)
    settings = Settings(path=None, database_url="", accounts={
        "med": AccountSettings("med", "mastodon", "https://med.example")},
        sources=(SourceSettings("cardio", "med", Target("list", "1")),))
    ids = repo.sync_sources(settings)
    repo.save_page(ids["cardio"], Page((toot(10, "the collected post", 5),), None), [[]])
    reader = StorageFeedReader(db, repo, settings, clock, {})
    return repo, reader, ids["cardio"]


def collected_id(db: Database, n: int) -> int:
    rows = list(iter_records(db, ExportFilter(context=True)))
    keys = [r["key"] for r in rows]
    assert f"{BASE}{n}" in keys
    from sqlalchemy import select

    from aggregator.storage.schema import posts
    with db.engine.connect() as conn:
        return int(conn.execute(select(posts.c.id).where(posts.c.key == f"{BASE}{n}"))
                   .scalar_one())


def test_context_posts_are_in_no_view_and_no_count_but_searchable(db: Database) -> None:
    repo, reader, _ = setup(db)
    focus = collected_id(db, 10)
    new = save_context(repo, focus, [toot(1, "root of the thread"),
                                     toot(5, "the parent", 1, author=2),
                                     toot(12, "a reply about statins", 10, author=3)],
                       [("4", "deleted")])
    assert new == 3
    for view in ("all", "unread", "network:mastodon", "source:1"):
        shown = [r.text for r in reader.list_posts(view, "", before=None, limit=50)]
        assert shown == ["the collected post"], view
    counts = reader.count_views([View("all", "All"), View("unread", "Unread"),
                                 View("network:mastodon", "Mastodon")])
    assert counts == {"all": 1, "unread": 1, "network:mastodon": 1}
    exported = [r["text"] for r in iter_records(db, ExportFilter())]
    assert exported == ["the collected post"]
    with_context = [r["text"] for r in iter_records(db, ExportFilter(context=True))]
    assert "a reply about statins" in with_context and len(with_context) == 4
    # the thread, from the archive alone
    thread = reader.thread(focus)
    lines = [(p.depth, p.text, p.focus) for p in thread.posts]
    assert lines == [(0, "root of the thread", False), (1, "the parent", False),
                     (2, "the collected post", True), (3, "a reply about statins", False)]
    assert thread.fetched_at == NOW
    assert [p.context for p in thread.posts] == [True, True, False, True]


def test_a_missing_parent_is_shown_as_such(db: Database) -> None:
    repo, reader, _ = setup(db)
    focus = collected_id(db, 10)
    before = reader.thread(focus)
    assert before.fetched_at is None
    assert (before.posts[0].post_id, before.posts[0].state) == (None, "unavailable")
    save_context(repo, focus, [], [("5", "deleted")])
    after = reader.thread(focus)
    assert (after.posts[0].post_id, after.posts[0].state) == (None, "deleted")
    assert after.posts[1].focus


def test_a_context_post_brought_by_a_source_joins_the_views(db: Database) -> None:
    repo, reader, source_id = setup(db)
    focus = collected_id(db, 10)
    save_context(repo, focus, [toot(12, "a reply", 10, author=3)], [])
    assert len(reader.list_posts("all", "", before=None, limit=50)) == 1
    repo.save_page(source_id, Page((toot(12, "a reply", 10, author=3),), None), [[]])
    shown = [r.text for r in reader.list_posts("all", "", before=None, limit=50)]
    assert shown == ["a reply", "the collected post"]
    assert reader.count_views([View("unread", "Unread")]) == {"unread": 2}
    assert not next(p for p in reader.thread(focus).posts if p.text == "a reply").context


def test_export_context_flag_and_search_include_context(db: Database) -> None:
    repo, _, _ = setup(db)
    save_context(repo, collected_id(db, 10), [toot(12, "statins in context", 10)], [])
    from aggregator.cli.app import rounds

    url = ["--database-url", db.engine.url.render_as_string(hide_password=False)]
    runner = CliRunner()
    plain = runner.invoke(rounds, [*url, "export"])
    assert plain.exit_code == 0, plain.output
    assert "statins in context" not in plain.output
    full = runner.invoke(rounds, [*url, "export", "--context"])
    assert full.exit_code == 0, full.output
    assert [json.loads(line)["text"] for line in full.output.splitlines()] == [
        "the collected post", "statins in context"]
    found = runner.invoke(rounds, [*url, "search", "--json", "statins"])
    assert found.exit_code == 0, found.output
    assert "statins in context" in found.output
    assert thread_of(db, collected_id(db, 10)).replies == 1
