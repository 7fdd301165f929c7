"""Works on SQLite and PostgreSQL: stored with each page (both write paths), titled from the
posts, ranked by distinct voices (authors and boosters; a curated voice's accounts once)
with --since, --topic and --list, deleted posts left out; the backfill, interrupted and
resumed, finds the same works as on ingest and never duplicates."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from aggregator.clock import ManualClock
from aggregator.curation.store import CurationStore
from aggregator.errors import CurationError
from aggregator.models import Author, Boost, Page, Post
from aggregator.papers.backfill import STATE, backfill
from aggregator.papers.detect import detect_post
from aggregator.storage import papers
from aggregator.storage.db import Database
from aggregator.storage.papers_schema import post_works, works
from aggregator.storage.repository import Repository
from aggregator.storage.schema import posts
from tests.tui.seed import NOW, Match, post, settings_for

JANE = Author("mastodon", "jane@cardio.example", "jane@cardio.example", "Dr Jane Heart")
JANE_X = Author("twitter", "4242", "janeheart", "Jane H")
ALI = Author("mastodon", "ali@med.example", "ali@med.example", "Ali Renal")
SAM = Author("mastodon", "sam@onc.example", "sam@onc.example", "Sam Onc")
KIM = Author("mastodon", "kim@neuro.example", "kim@neuro.example", "Kim Neuro")

TRIAL = "https://doi.org/10.1056/NEJMoa2034577"
CARD = ('{"card": {"url": "https://www.nejm.org/doi/full/10.1056/NEJMoa2034577", '
        '"title": "Semaglutide in HFpEF"}}')


class Archive:
    def __init__(self, db: Database, *, fast: bool = True, detect: bool = True) -> None:
        self.db = db
        self.clock = ManualClock(NOW)
        self.repo = Repository(db, self.clock, sqlite_fast_path=fast)
        self.settings = settings_for("")
        self.ids = self.repo.sync_sources(self.settings)
        self.detect = detect

    def save(self, page: list[Post], topics: list[list[Match]] | None = None,
             source: str = "cardiology") -> None:
        works = [detect_post(p) for p in page] if self.detect else ()
        self.repo.save_page(self.ids[source], Page(tuple(page), None),
                            topics or [[] for _ in page], works)


def shared_posts() -> list[Post]:
    """The trial: Jane twice (one post boosted by Kim), Ali once, Jane on X once; the
    preprint: Sam three times (more posts, fewer voices); a news link: no work."""
    return [
        post(1, who=JANE, minutes_ago=10, text="Read this (doi:10.1056/NEJMoa2034577).",
             boosts=(Boost(KIM, "b1", NOW - timedelta(minutes=5)),)),
        replace(post(2, who=JANE, minutes_ago=20, links=(TRIAL,)), raw=CARD),
        post(3, who=ALI, minutes_ago=60 * 24 * 3,
             links=("https://www.nejm.org/doi/full/10.1056/nejmoa2034577?utm_source=x",)),
        replace(post(4, network="twitter", who=JANE_X, minutes_ago=30), links=(TRIAL,)),
        post(5, who=SAM, minutes_ago=40, links=("https://www.medrxiv.org/content/10.1101/2024.01.02.24300712v1",)),
        post(6, who=SAM, minutes_ago=50, text="still 10.1101/2024.01.02.24300712!"),
        post(7, who=SAM, minutes_ago=60, links=("https://www.medrxiv.org/content/10.1101/2024.01.02.24300712v2.full",)),
        post(8, who=KIM, minutes_ago=70, links=("https://www.statnews.com/2026/11/27/x/",)),
    ]


def fill(a: Archive) -> Archive:
    """One page per network (a page is one network's), Sam's posts about oncology."""
    toots = [p for p in shared_posts() if p.network == "mastodon"]
    a.save(toots, [[Match("oncology")] if p.author == SAM else [] for p in toots])
    a.save([p for p in shared_posts() if p.network == "twitter"], source="x-health")
    return a


@pytest.fixture
def archive(db: Database) -> Archive:
    return fill(Archive(db))


def test_ranked_by_distinct_voices_not_posts(archive: Archive) -> None:
    ranked = papers.rank_works(archive.db)
    assert [(w.scheme, w.ident, w.voices, w.posts) for w in ranked] == [
        # Jane (Mastodon and X: two accounts, no curated voice yet), Kim's boost, Ali
        ("doi", "10.1056/nejmoa2034577", 4, 4),
        ("doi", "10.1101/2024.01.02.24300712", 1, 3),
    ]
    trial = ranked[0]
    assert trial.title == "Semaglutide in HFpEF"  # the second post's card titles the work
    assert trial.first_seen == NOW - timedelta(days=3) and trial.last_seen == NOW - timedelta(
        minutes=5)
    assert trial.who[0] == "Ali Renal"  # earliest first
    assert set(trial.who) == {"Ali Renal", "Dr Jane Heart", "Jane H", "Kim Neuro"}
    # stored once per post and work, however often a post names it
    with archive.db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(post_works)).scalar_one() == 7
        assert conn.execute(select(func.count()).select_from(works)).scalar_one() == 2


def test_a_curated_voice_counts_once_across_its_accounts(archive: Archive) -> None:
    curation = CurationStore(archive.db, archive.clock)
    jane = curation.add_voice("Jane Heart", [("mastodon", "jane@cardio.example"),
                                             ("twitter", "janeheart")])
    trial = papers.rank_works(archive.db)[0]
    assert trial.voices == 3 and "Jane Heart" in trial.who and "Jane H" not in trial.who
    curation.create_list("Cardio")
    curation.add_member("Cardio", jane, "test")
    only = papers.rank_works(archive.db, list_name="Cardio")
    assert [(w.ident, w.voices, w.posts, w.who) for w in only] == [
        ("10.1056/nejmoa2034577", 1, 3, ("Jane Heart",))]
    with pytest.raises(CurationError, match=r"no curated list named 'Nope'.*Cardio"):
        papers.rank_works(archive.db, list_name="Nope")


def test_since_topic_and_deleted_posts(archive: Archive) -> None:
    recent = papers.rank_works(archive.db, since=NOW - timedelta(days=1))
    assert recent[0].voices == 3 and "Ali Renal" not in recent[0].who  # three days ago
    onc = papers.rank_works(archive.db, topic="oncology")
    assert [w.ident for w in onc] == ["10.1101/2024.01.02.24300712"]
    with archive.db.engine.connect() as conn:  # the server no longer has Sam's posts
        sams = conn.execute(select(posts.c.id).where(posts.c.remote_id.in_(["5", "6", "7"]))
                            ).scalars().all()
    for post_id in sams:
        archive.repo.mark_deleted(post_id)
    assert [w.ident for w in papers.rank_works(archive.db)] == ["10.1056/nejmoa2034577"]
    assert papers.rank_works(archive.db, limit=1)[0].voices == 4


def test_both_write_paths_store_the_same_works(db: Database) -> None:
    if db.dialect != "sqlite":
        pytest.skip("the fast path is SQLite's")
    fill(Archive(db))
    rows = {(w.scheme, w.ident, w.voices, w.posts, w.title) for w in papers.rank_works(db)}
    with db.engine.begin() as conn:
        conn.execute(post_works.delete())
        conn.execute(works.delete())
    fill(Archive(db, fast=False))
    assert {(w.scheme, w.ident, w.voices, w.posts, w.title)
            for w in papers.rank_works(db)} == rows


def test_backfill_resumes_and_finds_what_ingest_finds(db: Database) -> None:
    before = fill(Archive(db, detect=False))  # stored before works were found on arrival
    page = shared_posts()
    assert papers.rank_works(db) == []
    seen = []
    first = backfill(db, before.repo, batch=3, progress=lambda p: seen.append(p.done),
                     should_stop=lambda: True)  # interrupted after one batch
    assert not first.finished and first.posts == 3
    assert before.repo.get_app_state(STATE) == str(first.done)
    partial = papers.rank_works(db)
    assert partial and partial[0].voices < 4
    rest = backfill(db, before.repo, batch=3, progress=lambda p: seen.append(p.done))
    assert rest.finished and rest.start == first.done and rest.posts == len(page) - 3
    assert seen == sorted(seen) and seen[-1] == rest.top
    ranked = [(w.ident, w.voices, w.posts, w.title) for w in papers.rank_works(db)]
    assert ranked == [("10.1056/nejmoa2034577", 4, 4, "Semaglutide in HFpEF"),
                      ("10.1101/2024.01.02.24300712", 1, 3, "")]
    again = backfill(db, before.repo, batch=3)  # nothing new: reads nothing
    assert again.finished and again.posts == 0
    redo = backfill(db, before.repo, batch=3, restart=True)  # idempotent from the start
    assert redo.posts == len(page)
    assert [(w.ident, w.voices, w.posts, w.title) for w in papers.rank_works(db)] == ranked
