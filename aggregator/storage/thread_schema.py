"""Conversations fetched on demand (`T` in the reader): when a post's thread was last
fetched, and which posts of it the server would not show (deleted, blocked).

Registered on the shared `metadata` of `storage.base` (schema.py imports this module so
that `schema.metadata` is complete); migration 0006, which also adds `posts.context`
(a post stored only as part of a conversation) and `ix_posts_reply_to` (its replies).
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text

from aggregator.storage.base import Id, UTCDateTime, metadata

thread_fetches = Table(
    "thread_fetches", metadata,
    Column("post_id", ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
    Column("fetched_at", UTCDateTime, nullable=False),
    # JSON list of {"ref": remote id or key, "state": deleted | blocked | unavailable}
    Column("gaps", Text, nullable=False, default="[]"),
)

# What fetching conversations cost, per account (migration 0009): X bills every post and
# user a conversation search returns, so `Repository.reads_since` (the daily budget, `rounds
# status`) counts these with the collection runs'.
thread_reads = Table(
    "thread_reads", metadata,
    Column("id", Id, primary_key=True),
    Column("account", String(64), nullable=False),
    Column("read_at", UTCDateTime, nullable=False),
    Column("items_read", Integer, nullable=False, default=0),
    Column("users_read", Integer, nullable=False, default=0),
    Column("requests", Integer, nullable=False, default=0),
    Index("ix_thread_reads_account", "account", "read_at"),
)
