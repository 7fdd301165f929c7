"""posts.raw compressed (zstd with the shipped dictionary, a BLOB / bytea column); on
SQLite post_topics and post_sources WITHOUT ROWID

The raw JSON kept for fidelity was ~2,700 of the ~5,000 bytes a bench post took; with
zstd and the dictionary trained on the recorded fixtures it takes ~500 (see
aggregator/storage/rawjson.py, the one place that encodes and decodes it).

Both dialects the same way, in batches of rows (memory stays flat on a big archive): a
new column, filled from the old one through the codec, then the old one dropped and the
new one renamed (SQLite >= 3.35 drops columns in place: no batch-mode copy of `posts`,
whose full-text triggers stay). SQLite keeps the freed pages for reuse: `VACUUM` gives
them back to the file system. The downgrade decodes the other way.

post_topics and post_sources are keyed by (post id, topic / source): as rowid tables SQLite
kept each row twice, once under its rowid and once in the primary key's index (98 and 15
bytes a bench post). WITHOUT ROWID the primary key is the table. They are copied into
new tables (no trigger or reference points at them); PostgreSQL has no rowid: unchanged.

SQLite's full-text insert trigger skips rows while the writing transaction holds the
`fts.deferred` mark in app_state (inserted and deleted inside that transaction, so no
other connection ever sees it); the writer then indexes its new rows in one INSERT ...
SELECT (storage/sqlite_pages.py). Measured on 20,000 bench posts: 50-97 µs a post through
the per-row trigger, 16 µs in one statement per page.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

from aggregator.storage.rawjson import decode_raw, encode_raw

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

BATCH = 2000


def _convert(new_type: sa.types.TypeEngine[Any], empty: str,
             fn: Callable[[Any], Any]) -> None:
    conn = op.get_bind()
    op.add_column("posts", sa.Column("raw_new", new_type, nullable=False,
                                     server_default=sa.text(empty)))
    select = sa.text("SELECT id, raw FROM posts WHERE id > :last ORDER BY id LIMIT :n")
    update = sa.text("UPDATE posts SET raw_new = :v WHERE id = :i")
    last = 0
    while True:
        rows = conn.execute(select, {"last": last, "n": BATCH}).all()
        if not rows:
            break
        values = [{"v": fn(raw), "i": pid} for pid, raw in rows if raw]
        if values:
            conn.execute(update, values)
        last = rows[-1][0]
    op.drop_column("posts", "raw")
    op.alter_column("posts", "raw_new", new_column_name="raw")
    if conn.dialect.name == "postgresql":
        op.alter_column("posts", "raw", server_default=None)


_LINKS = {"post_topics": "ix_post_topics_topic", "post_sources": "ix_post_sources_source"}


def _rebuild_links(with_rowid: bool) -> None:
    """SQLite: post_topics and post_sources copied into tables declared as they are, with
    or without rowid, then put in their place with their index."""
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return
    for name, index in _LINKS.items():
        table_sql, index_sql = (conn.execute(sa.text(
            "SELECT sql FROM sqlite_master WHERE name = :n"), {"n": n}).scalar_one()
            for n in (name, index))
        body = table_sql.strip().removesuffix("WITHOUT ROWID").rstrip()
        create = body.replace(name, f"{name}_new", 1)
        op.execute(create if with_rowid else f"{create} WITHOUT ROWID")
        op.execute(f"INSERT INTO {name}_new SELECT * FROM {name}")
        op.execute(f"DROP TABLE {name}")
        op.execute(f"ALTER TABLE {name}_new RENAME TO {name}")
        op.execute(index_sql)


_FTS_INSERT = ("INSERT INTO posts_fts(rowid, text, spoiler) VALUES (new.id, new.text, "
               "new.spoiler)")
_DEFERRED = ("WHEN NOT EXISTS (SELECT 1 FROM app_state WHERE key = 'fts.deferred') ")


def _fts_trigger(deferrable: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TRIGGER posts_fts_ai")
    op.execute("CREATE TRIGGER posts_fts_ai AFTER INSERT ON posts "
               f"{_DEFERRED if deferrable else ''}BEGIN {_FTS_INSERT}; END")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    _convert(sa.LargeBinary(), "x''" if sqlite else "''::bytea", encode_raw)
    _rebuild_links(with_rowid=False)
    _fts_trigger(deferrable=True)


def downgrade() -> None:
    _fts_trigger(deferrable=False)
    _rebuild_links(with_rowid=True)
    _convert(sa.Text(), "''", decode_raw)
