"""Catch-up on SQLite and PostgreSQL: counts stored and refreshed, the window since the
mark, groups by author and voice, notable posts first, mutes left out, marking read."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from aggregator.clock import ManualClock
from aggregator.curation.store import CurationStore
from aggregator.models import Author, Page, Post, Target
from aggregator.reader.catchup import STATE_MARK, Catchup, StorageCatchup
from aggregator.settings import AccountSettings, Settings, SourceSettings
from aggregator.storage.db import Database
from aggregator.storage.mutes import add_mute
from aggregator.storage.repository import Repository
from aggregator.storage.schema import posts
from tests.tui.seed import NOW, post

JANE = Author("mastodon", "jane@cardio.example", "jane@cardio.example", "Dr Jane Heart")
JANE_X = Author("twitter", "4242", "janeheart", "Jane H")
ALI = Author("mastodon", "ali@med.example", "ali@med.example", "Ali Renal")
SAM = Author("bluesky", "did:plc:sam", "sam.bsky.social", "Sam Onc")
ME = Author("bluesky", "did:plc:me", "me.bsky.social", "Me")


def settings() -> Settings:
    return Settings(path=None, database_url="", accounts={
        "med": AccountSettings("med", "mastodon", "https://med.example"),
        "x": AccountSettings("x", "twitter", "https://api.twitter.com"),
        "sky": AccountSettings("sky", "bluesky", "https://bsky.social",
                               handle="me.bsky.social", app_password_env="BSKY_PW"),
    }, sources=(SourceSettings("cardio", "med", Target("list", "1")),
                SourceSettings("x-list", "x", Target("list", "9")),
                SourceSettings("sky-feed", "sky", Target("list", "at://l"))))


def counted(n: int, who: Author, likes: int | None, boosts: int | None = 0, **kw: object
            ) -> Post:
    network = who.network
    p = post(n, network="twitter" if network == "twitter" else "mastodon", who=who,
             text=f"{who.display_name} post {n}", like_count=likes, boost_count=boosts,
             reply_count=None if likes is None else 1, **kw)  # type: ignore[arg-type]
    return replace(p, network=network, key=f"{network}:{n}") if network == "bluesky" else p


class Archive:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.clock = ManualClock(NOW - timedelta(days=3))
        self.repo = Repository(db, self.clock)
        self.settings = settings()
        self.ids = self.repo.sync_sources(self.settings)
        self.catchups = StorageCatchup(db, self.repo, self.settings, self.clock)

    def save(self, source: str, page: list[Post]) -> None:
        self.repo.save_page(self.ids[source], Page(tuple(page), None), [[] for _ in page])

    def catch_up(self) -> Catchup:
        return self.catchups.catch_up()


@pytest.fixture
def archive(db: Database) -> Archive:
    a = Archive(db)
    # three days ago: Jane's usual posts (about 10 boosts + likes each), read
    a.save("cardio", [counted(100 + i, JANE, 8, 2) for i in range(5)]
           + [counted(110, ALI, 1, 0)])
    with db.engine.begin() as conn:
        conn.execute(posts.update().values(is_read=True))
    a.clock.advance(3 * 86400 - 7200)
    a.save("cardio", [counted(1, JANE, 9, 1), counted(2, JANE, 70, 20),  # 9x her usual
                      counted(3, ALI, 2, 0), counted(4, ALI, 0, 0)])
    a.save("x-list", [counted(5, JANE_X, 3, 1)])
    a.save("sky-feed", [counted(6, SAM, 5, 5),
                        counted(7, SAM, 0, 0, mentions=("me.bsky.social",)),
                        counted(8, SAM, 0, 0, reply_to_id="at://me/1",
                                reply_to_author="did:plc:me"),
                        counted(9, ME, 0, 0)])  # my own account, stored: replies to me
    a.clock.advance(7200)
    return a


def texts(c: Catchup) -> dict[str, list[str]]:
    return {g.title: [p.text.rsplit(" ", 1)[1] for p in g.posts] for g in c.groups}


def test_counts_are_stored_and_a_post_seen_again_refreshes_them(archive: Archive) -> None:
    archive.save("cardio", [counted(2, JANE, 95, 30), counted(3, ALI, None, None)])
    with archive.db.engine.connect() as conn:
        rows = {r.text.rsplit(" ", 1)[1]: (r.reply_count, r.boost_count, r.like_count)
                for r in conn.execute(select(posts).where(posts.c.author_id.isnot(None)))}
    assert rows["2"] == (1, 30, 95)  # the network's newer counts
    assert rows["3"] == (1, 0, 2)  # sent again without counts: kept


def test_groups_by_author_with_counts_notable_first(archive: Archive) -> None:
    c = archive.catch_up()
    assert c.origin == "default" and c.since == NOW - timedelta(hours=24)
    assert c.total == 9
    by_title = {g.title: g for g in c.groups}
    assert by_title["Dr Jane Heart"].count == 2 and by_title["Ali Renal"].count == 2
    # Jane's 90-boosts-and-likes post against her usual (median 10): first, and notable
    assert texts(c)["Dr Jane Heart"] == ["2", "1"]
    jane_top = by_title["Dr Jane Heart"].posts[0]
    assert jane_top.lift == 9.0 and by_title["Dr Jane Heart"].notable == 1
    assert texts(c)["Ali Renal"] == ["3", "4"]


def test_posts_to_you_come_first_and_their_group_leads(archive: Archive) -> None:
    c = archive.catch_up()
    assert c.groups[0].title == "Sam Onc" and c.groups[0].to_you == 2
    assert texts(c)["Sam Onc"] == ["7", "8", "6"]  # to you (newest first), then the rest
    assert [p.to_you for p in c.groups[0].posts] == [True, True, False]


def test_a_curated_voice_gathers_its_identities(archive: Archive) -> None:
    store = CurationStore(archive.db, archive.clock)
    store.add_voice("Jane Heart, MD", [("mastodon", "jane@cardio.example"),
                                       ("twitter", "janeheart")])
    c = archive.catch_up()
    jane = next(g for g in c.groups if g.title == "Jane Heart, MD")
    assert jane.count == 3 and set(jane.networks) == {"mastodon", "twitter"}
    assert "Dr Jane Heart" not in texts(c)


def test_since_given_and_mutes_left_out(archive: Archive) -> None:
    assert archive.catchups.catch_up(NOW - timedelta(hours=1)).groups == ()
    add_mute(archive.db, "author", "ali@med.example", network="mastodon", now=NOW,
             origin="reader")
    c = archive.catch_up()
    assert "Ali Renal" not in texts(c) and c.total == 7
    assert archive.catchups.count() == 7


def test_marking_groups_read_moves_the_mark_when_none_is_left(archive: Archive) -> None:
    c = archive.catch_up()
    assert archive.catchups.mark_read(c, "author:999999") == 0
    first, *rest = c.groups
    assert archive.catchups.mark_read(c, first.id) == first.count
    assert archive.repo.get_app_state(STATE_MARK) is None  # others left
    after = archive.catch_up()
    assert [g.id for g in after.groups] == [g.id for g in rest]
    for g in rest:
        archive.catchups.mark_read(c, g.id)
    assert archive.repo.get_app_state(STATE_MARK) == NOW.isoformat()
    archive.clock.advance(600)
    archive.save("cardio", [counted(50, ALI, 1, 0)])  # arrives after the mark
    later = archive.catch_up()
    assert later.origin == "mark" and later.since == NOW and texts(later) == {"Ali Renal": ["50"]}


def test_an_old_mark_reaches_back_at_most_max_days(archive: Archive) -> None:
    archive.repo.set_app_state(STATE_MARK, (NOW - timedelta(days=90)).isoformat())
    c = archive.catch_up()
    assert c.origin == "mark" and c.since == NOW - timedelta(days=30)
    assert c.total == 9  # the posts read three days ago stay out
