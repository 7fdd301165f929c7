"""engagement counts: a post's replies, boosts and likes as the network last sent them

Nullable: feed entries have none, and posts stored before this revision have none until
they are seen again. Plain ADD COLUMN on both dialects (no table rebuild: SQLite keeps
the full-text triggers, PostgreSQL adds nullable columns without rewriting the table).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COUNTS = ("reply_count", "boost_count", "like_count")


def upgrade() -> None:
    for name in COUNTS:
        op.add_column("posts", sa.Column(name, sa.Integer(), nullable=True))


def downgrade() -> None:
    for name in reversed(COUNTS):  # SQLite >= 3.35 drops a column in place
        op.drop_column("posts", name)
