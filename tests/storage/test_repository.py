"""The write path: pages stored once, cursors committed with their posts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from aggregator.clock import ManualClock
from aggregator.models import Author, Boost, Page, Post, SourceState, Target
from aggregator.service import SourceMatch
from aggregator.settings import AccountSettings, Settings, SourceSettings
from aggregator.storage.archive_schema import post_versions
from aggregator.storage.db import Database
from aggregator.storage.repository import Repository
from aggregator.storage.schema import boosts, post_sources, post_topics, posts

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
