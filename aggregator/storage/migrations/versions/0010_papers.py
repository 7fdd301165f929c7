"""works and post_works: the scholarly works posts share (rounds papers, the Papers view)

Two new tables and an index of boosts by time (who shared a paper in a period); posts
stored before this revision get their works from
`rounds papers backfill` (batched, resumable), not here: a migration that read every post
of a large archive would hold `rounds db upgrade` for minutes.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "works",
        sa.Column("id", _ID, nullable=False),
        sa.Column("scheme", sa.String(length=16), nullable=False),
        sa.Column("ident", sa.String(length=512), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("title_from", sa.String(length=16), nullable=True),
        sa.Column("enriched_at", sa.DateTime(), nullable=True),
        sa.Column("enrich_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scheme", "ident", name="uq_works_scheme_ident"),
    )
    op.create_table(
        "post_works",
        sa.Column("work_id", _ID, nullable=False),
        sa.Column("post_id", _ID, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("author_id", _ID, nullable=False),
        sa.ForeignKeyConstraint(["work_id"], ["works.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["author_id"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("work_id", "post_id"),
    )
    op.create_index("ix_post_works_created", "post_works",
                    ["created_at", "work_id", "author_id"], unique=False)
    op.create_index("ix_post_works_post", "post_works", ["post_id", "work_id"], unique=False)
    op.create_index("ix_boosts_created", "boosts", ["created_at", "post_id", "booster_id"],
                    unique=False)


def downgrade() -> None:
    op.drop_index("ix_boosts_created", table_name="boosts")
    op.drop_index("ix_post_works_post", table_name="post_works")
    op.drop_index("ix_post_works_created", table_name="post_works")
    op.drop_table("post_works")
    op.drop_table("works")
