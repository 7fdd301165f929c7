"""The write path: pages stored once, cursors committed with their posts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from aggregator.clock import ManualClock
from aggregator.models import Author, Boost, Media, Page, Post, SourceState, Target
from aggregator.service import SourceMatch
from aggregator.settings import AccountSettings, Settings, SourceSettings
from aggregator.storage.archive_schema import post_versions
from aggregator.storage.db import Database
from aggregator.storage.rawjson import decode_raw
from aggregator.storage.repository import Repository
from aggregator.storage.schema import accounts, boosts, post_sources, post_topics, posts

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)


def author(name: str = "drjane") -> Author:
    return Author("mastodon", f"{name}@med.example", f"{name}@med.example", name.title())


def post(n: int, who: str = "drjane", **kw: object) -> Post:
    return Post(network="mastodon", key=f"https://med.example/statuses/{n}",
                remote_id=str(10**17 + n), url=f"https://med.example/@{who}/{n}",
                author=author(who), created_at=T0 + timedelta(minutes=n),
                text=f"post {n}", raw="{}", **kw)  # type: ignore[arg-type]


def settings(tmp: Path) -> Settings:
    acc = AccountSettings("med", "mastodon", "https://med.example")
    return Settings(path=None, database_url="", accounts={"med": acc}, sources=(
        SourceSettings("cardio", "med", Target("hashtag", "cardiology")),
        SourceSettings("fda", "med", Target("user", "FDA@mastodon.social")),
    ))


def count(db: Database, table: object) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_same_page_twice_is_stored_once(db: Database, clock: ManualClock, tmp_path: Path) -> None:
    repo = Repository(db, clock)
    ids = repo.sync_sources(settings(tmp_path))
    page = Page(tuple(post(n) for n in range(5)), SourceState(cursor=str(10**17 + 4)))
    first = repo.save_page(ids["cardio"], page)
    again = repo.save_page(ids["cardio"], page)
    assert (first.new, first.existing) == (5, 0)
    assert (again.new, again.existing) == (0, 5)
    assert count(db, posts) == 5
    assert repo.get_state(ids["cardio"]).cursor == str(10**17 + 4)


def test_post_brought_by_two_sources_is_one_post_with_two_sources(
        db: Database, clock: ManualClock, tmp_path: Path) -> None:
    repo = Repository(db, clock)
    ids = repo.sync_sources(settings(tmp_path))
    repo.save_page(ids["cardio"], Page((post(1),), None), [[SourceMatch("cardiology")]])
    result = repo.save_page(ids["fda"], Page((post(1),), None), [[SourceMatch("pharma")]])
    assert result.existing == 1
    assert count(db, posts) == 1
    assert count(db, post_sources) == 2
    with db.engine.connect() as conn:
        topics = sorted(conn.execute(select(post_topics.c.topic)).scalars())
    assert topics == ["cardiology", "pharma"]


def test_page_without_state_keeps_the_cursor(db: Database, clock: ManualClock,
                                             tmp_path: Path) -> None:
    repo = Repository(db, clock)
    ids = repo.sync_sources(settings(tmp_path))
    repo.save_page(ids["cardio"], Page((post(1),), SourceState(cursor="5")))
    repo.save_page(ids["cardio"], Page((post(2),), None))
    assert repo.get_state(ids["cardio"]).cursor == "5"


def test_boosts_are_recorded_once_per_booster(db: Database, clock: ManualClock,
                                              tmp_path: Path) -> None:
    repo = Repository(db, clock)
    ids = repo.sync_sources(settings(tmp_path))
    b1 = Boost(author("nurse"), "900", T0)
    b2 = Boost(author("pharm"), "901", T0)
    repo.save_page(ids["cardio"], Page((post(1, boosts=(b1,)), post(1, boosts=(b2,))), None))
    repo.save_page(ids["cardio"], Page((post(1, boosts=(b1,)),), None))
    assert count(db, posts) == 1
    assert count(db, boosts) == 2


def test_edit_replaces_text_but_keeps_read_state(db: Database, clock: ManualClock,
                                                 tmp_path: Path) -> None:
    repo = Repository(db, clock)
    ids = repo.sync_sources(settings(tmp_path))
    repo.save_page(ids["cardio"], Page((post(1),), None))
    with db.engine.connect() as conn:
        pid = conn.execute(select(posts.c.id)).scalar_one()
    repo.set_flags(pid, is_read=True, starred=True)
    edited = Post(**{**{f: getattr(post(1), f) for f in Post.__dataclass_fields__},
                     "text": "post 1 (corrected)", "edited_at": T0 + timedelta(hours=1)})
    repo.save_page(ids["cardio"], Page((edited,), None))
    with db.engine.connect() as conn:
        row = conn.execute(select(posts)).one()
        versions = conn.execute(select(post_versions.c.text)).scalars().all()
    assert row.text == "post 1 (corrected)"
    assert row.is_read and row.starred
    assert versions == ["post 1"]  # the earlier version is kept
    repo.save_page(ids["cardio"], Page((edited,), None))  # seen again: not a new edit
    assert count(db, post_versions) == 1


def test_changing_a_sources_target_resets_its_cursor(db: Database, clock: ManualClock,
                                                     tmp_path: Path) -> None:
    repo = Repository(db, clock)
    s = settings(tmp_path)
    ids = repo.sync_sources(s)
    repo.save_page(ids["cardio"], Page((), SourceState(cursor="77")))
    moved = Settings(path=None, database_url="", accounts=s.accounts, sources=(
        SourceSettings("cardio", "med", Target("hashtag", "heartfailure")),))
    assert repo.sync_sources(moved)["cardio"] == ids["cardio"]
    assert repo.get_state(ids["cardio"]).cursor is None


def test_huge_ids_and_hostile_text_round_trip(db: Database, clock: ManualClock,
                                              tmp_path: Path) -> None:
    repo = Repository(db, clock)
    ids = repo.sync_sources(settings(tmp_path))
    nasty = "'); DROP TABLE posts; -- \x1b]52;c;SGVsbG8=\x07 [b]bold[/b] \u202e"
    p = Post(**{**{f: getattr(post(1), f) for f in Post.__dataclass_fields__},
                "remote_id": "117020583223442465123", "text": nasty})
    repo.save_page(ids["cardio"], Page((p,), SourceState(cursor="117020583223442465123")))
    with db.engine.connect() as conn:
        row = conn.execute(select(posts)).one()
    assert row.text == nasty
    assert row.remote_id == "117020583223442465123"
    assert repo.get_state(ids["cardio"]).cursor == "117020583223442465123"


def test_boost_before_its_original_in_one_page_keeps_the_boost(
        db: Database, clock: ManualClock, tmp_path: Path) -> None:
    repo = Repository(db, clock)
    ids = repo.sync_sources(settings(tmp_path))
    boosted = post(1, boosts=(Boost(author("nurse"), "900", T0),))
    repo.save_page(ids["cardio"], Page((boosted, post(1)), None))  # newest first: boost first
    assert count(db, boosts) == 1


def test_a_page_reads_back_exactly_as_written(db: Database, clock: ManualClock,
                                              tmp_path: Path) -> None:
    """Every stored value comes back through SQLAlchemy as it went in: times in any zone
    (with and without microseconds) as the same instant in UTC, flags, JSON lists, topics,
    boosts; an author seen again with a new bio is updated."""
    repo = Repository(db, clock)
    ids = repo.sync_sources(settings(tmp_path))
    ist = timezone(timedelta(hours=5, minutes=30))
    when = datetime(2026, 11, 2, 8, 30, 5, 123456, tzinfo=ist)
    first = Post(network="mastodon", key="https://med.example/statuses/9",
                 remote_id="117020583223442465999", url="https://med.example/@drjane/9",
                 author=author(), created_at=when, text="Statins and ‘heart failure’ é",
                 raw='{"id":"117020583223442465999"}', lang="en", spoiler="CW",
                 reply_to_id="1", reply_to_author="nurse@med.example", quote_of="q",
                 hashtags=("Cardiology", "ÉpiDémio"), mentions=("nurse@med.example",),
                 links=("https://doi.org/10.1/x",),
                 media=(Media("image", "https://m.example/1.png", "an ECG"),),
                 boosts=(Boost(author("nurse"), "900", T0),),
                 edited_at=datetime(2026, 11, 2, 4, 0, tzinfo=UTC), sensitive=True)
    plain = post(2)
    repo.save_page(ids["cardio"], Page((first, plain), None), [
        [SourceMatch("cardiology", "hashtag", "#Cardiology", 3),
         SourceMatch("research_evidence", "content_type", "doi.org", 1)], []])
    clock.advance(60)
    renamed = Post(**{**{f: getattr(plain, f) for f in Post.__dataclass_fields__},
                      "key": "https://med.example/statuses/3",
                      "author": Author("mastodon", "drjane@med.example", "drjane@med.example",
                                       "Dr Jane", bio="cardiologist")})
    repo.save_page(ids["fda"], Page((renamed,), None))
    with db.engine.connect() as conn:
        rows = {r.key: r for r in conn.execute(select(posts))}
        topics = conn.execute(select(post_topics).order_by(post_topics.c.topic)).all()
        boost = conn.execute(select(boosts)).one()
        people = {r.key: r for r in conn.execute(select(accounts))}
        seen = conn.execute(select(post_sources.c.created_at, post_sources.c.first_seen)
                            .where(post_sources.c.post_id == rows[first.key].id)).one()
    row = rows[first.key]
    assert row.created_at == when and row.created_at.tzinfo == UTC
    assert row.edited_at == datetime(2026, 11, 2, 4, 0, tzinfo=UTC)
    assert row.deleted_at is None and row.first_seen == T0.replace(month=11, day=27)
    assert (row.text, row.spoiler, row.lang, decode_raw(row.raw)) == (
        first.text, "CW", "en", first.raw)
    assert (row.reply_to_id, row.reply_to_author, row.quote_of) == ("1", "nurse@med.example", "q")
    assert json.loads(row.hashtags) == ["Cardiology", "ÉpiDémio"]
    assert json.loads(row.mentions) == ["nurse@med.example"]
    assert json.loads(row.links) == ["https://doi.org/10.1/x"]
    assert json.loads(row.media) == [{"kind": "image", "url": "https://m.example/1.png",
                                      "alt_text": "an ECG"}]
    assert (row.has_link, row.has_media, row.sensitive, row.is_read, row.starred) == (
        True, True, True, False, False)
    assert not rows[plain.key].has_link and rows[plain.key].edited_at is None
    assert seen == (when, row.first_seen)
    assert [(t.topic, t.rule, t.matched, t.weight, t.created_at) for t in topics] == [
        ("cardiology", "hashtag", "#Cardiology", 3, when),
        ("research_evidence", "content_type", "doi.org", 1, when)]
    assert (boost.remote_id, boost.created_at, boost.post_id) == ("900", T0, row.id)
    jane = people["drjane@med.example"]
    assert (jane.display_name, jane.bio) == ("Dr Jane", "cardiologist")
    assert jane.updated_at == row.first_seen + timedelta(seconds=60)
    assert people["nurse@med.example"].updated_at == row.first_seen


def test_bulk_commits_whole_pages_by_size_and_by_time_and_a_failure_keeps_what_committed(
        db: Database, clock: ManualClock, tmp_path: Path) -> None:
    """An import's transactions: where the importer asks, once `commit_every` posts or
    `commit_seconds` on the clock are held, whole pages only; an exception (as a kill)
    loses only the pages since the last commit, and storing them again adds each post
    once."""
    repo = Repository(db, clock)
    source = repo.sync_sources(settings(tmp_path))["cardio"]
    pages = [Page(tuple(post(10 * p + i) for i in range(10)), None) for p in range(8)]

    with pytest.raises(KeyboardInterrupt), repo.bulk(commit_every=20,
                                                     commit_seconds=60) as writer:
        done = []
        for page in pages[:5]:
            writer.save_page(source, page)
            done.append(writer.due())
        assert done == [False, True, False, True, False]
        assert count(db, posts) == 40  # committed after pages 2 and 4, not page 5
        raise KeyboardInterrupt
    assert count(db, posts) == 40

    with repo.bulk(commit_every=1000, commit_seconds=60) as writer:
        writer.save_page(source, pages[4])
        assert not writer.due()
        clock.advance(61)  # a slow trickle of pages still commits
        writer.save_page(source, pages[5])
        assert writer.due() and count(db, posts) == 60
        writer.save_page(source, pages[6])
        assert not writer.due() and count(db, posts) == 60
    assert count(db, posts) == 70  # the end commits the rest

    with repo.bulk() as writer:  # again, with one page more: each post once
        new = sum(writer.save_page(source, page).new for page in pages)
    assert new == 10
    assert count(db, posts) == count(db, post_sources) == 80
