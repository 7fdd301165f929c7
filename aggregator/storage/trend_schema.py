"""The daily rollup behind `rounds trends` and the reader's Trends view (migration 0011).

One row per UTC day and topic (`topic_days`) and per UTC day and hashtag (`hashtag_days`,
lower case): how many visible posts (not deleted, not conversation context) of that day
carry it; and per UTC day, link and author (`link_days`): how many of the author's posts
of that day carry the link (the most shared links are counted by distinct authors). Kept
exact in the same transaction as every write that changes those counts
(`storage.trend_rollup`), so the Trends view reads small rows instead of a million posts.
"""

from __future__ import annotations

from sqlalchemy import Column, Date, Integer, String, Table

from aggregator.storage.base import Id, metadata

HASHTAG_CHARS = 128  # a longer hashtag is counted under its first 128 characters
LINK_CHARS = 1000  # a longer link is counted under its first 1000 characters

topic_days = Table(
    "topic_days", metadata,
    Column("day", Date, primary_key=True),
    Column("topic", String(64), primary_key=True),
    Column("posts", Integer, nullable=False),
    sqlite_with_rowid=False,  # the primary key is the table (migration 0013)
)

hashtag_days = Table(
    "hashtag_days", metadata,
    Column("day", Date, primary_key=True),
    Column("hashtag", String(HASHTAG_CHARS), primary_key=True),
    Column("posts", Integer, nullable=False),
    sqlite_with_rowid=False,  # the primary key is the table (migration 0013)
)

link_days = Table(
    "link_days", metadata,
    Column("day", Date, primary_key=True),
    Column("link", String(LINK_CHARS), primary_key=True),
    Column("author_id", Id, primary_key=True),  # accounts.id (no foreign key: prune
    Column("posts", Integer, nullable=False),  # removes the rows with the posts)
    sqlite_with_rowid=False,  # the primary key is the table (migration 0013)
)
