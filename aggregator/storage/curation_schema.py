"""Curation tables: voices, their network identities, curated lists, memberships, the
membership history, links to remote lists and what each sync applied.

Registered on the shared `metadata` of `storage.base` (schema.py imports this module so
that `schema.metadata` is complete); migration 0002.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, String, Table, Text, UniqueConstraint

from aggregator.storage.base import Id, UTCDateTime, metadata

voices = Table(
    "voices", metadata,
    Column("id", Id, primary_key=True),
    Column("name", Text, nullable=False, default=""),
    Column("role", String(64), nullable=False, default=""),
    Column("specialty", Text, nullable=False, default=""),
    Column("topics", Text, nullable=False, default="[]"),  # JSON list of topic ids
    Column("note", Text, nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

identities = Table(
    "identities", metadata,
    Column("id", Id, primary_key=True),
    Column("voice_id", ForeignKey("voices.id", ondelete="CASCADE"), nullable=False),
    Column("network", String(16), nullable=False),
    Column("handle", String(512), nullable=False),  # user@domain on Mastodon, username on X
    Column("key", String(512), nullable=False),  # handle lowercased: what makes it unique
    Column("remote_id", String(64), nullable=False, default=""),  # X user id once resolved
    Column("display_name", Text, nullable=False, default=""),
    UniqueConstraint("network", "key", name="uq_identities_network_key"),
    Index("ix_identities_voice", "voice_id"),
)

curated_lists = Table(
    "curated_lists", metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(256), nullable=False, unique=True),
    Column("topics", Text, nullable=False, default="[]"),
    Column("created_at", UTCDateTime, nullable=False),
)

memberships = Table(
    "memberships", metadata,
    Column("list_id", ForeignKey("curated_lists.id", ondelete="CASCADE"), primary_key=True),
    Column("voice_id", ForeignKey("voices.id", ondelete="CASCADE"), primary_key=True),
    Column("added_at", UTCDateTime, nullable=False),
)

membership_events = Table(
    "membership_events", metadata,
    Column("id", Id, primary_key=True),
    Column("list_id", ForeignKey("curated_lists.id", ondelete="CASCADE"), nullable=False),
    Column("voice_id", ForeignKey("voices.id", ondelete="CASCADE"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("action", String(16), nullable=False),  # added, removed, moved
    Column("present", Boolean, nullable=False),  # on the list after this event
    Column("detail", Text, nullable=False, default=""),  # "to LIST" / "from LIST"
    Column("command", Text, nullable=False, default=""),  # which command did it
    Index("ix_membership_events_list", "list_id", "at", "id"),
)

remote_lists = Table(
    "remote_lists", metadata,
    Column("list_id", ForeignKey("curated_lists.id", ondelete="CASCADE"), primary_key=True),
    Column("network", String(16), primary_key=True),
    Column("account", String(256), nullable=False),  # account name in the settings
    Column("remote_id", String(64), nullable=False),
    Column("last_synced_at", UTCDateTime),
)

# What we last saw (or made) on each remote list: the base a pull compares against.
remote_members = Table(
    "remote_members", metadata,
    Column("list_id", ForeignKey("curated_lists.id", ondelete="CASCADE"), primary_key=True),
    Column("network", String(16), primary_key=True),
    Column("key", String(512), primary_key=True),  # identity key (handle, lowercased)
    Column("remote_id", String(64), nullable=False, default=""),
)

sync_log = Table(
    "sync_log", metadata,
    Column("id", Id, primary_key=True),
    Column("list_id", ForeignKey("curated_lists.id", ondelete="CASCADE"), nullable=False),
    Column("network", String(16), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("action", String(16), nullable=False),  # add, remove, follow, create, pull
    Column("handle", String(512), nullable=False, default=""),
    Column("outcome", String(16), nullable=False),  # done, failed, skipped
    Column("detail", Text, nullable=False, default=""),
    Index("ix_sync_log_list", "list_id", "at", "id"),
)
