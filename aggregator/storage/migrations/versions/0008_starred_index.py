"""starred posts: a partial index, so the Starred view and its unread count read only them

Without it the sidebar's count of unread starred posts scanned the whole posts table
(0.7 s on a million posts, holding the reader's first screen back).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_posts_starred", "posts", ["created_at", "id"],
                    sqlite_where=sa.text("starred = 1"), postgresql_where=sa.text("starred"))


def downgrade() -> None:
    op.drop_index("ix_posts_starred", table_name="posts")
