"""post_versions: earlier versions of edited posts

Revision ID: 0003
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "post_versions",
        sa.Column("id", _ID, nullable=False),
        sa.Column("post_id", _ID, nullable=False),
        sa.Column("edited_at", sa.DateTime(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("spoiler", sa.Text(), nullable=False),
        sa.Column("replaced_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("post_versions", schema=None) as batch_op:
        batch_op.create_index("ix_post_versions_post", ["post_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("post_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_post_versions_post")
    op.drop_table("post_versions")
