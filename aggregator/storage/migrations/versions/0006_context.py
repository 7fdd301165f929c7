"""context: posts fetched for a conversation (not brought by a source), thread fetches

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Plain ALTER TABLE, never a batch: on SQLite a batch would rebuild `posts` and drop
    # the posts_fts triggers with it (search would stop seeing new posts).
    op.add_column("posts", sa.Column("context", sa.Boolean(), nullable=False,
                                     server_default=sa.false()))
    op.create_index("ix_posts_reply_to", "posts", ["network", "reply_to_id"], unique=False)
    op.create_table(
        "thread_fetches",
        sa.Column("post_id", _ID, nullable=False),
        sa.Column("fetched_at", sa.DateTime(), nullable=False),
        sa.Column("gaps", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("post_id"),
    )


def downgrade() -> None:
    op.drop_table("thread_fetches")
    op.drop_index("ix_posts_reply_to", table_name="posts")
    # SQLite >= 3.35 drops a column in place (keeping the posts_fts triggers)
    op.execute("ALTER TABLE posts DROP COLUMN context")
