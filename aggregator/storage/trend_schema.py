"""The daily rollup behind `rounds trends` and the reader's Trends view (migration 0011).

One row per UTC day and topic (`topic_days`) and per UTC day and hashtag (`hashtag_days`,
lower case): how many visible posts (not deleted, not conversation context) of that day
carry it. Kept exact in the same transaction as every write that changes those counts
(`storage.trend_rollup`), so the Trends view reads a few thousand small rows instead of
counting a million posts.
"""

from __future__ import annotations

from sqlalchemy import Column, Date, Integer, String, Table

from aggregator.storage.base import metadata

HASHTAG_CHARS = 128  # a longer hashtag is counted under its first 128 characters

topic_days = Table(
    "topic_days", metadata,
    Column("day", Date, primary_key=True),
    Column("topic", String(64), primary_key=True),
    Column("posts", Integer, nullable=False),
)

hashtag_days = Table(
    "hashtag_days", metadata,
    Column("day", Date, primary_key=True),
    Column("hashtag", String(HASHTAG_CHARS), primary_key=True),
    Column("posts", Integer, nullable=False),
)
