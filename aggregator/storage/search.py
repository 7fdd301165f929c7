"""A parsed Query as a SQLAlchemy WHERE clause over `posts`, for SQLite and PostgreSQL.

Full text: SQLite uses the `posts_fts` FTS5 table (external content, rowid = posts.id);
PostgreSQL the generated `posts.search` tsvector column (both created by the migrations).
User text never reaches FTS syntax raw: each term becomes a double-quoted FTS5 string
with inner quotes doubled, so AND/OR/NOT/NEAR, *, ^, :, brackets are plain text; on
PostgreSQL each term goes through plainto_tsquery/phraseto_tsquery. Terms without a
letter or digit are dropped. Every value is a bound parameter.

    stmt = select(posts).where(post_filter(parse_query(text, now=now), "sqlite"))
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    column,
    exists,
    func,
    literal_column,
    not_,
    or_,
    select,
    table,
    true,
)

from aggregator.query import Query, Term
from aggregator.storage.schema import accounts, boosts, post_sources, post_topics, posts, sources

_FTS = table("posts_fts", column("rowid"))
# Every SQLite full-text clause reads only the matches with rowid >= this parameter
# (0 unless the statement is executed with another value): `queries.list_posts` first
# looks for the newest hits among the newest-arrived posts (FTS5 seeks to a rowid, so a
# common word no longer collects all its matches), and checks that no post that arrived
# earlier belongs on the page.
FTS_FLOOR = "fts_floor"
FLOOR = bindparam(FTS_FLOOR, 0, type_=Integer)


def clean_term(text: str) -> str | None:
    """The term without control characters, or None if it has no letter or digit."""
    cleaned = "".join(" " if unicodedata.category(c) in ("Cc", "Cs") else c for c in text)
    if not any(unicodedata.category(c)[0] in "LN" for c in cleaned):
        return None
    return " ".join(cleaned.split())


def fts5_string(terms: Sequence[Term]) -> str | None:
    """An FTS5 MATCH string requiring every term; None when no term is left."""
    parts = []
    for term in terms:
        text = clean_term(term.text)
        if text is not None:
            parts.append('"' + text.replace('"', '""') + '"')
    return " AND ".join(parts) if parts else None


def fts_match(terms: Sequence[Term], dialect: str) -> ColumnElement[bool]:
    """Posts whose text or content warning contains every term (true() if none)."""
    if dialect == "sqlite":
        q = fts5_string(terms)
        if q is None:
            return true()
        match = literal_column("posts_fts").op("MATCH")(bindparam("fts_q", q, unique=True))
        return posts.c.id.in_(select(_FTS.c.rowid).where(match, _FTS.c.rowid >= FLOOR))
    if dialect == "postgresql":
        clauses = []
        for term in terms:
            text = clean_term(term.text)
            if text is None:
                continue
            to_query = func.phraseto_tsquery if term.phrase else func.plainto_tsquery
            clauses.append(literal_column("posts.search").op("@@")(to_query("simple", text)))
        return and_(true(), *clauses)
    raise ValueError(f"unsupported dialect {dialect!r}")


def post_filter(query: Query, dialect: str) -> ColumnElement[bool]:
    """The WHERE clause selecting the posts that match `query` (see aggregator.query)."""
    c = posts.c
    clauses: list[ColumnElement[bool]] = []
    if query.topics:
        clauses.append(c.id.in_(_topic_posts(query.topics)))
    if query.exclude_topics:
        clauses.append(c.id.not_in(_topic_posts(query.exclude_topics)))
    if query.networks:
        clauses.append(c.network.in_(query.networks))
    if query.exclude_networks:
        clauses.append(c.network.not_in(query.exclude_networks))
    if query.authors:
        clauses.append(c.author_id.in_(_authors(query.authors)))
    if query.exclude_authors:
        clauses.append(c.author_id.not_in(_authors(query.exclude_authors)))
    if query.sources:
        clauses.append(c.id.in_(_source_posts(query.sources)))
    if query.exclude_sources:
        clauses.append(c.id.not_in(_source_posts(query.exclude_sources)))
    if query.tags:
        clauses.append(hashtag_match(query.tags))
    if query.exclude_tags:
        clauses.append(not_(hashtag_match(query.exclude_tags)))
    if query.langs:
        clauses.append(func.lower(c.lang).in_(query.langs))
    if query.exclude_langs:
        clauses.append(or_(c.lang.is_(None), func.lower(c.lang).not_in(query.exclude_langs)))
    if query.since is not None:
        clauses.append(c.created_at >= query.since)
    if query.until is not None:
        clauses.append(c.created_at < query.until)
    for col, wanted in ((c.is_read, query.read), (c.starred, query.starred),
                        (c.has_link, query.has_link), (c.has_media, query.has_media)):
        if wanted is not None:
            clauses.append(col.is_(True) if wanted else col.is_(False))
    if query.boosted is not None:
        boosted = exists().where(boosts.c.post_id == c.id)
        clauses.append(boosted if query.boosted else not_(boosted))
    if query.terms:
        clauses.append(fts_match(query.terms, dialect))
    for term in query.exclude_terms:
        if clean_term(term.text) is not None:
            clauses.append(not_(fts_match([term], dialect)))
    if dialect not in ("sqlite", "postgresql"):
        raise ValueError(f"unsupported dialect {dialect!r}")
    return and_(true(), *clauses) if clauses else true()


def hashtag_match(tags: Sequence[str]) -> ColumnElement[bool]:
    """Posts carrying any of `tags` (lower case, no #) among their hashtags, case ignored
    (on SQLite for ASCII letters only: its lower() folds no other). `posts.hashtags` is a
    JSON list, so a tag is looked for with its quotes: `care` does not match `#healthcare`.
    LIKE's wildcards in a tag (`_` is common) are escaped."""
    lowered = func.lower(posts.c.hashtags)
    return or_(*(lowered.contains(json.dumps(tag, ensure_ascii=False), autoescape=True)
                 for tag in tags))


def _topic_posts(topics: Sequence[str]) -> Select[Any]:
    return select(post_topics.c.post_id).where(post_topics.c.topic.in_(topics))


def _source_posts(names: Sequence[str]) -> Select[Any]:
    return (
        select(post_sources.c.post_id)
        .join(sources, sources.c.id == post_sources.c.source_id)
        .where(sources.c.name.in_(names))
    )


def _authors(handles: Sequence[str]) -> Select[Any]:
    lowered = list(handles)
    return select(accounts.c.id).where(
        or_(func.lower(accounts.c.handle).in_(lowered), func.lower(accounts.c.key).in_(lowered))
    )


__all__ = ["FTS_FLOOR", "clean_term", "fts5_string", "fts_match", "hashtag_match", "post_filter"]
