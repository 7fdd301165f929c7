"""SQLite: the trend rollups and post_works WITHOUT ROWID

`link_days`, `topic_days`, `hashtag_days` and `post_works` are keyed by their primary key;
as rowid tables SQLite kept each row twice (the table, and the key's own index): on the
1M-post bench archive link_days took 45 bytes a post of which 23 were that index. WITHOUT
ROWID the primary key is the table. Copied into new tables, as migration 0012 did for
post_topics and post_sources (nothing references these tables); PostgreSQL: unchanged.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TABLES = ("topic_days", "hashtag_days", "link_days", "post_works")


def _rebuild(with_rowid: bool) -> None:
    """Each table copied into one declared as it is, with or without rowid, then put in its
    place with its indexes."""
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return
    for name in TABLES:
        table_sql = conn.execute(sa.text(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :n"),
            {"n": name}).scalar_one()
        indexes = conn.execute(sa.text(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :n "
            "AND sql IS NOT NULL ORDER BY name"), {"n": name}).scalars().all()
        body = table_sql.strip().removesuffix("WITHOUT ROWID").rstrip()
        create = body.replace(name, f"{name}_new", 1)
        op.execute(create if with_rowid else f"{create} WITHOUT ROWID")
        op.execute(f"INSERT INTO {name}_new SELECT * FROM {name}")
        op.execute(f"DROP TABLE {name}")
        op.execute(f"ALTER TABLE {name}_new RENAME TO {name}")
        for index_sql in indexes:
            op.execute(index_sql)


def upgrade() -> None:
    _rebuild(with_rowid=False)


def downgrade() -> None:
    _rebuild(with_rowid=True)
