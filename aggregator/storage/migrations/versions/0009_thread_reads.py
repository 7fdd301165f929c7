"""thread_reads: what fetching conversations cost per account (X bills every read)

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "thread_reads",
        sa.Column("id", _ID, nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=False),
        sa.Column("items_read", sa.Integer(), nullable=False),
        sa.Column("users_read", sa.Integer(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_thread_reads_account", "thread_reads", ["account", "read_at"],
                    unique=False)


def downgrade() -> None:
    op.drop_index("ix_thread_reads_account", table_name="thread_reads")
    op.drop_table("thread_reads")
