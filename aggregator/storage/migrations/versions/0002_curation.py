"""curation: voices, identities, curated lists, memberships and their history, remote
lists and the sync log

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "voices",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("specialty", sa.Text(), nullable=False),
        sa.Column("topics", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "curated_lists",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("topics", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "identities",
        sa.Column("id", _ID, nullable=False),
        sa.Column("voice_id", _ID, nullable=False),
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("handle", sa.String(length=512), nullable=False),
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.Column("remote_id", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["voice_id"], ["voices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("network", "key", name="uq_identities_network_key"),
    )
    op.create_index("ix_identities_voice", "identities", ["voice_id"])
    op.create_table(
        "memberships",
        sa.Column("list_id", _ID, nullable=False),
        sa.Column("voice_id", _ID, nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["list_id"], ["curated_lists.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["voice_id"], ["voices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("list_id", "voice_id"),
    )
    op.create_table(
        "membership_events",
        sa.Column("id", _ID, nullable=False),
        sa.Column("list_id", _ID, nullable=False),
        sa.Column("voice_id", _ID, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("command", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["list_id"], ["curated_lists.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["voice_id"], ["voices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_membership_events_list", "membership_events", ["list_id", "at", "id"])
    op.create_table(
        "remote_lists",
        sa.Column("list_id", _ID, nullable=False),
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("account", sa.String(length=256), nullable=False),
        sa.Column("remote_id", sa.String(length=64), nullable=False),
        sa.Column("last_synced_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["list_id"], ["curated_lists.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("list_id", "network"),
    )
    op.create_table(
        "remote_members",
        sa.Column("list_id", _ID, nullable=False),
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.Column("remote_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["list_id"], ["curated_lists.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("list_id", "network", "key"),
    )
    op.create_table(
        "sync_log",
        sa.Column("id", _ID, nullable=False),
        sa.Column("list_id", _ID, nullable=False),
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("handle", sa.String(length=512), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["list_id"], ["curated_lists.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sync_log_list", "sync_log", ["list_id", "at", "id"])


def downgrade() -> None:
    for name in ("sync_log", "remote_members", "remote_lists", "membership_events",
                 "memberships", "identities", "curated_lists", "voices"):
        op.drop_table(name)
