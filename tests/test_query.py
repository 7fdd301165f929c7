"""The query language: parser, errors, and the SQL it turns into on a real database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, insert, select

from aggregator.errors import QueryError
from aggregator.query import Query, Term, parse_query
from aggregator.storage.db import Database, open_database
from aggregator.storage.schema import (
    accounts,
    boosts,
    post_sources,
    post_topics,
    posts,
    sources,
)
from aggregator.storage.search import fts5_string, post_filter

NOW = datetime(2026, 10, 15, 12, 0, tzinfo=UTC)


def q(text: str) -> Query:
    return parse_query(text, now=NOW)


# -- parser ------------------------------------------------------------------------------


def test_the_example_from_the_issue() -> None:
    query = q('topic:cardiology network:mastodon from:drjane@med-mastodon.com source:cardiology '
              'since:7d until:2026-11-01 unread starred has:link has:media lang:en -boosts '
              '"heart failure" statin')
    assert query.topics == ("cardiology",)
    assert query.networks == ("mastodon",)
    assert query.authors == ("drjane@med-mastodon.com",)
    assert query.sources == ("cardiology",)
    assert query.since == NOW - timedelta(days=7)
    assert query.until == datetime(2026, 11, 2, tzinfo=UTC)  # the whole day of Nov 1
    assert (query.read, query.starred, query.has_link, query.has_media) == (
        False, True, True, True)
    assert query.boosted is False
    assert query.langs == ("en",)
    assert query.terms == (Term("heart failure", phrase=True), Term("statin"))


def test_negations_aliases_and_lists() -> None:
    query = q('-topic:oncology is:unread is:starred -has:media topic:cardiology,neurology '
              '-statin -"cancer season" from:@DrJane network:x boosts type:paper')
    assert query.exclude_topics == ("oncology",)
    assert query.topics == ("cardiology", "neurology", "type:paper")
    assert (query.read, query.starred, query.has_media, query.boosted) == (
        False, True, False, True)
    assert query.exclude_terms == (Term("statin"), Term("cancer season", phrase=True))
    assert query.authors == ("drjane",)
    assert query.networks == ("twitter",)


def test_relative_and_absolute_dates() -> None:
    assert q("since:12h").since == NOW - timedelta(hours=12)
    assert q("since:2w").since == NOW - timedelta(weeks=2)
    assert q("since:2026-10-01").since == datetime(2026, 10, 1, tzinfo=UTC)
    assert q("since:today").since == datetime(2026, 10, 15, tzinfo=UTC)
    assert q("until:yesterday").until == datetime(2026, 10, 15, tzinfo=UTC)


def test_quoted_words_are_text_not_flags_and_urls_are_words() -> None:
    query = q('"unread" https://doi.org/10.1/x')
    assert query.read is None
    assert query.terms == (Term("unread", phrase=True), Term("https://doi.org/10.1/x"))


def test_empty_query_matches_everything() -> None:
    assert q("   ").is_empty
    assert q('""').is_empty


@pytest.mark.parametrize(
    ("text", "position", "needle"),
    [
        ("tpic:cardiology", 0, "unknown filter 'tpic:' at column 1; known: topic"),
        ("statin  since:7x", 8, "cannot read 'since:7x' at column 9"),
        ('statin "heart failure', 7, "unbalanced quote at column 8"),
        ("until:2026-02-30", 0, "out of range"),
        ("since:9999999w", 0, "out of range"),
        ("network:bsky", 0, "unknown network 'bsky'"),
        ("is:sleepy", 0, "unknown value 'sleepy' for 'is:'"),
        ("lang:english!", 0, "not a language code"),
        ("topic:", 0, "'topic:' needs a value"),
        ("-since:7d", 0, "cannot be negated"),
    ],
)
def test_errors_point_at_the_token(text: str, position: int, needle: str) -> None:
    with pytest.raises(QueryError) as info:
        q(text)
    assert needle in str(info.value)
    assert info.value.position == position
    assert info.value.token and text.find(info.value.token) == position


def test_fts_string_quotes_everything() -> None:
    s = fts5_string([Term('he said "hi"'), Term("NEAR(a b)"), Term("***"), Term("x*")])
    assert s == '"he said ""hi""" AND "NEAR(a b)" AND "x*"'
    assert fts5_string([Term("()"), Term("-")]) is None


# -- against a real database -------------------------------------------------------------


JANE = "drjane@med-mastodon.com"
# name: (text, author key, network, lang, age in days, has_link, has_media, is_read, starred)
SEED = {
    "hf": ('New heart failure trial: statin benefit (HFpEF) said "no"', JANE, "mastodon", "en",
           1, True, False, False, True),
    "onc": ("Cancer screening update, no statins here", "12345", "twitter", "en",
            10, False, True, True, False),
    "de": ("Herzinsuffizienz: neue Leitlinie. Café für alle", JANE, "mastodon", "de",
           3, False, False, False, False),
}


def _seed(conn: Connection) -> dict[str, int]:
    t = datetime(2026, 10, 10, tzinfo=UTC)
    acc = {}
    for key, handle, net in ((JANE, JANE, "mastodon"), ("12345", "DrBob", "twitter"),
                             ("b@x.org", "b@x.org", "mastodon")):
        row = dict(network=net, key=key, handle=handle, display_name=handle, updated_at=t)
        acc[key] = conn.execute(insert(accounts).values(**row)).inserted_primary_key[0]
    src_row = dict(name="cardiology", network="mastodon", account="main", kind="list", value="1")
    src = conn.execute(insert(sources).values(**src_row)).inserted_primary_key[0]
    ids = {}
    for i, (name, r) in enumerate(SEED.items()):
        text, author, network, lang, days, link, media, read, star = r
        ids[name] = conn.execute(insert(posts).values(
            network=network, key=f"k{i}", remote_id=str(i), author_id=acc[author],
            created_at=t + timedelta(days=5 - days), text=text, lang=lang, has_link=link,
            has_media=media, is_read=read, starred=star, first_seen=t,
        )).inserted_primary_key[0]
    conn.execute(insert(post_topics).values(post_id=ids["hf"], topic="cardiology", created_at=t,
                                            rule="keyword"))
    conn.execute(insert(post_topics).values(post_id=ids["onc"], topic="oncology", created_at=t,
                                            rule="hashtag"))
    conn.execute(insert(post_sources).values(post_id=ids["hf"], source_id=src, created_at=t,
                                             first_seen=t))
    conn.execute(insert(boosts).values(post_id=ids["onc"], booster_id=acc["b@x.org"],
                                       remote_id="99", created_at=t))
    return ids


def _run(database: Database, text: str) -> set[int]:
    with database.engine.connect() as conn:
        stmt = select(posts.c.id).where(post_filter(q(text), database.dialect))
        return set(conn.scalars(stmt))


@pytest.fixture
def seeded(db: Database) -> tuple[Database, dict[str, int]]:
    with db.engine.begin() as conn:
        ids = _seed(conn)
    return db, ids


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", {"hf", "onc", "de"}),
        ("topic:cardiology", {"hf"}),
        ("-topic:cardiology", {"onc", "de"}),
        ("network:twitter", {"onc"}),
        ("from:@DrJane@med-mastodon.com", {"hf", "de"}),
        ("from:drbob", {"onc"}),
        ("source:cardiology", {"hf"}),
        ("lang:de", {"de"}),
        ("since:2026-10-12", {"hf", "de"}),
        ("until:2026-10-05", {"onc"}),
        ("unread", {"hf", "de"}),
        ("read", {"onc"}),
        ("starred", {"hf"}),
        ("has:link", {"hf"}),
        ("has:media", {"onc"}),
        ("boosts", {"onc"}),
        ("-boosts", {"hf", "de"}),
        ('"heart failure"', {"hf"}),
        ('"failure heart"', set()),
        ("statin", {"hf"}),
        ("statin -trial", set()),
        ("café", {"de"}),
        ('( statin* ^ "no" NEAR/2', set()),  # operators are plain words: NEAR is required
        ('( statin* ^ "no" -NOT', {"hf"}),
        ('HFpEF) said:', {"hf"}),
        ('"said ""no"""', {"hf"}),
    ],
)
def test_filters_select_the_right_posts(
    seeded: tuple[Database, dict[str, int]], text: str, expected: set[str]
) -> None:
    database, ids = seeded
    assert _run(database, text) == {ids[name] for name in expected}


def test_sqlite_search_ignores_diacritics(tmp_path: Path) -> None:
    # PostgreSQL's 'simple' tsvector keeps accents (the migration would need unaccent)
    database = open_database(f"sqlite:///{tmp_path / 'r.db'}")
    with database.engine.begin() as conn:
        ids = _seed(conn)
    assert _run(database, "cafe") == {ids["de"]}
    database.dispose()


@pytest.fixture(scope="module")
def scratch_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    path: Path = tmp_path_factory.mktemp("hyp") / "rounds.db"
    database = open_database(f"sqlite:///{path}")
    with database.engine.begin() as conn:
        _seed(conn)
    yield database
    database.dispose()


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text())
def test_any_text_parses_or_raises_query_error_and_runs(scratch_db: Database, text: str) -> None:
    try:
        query = q(text)
    except QueryError as exc:
        assert 0 <= exc.position <= len(text)
        return
    with scratch_db.engine.connect() as conn:
        conn.execute(select(posts.c.id).where(post_filter(query, "sqlite"))).all()


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(['"', "-", ":", "topic:", "since:", "(", ")", "*", "^", "NEAR",
                                 "OR", "AND", "NOT", "statin", "heart failure", '""', "\x00", " ",
                                 "is:", "unread", "é", "_", "has:link", "ab:c"]), max_size=12))
def test_hostile_query_fragments(scratch_db: Database, parts: list[str]) -> None:
    text = "".join(parts)
    try:
        query = q(text)
    except QueryError:
        return
    with scratch_db.engine.connect() as conn:
        conn.execute(select(posts.c.id).where(post_filter(query, "sqlite"))).all()


def test_postgresql_sql_binds_user_text() -> None:
    from sqlalchemy.dialects import postgresql

    clause = post_filter(q('"heart failure" statin -x\'; DROP TABLE posts; --'), "postgresql")
    compiled = clause.compile(dialect=postgresql.dialect())
    sql = str(compiled)
    assert "phraseto_tsquery" in sql and "plainto_tsquery" in sql
    assert "DROP" not in sql
    assert "heart failure" in compiled.params.values()
