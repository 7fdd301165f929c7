"""posts.raw compressed: zstd with the shipped dictionary, a BLOB / bytea column

The raw JSON kept for fidelity was ~2,700 of the ~5,000 bytes a bench post took; with
zstd and the dictionary trained on the recorded fixtures it takes ~500 (see
aggregator/storage/rawjson.py, the one place that encodes and decodes it).

Both dialects the same way, in batches of rows (memory stays flat on a big archive): a
new column, filled from the old one through the codec, then the old one dropped and the
new one renamed (SQLite >= 3.35 drops columns in place: no batch-mode copy of `posts`,
whose full-text triggers stay). SQLite keeps the freed pages for reuse: `VACUUM` gives
them back to the file system. The downgrade decodes the other way.

Revision ID: 0013
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

from aggregator.storage.rawjson import decode_raw, encode_raw

revision = "0013"
down_revision = "0009"
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


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    _convert(sa.LargeBinary(), "x''" if sqlite else "''::bytea", encode_raw)


def downgrade() -> None:
    _convert(sa.Text(), "''", decode_raw)
