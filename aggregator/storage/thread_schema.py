"""Conversations fetched on demand (`T` in the reader): when a post's thread was last
fetched, and which posts of it the server would not show (deleted, blocked).

Registered on the shared `metadata` of `storage.base` (schema.py imports this module so
that `schema.metadata` is complete); migration 0006, which also adds `posts.context`
(a post stored only as part of a conversation) and `ix_posts_reply_to` (its replies).
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Table, Text

from aggregator.storage.base import UTCDateTime, metadata

thread_fetches = Table(
    "thread_fetches", metadata,
    Column("post_id", ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
    Column("fetched_at", UTCDateTime, nullable=False),
    # JSON list of {"ref": remote id or key, "state": deleted | blocked | unavailable}
    Column("gaps", Text, nullable=False, default="[]"),
)
