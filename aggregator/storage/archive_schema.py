"""Edit history: earlier versions of posts that were edited upstream.

Registered on the shared `metadata` of `storage.base` (schema.py imports this module so
that `schema.metadata` is complete); migration 0003.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Table, Text

from aggregator.storage.base import Id, UTCDateTime, metadata

post_versions = Table(
    "post_versions", metadata,
    Column("id", Id, primary_key=True),
    Column("post_id", ForeignKey("posts.id", ondelete="CASCADE"), nullable=False),
    Column("edited_at", UTCDateTime),  # when this version was written (None: the original)
    Column("text", Text, nullable=False, default=""),
    Column("spoiler", Text, nullable=False, default=""),
    Column("replaced_at", UTCDateTime, nullable=False),  # when we saw the newer version
    Index("ix_post_versions_post", "post_id", "id"),
)
