"""Remote ids, reply parents, boosts, cursors and resolved ids up to 1024 characters

Bluesky keys a post by its at:// URI (about 70 characters, more with a did:web author),
too long for the 64-character columns sized for Mastodon and X snowflakes. Also merges
the two heads (0002 curation, 0003 archive).

PostgreSQL enforces VARCHAR lengths: widening one is a catalog change, no table rewrite.
SQLite ignores them (any length is stored): nothing to do there, and rebuilding `posts`
in batch mode would copy the whole archive and drop its full-text triggers.

Revision ID: 0004
Revises: 0002, 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = ("0002", "0003")
branch_labels = None
depends_on = None

_COLUMNS = [
    ("posts", "remote_id", False),
    ("posts", "reply_to_id", True),
    ("boosts", "remote_id", False),
    ("sources", "cursor", True),
    ("sources", "resolved_id", True),
]


def _resize(old: int, new: int) -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, column, nullable in _COLUMNS:
        op.alter_column(table, column, type_=sa.String(new), existing_type=sa.String(old),
                        existing_nullable=nullable)


def upgrade() -> None:
    _resize(64, 1024)


def downgrade() -> None:
    _resize(1024, 64)  # fails on PostgreSQL while a longer value is stored: as it should
