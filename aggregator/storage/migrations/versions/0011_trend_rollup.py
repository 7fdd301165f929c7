"""topic_days, hashtag_days, link_days: the daily rollup behind `rounds trends`, backfilled

Revision ID: 0011
Revises: 0010

The backfill counts the visible posts (not deleted, not conversation context) already
stored, per UTC day: topics with one GROUP BY; hashtags and links by reading each post's
JSON lists (streamed, a batch of rows at a time), counted as the application counts them
(hashtags without '#', lower case, at most 128 characters, once per post; links at most
1000 characters, once per post, per author).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_HASHTAG_CHARS = 128
_LINK_CHARS = 1000
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_BATCH = 10_000


def _day(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])  # SQLite: 'YYYY-MM-DD HH:MM:SS.ffffff'


def _day_table(name: str, *keys: sa.Column[object]) -> sa.Table:
    """A rollup table: (day, *keys) -> posts."""
    return op.create_table(
        name, sa.Column("day", sa.Date(), nullable=False), *keys,
        sa.Column("posts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", *(k.name for k in keys)))


def upgrade() -> None:
    topic_days = _day_table("topic_days", sa.Column("topic", sa.String(length=64),
                                                    nullable=False))
    hashtag_days = _day_table("hashtag_days", sa.Column(
        "hashtag", sa.String(length=_HASHTAG_CHARS), nullable=False))
    link_days = _day_table("link_days",
                           sa.Column("link", sa.String(length=_LINK_CHARS), nullable=False),
                           sa.Column("author_id", _ID, nullable=False))
    conn = op.get_bind()
    visible = "p.deleted_at IS NULL AND p.context = false"
    if conn.dialect.name == "sqlite":
        visible = "p.deleted_at IS NULL AND p.context = 0"
    day_expr = ("date(p.created_at)" if conn.dialect.name == "sqlite"
                else "CAST(p.created_at AS DATE)")
    rows = [{"day": _day(day), "topic": topic, "posts": int(n)}
            for day, topic, n in conn.execute(sa.text(
                f"SELECT {day_expr} AS day, t.topic, count(*) FROM post_topics t "
                f"JOIN posts p ON p.id = t.post_id WHERE {visible} "
                f"GROUP BY {day_expr}, t.topic"))]
    if rows:
        op.bulk_insert(topic_days, rows)
    tags: Counter[tuple[date, str]] = Counter()
    links: Counter[tuple[date, str, int]] = Counter()
    result = conn.execute(sa.text(  # streamed: a million posts are not held at once
        f"SELECT p.created_at, p.author_id, p.hashtags, p.links FROM posts p WHERE {visible} "
        "AND (p.hashtags <> '[]' OR p.links <> '[]')"),
        execution_options={"stream_results": True, "yield_per": _BATCH})
    for created, author, tag_text, link_text in result:
        day = _day(created)
        for tag in {t.strip().lstrip("#").lower()[:_HASHTAG_CHARS] for t in _strings(tag_text)}:
            if tag:
                tags[(day, tag)] += 1
        for link in {u[:_LINK_CHARS] for u in _strings(link_text) if u}:
            links[(day, link, int(author))] += 1
    _insert(hashtag_days, [{"day": d, "hashtag": t, "posts": n}
                           for (d, t), n in sorted(tags.items())])
    _insert(link_days, [{"day": d, "link": u, "author_id": a, "posts": n}
                        for (d, u, a), n in sorted(links.items())])


def _strings(text: str | None) -> list[str]:
    try:
        values = json.loads(text or "[]")
    except ValueError:
        return []
    return [v for v in values if isinstance(v, str)] if isinstance(values, list) else []


def _insert(table: sa.Table, rows: list[dict[str, object]]) -> None:
    for i in range(0, len(rows), _BATCH):
        op.bulk_insert(table, rows[i:i + _BATCH])


def downgrade() -> None:
    op.drop_table("link_days")
    op.drop_table("hashtag_days")
    op.drop_table("topic_days")
