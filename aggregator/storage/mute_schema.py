"""Mutes made in the reader (`M`) or with `rounds mutes add`: what they hide, until when.

Registered on the shared `metadata` of `storage.base` (schema.py imports this module so
that `schema.metadata` is complete); migration 0005. Mutes in the configuration file are
read from the settings each time and never copied here.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, String, Table, Text

from aggregator.storage.base import Id, UTCDateTime, metadata

MUTE_KINDS = ("author", "tag", "query")

mutes = Table(
    "mutes", metadata,
    Column("id", Id, primary_key=True),
    Column("kind", String(16), nullable=False),  # author, tag, query
    Column("network", String(16)),  # author: the author's network
    Column("value", Text, nullable=False),  # author: account key; tag: lower case; query
    Column("label", Text, nullable=False, default=""),  # author: the handle, as shown
    Column("created_at", UTCDateTime, nullable=False),
    Column("until", UTCDateTime),  # None: for good; after it the mute hides nothing
    Column("origin", String(16), nullable=False),  # reader, cli
    Index("ix_mutes_kind", "kind", "value"),
    sqlite_autoincrement=True,  # an id is never given again: `remove ID` means one mute
)
