"""Read-side queries over a database written through Repository.save_page."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, update

from aggregator.errors import StorageError
from aggregator.storage import queries
from aggregator.storage.queries import ViewFilter
from aggregator.storage.schema import posts
from tests.tui.seed import Match, Seeder, post, standard


def test_keyset_pages_cover_every_post_once_in_order(tmp_path: Path) -> None:
    s = Seeder(tmp_path / "r.db")
    # equal timestamps exercise the id tie-breaker
    batch = [post(i, minutes_ago=(i // 3) * 10) for i in range(1, 131)]
    s.save("cardiology", batch)
    seen: list[int] = []
    before = None
    while True:
        page = queries.list_posts(s.db, None, before=before, limit=20)
        if not page:
            break
        assert len(page) <= 20
        seen += [r.id for r in page]
        before = page[-1].key
    assert len(seen) == 130 == len(set(seen))
    keys = [(r.created_at, r.id) for r in queries.list_posts(s.db, None, limit=200)]
    assert keys == sorted(keys, reverse=True)


def test_deleted_posts_are_hidden(tmp_path: Path) -> None:
    s = standard(tmp_path / "r.db")
    victim = queries.list_posts(s.db, None)[0]
    with s.db.engine.begin() as conn:
        conn.execute(update(posts).where(posts.c.id == victim.id).values(deleted_at=s.clock.now()))
    assert victim.id not in [r.id for r in queries.list_posts(s.db, None)]


def test_topic_and_source_views_use_their_index_tables(tmp_path: Path) -> None:
    s = standard(tmp_path / "r.db")
    cardio = queries.list_posts(s.db, None, topic="cardiology")
    assert [r.text.split()[0] for r in cardio] == ["New", "Agree,"]
    onc_source = queries.list_posts(s.db, None, source_id=s.sources["oncology"])
    assert len(onc_source) == 2  # the oncology post and the shared heart-failure post
    page1 = queries.list_posts(s.db, None, topic="cardiology", limit=1)
    page2 = queries.list_posts(s.db, None, topic="cardiology", limit=1, before=page1[0].key)
    assert [page1[0].id, page2[0].id] == [r.id for r in cardio]


def test_rows_carry_author_topics_booster_and_short_text(tmp_path: Path) -> None:
    s = standard(tmp_path / "r.db")
    s.save("cardiology", [post(50, text="x" * 100_000, minutes_ago=1)])
    rows = queries.list_posts(s.db, None)
    assert len(rows[0].text) == queries.LIST_TEXT_CHARS
    jane = rows[1]
    assert (jane.author_name, jane.author_handle) == ("Dr Jane Heart", "jane@cardio.example")
    assert jane.topics == ("cardiology",)
    assert jane.boosted_by == "Dr Doc 3"
    assert jane.has_link and jane.has_media and not jane.is_read


def test_list_newer_returns_only_posts_above_the_key(tmp_path: Path) -> None:
    s = standard(tmp_path / "r.db")
    top = queries.list_posts(s.db, None)[0]
    assert queries.list_newer(s.db, None, after=top.key) == []
    s.save("cardiology", [post(60, minutes_ago=1), post(61, minutes_ago=2)])
    newer = queries.list_newer(s.db, None, after=top.key)
    assert [r.text.split()[2] for r in newer] == ["60", "61"]


def test_get_post_detail(tmp_path: Path) -> None:
    s = standard(tmp_path / "r.db")
    rows = {r.text.split()[0]: r for r in queries.list_posts(s.db, None)}
    d = queries.get_post(s.db, rows["New"].id)
    assert d.author.bio.startswith("Cardiologist")
    assert d.links == ("https://doi.org/10.1000/hf.2026",)
    assert d.media[0].alt_text == "Forest plot of mortality outcomes"
    assert [b.name for b in d.boosted_by] == ["Dr Doc 3"]
    assert d.sources == ("cardiology", "oncology")
    assert d.topics[0].rule == "hashtag" and d.topics[0].matched == "#HeartFailure"
    reply = queries.get_post(s.db, rows["Agree,"].id)
    assert reply.reply_to is not None and reply.reply_to.post_id == rows["New"].id
    assert reply.reply_to.author_name == "Dr Jane Heart"
    tweet = queries.get_post(s.db, rows["Vaccination"].id)
    assert tweet.quote_of is not None and tweet.quote_of.post_id is None  # other network
    with pytest.raises(StorageError):
        queries.get_post(s.db, 999_999)


def test_count_views_counts_unread_and_caps(tmp_path: Path) -> None:
    s = standard(tmp_path / "r.db")
    s.save("oncology", [post(100 + i, minutes_ago=200 + i) for i in range(30)],
           [[Match("oncology")] for _ in range(30)])
    first = queries.list_posts(s.db, None)[0]
    s.repo.set_flags(first.id, is_read=True)
    views = [ViewFilter("all"), ViewFilter("topic:oncology", topic="oncology"),
             ViewFilter("source:x", source_id=s.sources["x-health"]),
             ViewFilter("net:twitter", where=posts.c.network == "twitter")]
    counts = queries.count_views(s.db, views)
    assert counts == {"all": 33, "topic:oncology": 31, "source:x": 1, "net:twitter": 1}
    assert queries.count_views(s.db, views, cap=10)["all"] == 10


def test_newest_marker_grows_when_posts_arrive(tmp_path: Path) -> None:
    s = Seeder(tmp_path / "r.db")
    assert queries.newest_marker(s.db) == 0
    s.save("cardiology", [post(1)])
    m1 = queries.newest_marker(s.db)
    s.save("cardiology", [post(2)])
    assert queries.newest_marker(s.db) > m1


def test_the_starred_view_reads_only_starred_posts(tmp_path: Path) -> None:
    """Its unread count (in the sidebar at start) once scanned every post: 0.7 s on a
    million, holding the first screen back. A partial index serves it now."""
    from sqlalchemy import event

    s = standard(tmp_path / "r.db")
    first = queries.list_posts(s.db, None)[0]
    s.repo.set_flags(first.id, starred=True)
    starred = queries.view_filter("starred", starred=True)
    plans: list[str] = []

    def explain(conn, cursor, statement, parameters, context, many):  # type: ignore[no-untyped-def]
        if "posts.starred = 1" in statement and not statement.startswith("EXPLAIN"):
            plans.append(" ".join(str(row) for row in conn.exec_driver_sql(
                f"EXPLAIN QUERY PLAN {statement}", parameters).fetchall()))

    event.listen(s.db.engine, "after_cursor_execute", explain)
    try:
        assert queries.count_views(s.db, [starred]) == {"starred": 1}
        assert [r.id for r in queries.list_posts(s.db, starred.where)] == [first.id]
    finally:
        event.remove(s.db.engine, "after_cursor_execute", explain)
    assert len(plans) == 2 and all("ix_posts_starred" in plan for plan in plans), plans


def _search(s: Seeder, text: str, **kw: object) -> list[int]:
    from aggregator.query import parse_query
    from aggregator.storage.search import post_filter

    where = post_filter(parse_query(text, now=s.clock.now()), "sqlite")
    return [r.id for r in queries.list_posts(s.db, where, **kw)]  # type: ignore[arg-type]


def _reference(s: Seeder, word: str, *, without: str = "", limit: int = 10) -> list[int]:
    """What the page must be, computed here: matching posts, newest first."""
    rows = [r for r in queries.list_posts(s.db, None, limit=10_000)]
    with s.db.engine.connect() as conn:
        texts = dict(conn.execute(select(posts.c.id, posts.c.text)).all())
    hits = [r.id for r in rows if word in texts[r.id].lower().split()
            and not (without and without in texts[r.id].lower().split())]
    return hits[:limit]


def test_full_text_pages_found_in_the_newest_window_are_exactly_the_full_answer(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queries, "FTS_WINDOWS", (8, 30))  # windows this small archive fills
    s = Seeder(tmp_path / "r.db")
    words = ["sepsis common", "common", "common rare", "common"]
    # collected as posts appear: ids follow time
    s.save("cardiology", [post(i, text=f"post {i} {words[i % 4]}", minutes_ago=1000 - i)
                          for i in range(1, 61)])
    assert _search(s, "common", limit=10) == _reference(s, "common")
    assert _search(s, "rare", limit=10) == _reference(s, "rare")  # only 15: whole archive
    assert _search(s, "common -sepsis", limit=10) == _reference(s, "common", without="sepsis")
    page = _search(s, "common", limit=10)
    before = queries.list_posts(s.db, None, limit=10_000)
    key = next(r.key for r in before if r.id == page[-1])
    assert _search(s, "common", limit=10, before=key) == _reference(s, "common", limit=20)[10:]
    # then an import of older posts: the newest ids are the oldest posts; and one late
    # post (the newest of all) among them
    s.save("cardiology", [post(100 + i, text=f"old {i} common", minutes_ago=5000 + i)
                          for i in range(40)])
    s.save("cardiology", [post(200, text="newest common", minutes_ago=0)])
    s.save("cardiology", [post(300 + i, text=f"old again {i} common", minutes_ago=9000 + i)
                          for i in range(40)])
    assert _search(s, "common", limit=10) == _reference(s, "common")
    assert _search(s, "common", limit=10)[0] == max(
        r.id for r in queries.list_posts(s.db, None, limit=1))
