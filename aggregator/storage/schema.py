"""The archive's core tables, and the one module whose `metadata` holds every table.

Any change to a table needs an Alembic migration in `migrations/versions/` (tests compare
this metadata with a migrated database).

Not declared here, because they are dialect-specific: the full-text index
(`posts_fts` FTS5 table and triggers on SQLite, the `search` tsvector column with its
GIN index on PostgreSQL); the migrations create them.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)

# The other table modules register on the same `metadata`; importing them here means that
# whoever imports `schema` for the whole archive (alembic's env, `db copy`, the test that
# compares metadata with a migrated database) sees every table.
from aggregator.storage import archive_schema as archive_schema
from aggregator.storage import curation_schema as curation_schema
from aggregator.storage import mute_schema as mute_schema
from aggregator.storage import papers_schema as papers_schema
from aggregator.storage import thread_schema as thread_schema
from aggregator.storage import trend_schema as trend_schema
from aggregator.storage.base import Id, UTCDateTime
from aggregator.storage.base import metadata as metadata

# A post's remote id, a reply's parent, a boost, a cursor or a resolved id: a Mastodon or X
# snowflake, or a Bluesky at:// URI (did:web authorities make those long). Migration 0004.
REMOTE_ID = 1024

accounts = Table(
    "accounts", metadata,
    Column("id", Id, primary_key=True),
    Column("network", String(16), nullable=False),
    Column("key", String(512), nullable=False),
    Column("handle", String(512), nullable=False),
    Column("display_name", Text, nullable=False, default=""),
    Column("url", Text, nullable=False, default=""),
    Column("bio", Text, nullable=False, default=""),
    Column("remote_id", String(64), nullable=False, default=""),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("network", "key", name="uq_accounts_network_key"),
)

posts = Table(
    "posts", metadata,
    Column("id", Id, primary_key=True),
    Column("network", String(16), nullable=False),
    Column("key", String(1024), nullable=False),
    Column("remote_id", String(REMOTE_ID), nullable=False),
    Column("url", Text, nullable=False, default=""),
    Column("author_id", ForeignKey("accounts.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("text", Text, nullable=False, default=""),
    Column("spoiler", Text, nullable=False, default=""),
    Column("lang", String(16)),
    Column("reply_to_id", String(REMOTE_ID)),
    Column("reply_to_author", String(512)),
    Column("quote_of", String(1024)),
    Column("hashtags", Text, nullable=False, default="[]"),  # JSON list, author's case
    Column("mentions", Text, nullable=False, default="[]"),
    Column("links", Text, nullable=False, default="[]"),
    Column("media", Text, nullable=False, default="[]"),  # JSON list of {kind,url,alt_text}
    Column("has_link", Boolean, nullable=False, default=False),
    Column("has_media", Boolean, nullable=False, default=False),
    Column("sensitive", Boolean, nullable=False, default=False),
    # the JSON as received, compressed: read and written only through storage.rawjson
    # (migration 0012; a Text column before)
    Column("raw", LargeBinary, nullable=False, default=b""),
    Column("edited_at", UTCDateTime),
    Column("deleted_at", UTCDateTime),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("is_read", Boolean, nullable=False, default=False),
    Column("starred", Boolean, nullable=False, default=False),
    # fetched only as part of a conversation (migration 0006): in no source, view or
    # unread count; searchable, exported with --context. Collected by a source: False.
    Column("context", Boolean, nullable=False, default=False, server_default=false()),
    # As the network last sent them (migration 0007); NULL: never sent (feeds, older rows).
    # boost_count counts quotes too where the network counts them apart (X, Bluesky).
    Column("reply_count", Integer),
    Column("boost_count", Integer),
    Column("like_count", Integer),
    UniqueConstraint("network", "key", name="uq_posts_network_key"),
    Index("ix_posts_created", "created_at", "id"),
    Index("ix_posts_author", "author_id", "created_at"),
    Index("ix_posts_first_seen", "first_seen", "id"),
    Index("ix_posts_reply_to", "network", "reply_to_id"),  # a conversation's replies
    # the Starred view reads only the starred posts (migration 0008)
    Index("ix_posts_starred", "created_at", "id", sqlite_where=text("starred = 1"),
          postgresql_where=text("starred")),
    # ... and the unread ones, for that count alone (migration 0014)
    Index("ix_posts_starred_unread", "created_at", "id",
          sqlite_where=text("starred = 1 AND is_read = 0"),
          postgresql_where=text("starred AND NOT is_read")),
)

boosts = Table(
    "boosts", metadata,
    Column("post_id", ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
    Column("booster_id", ForeignKey("accounts.id"), primary_key=True),
    Column("remote_id", String(REMOTE_ID), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # the boosts of a period, read alone (migration 0010: who shared a paper this week)
    Index("ix_boosts_created", "created_at", "post_id", "booster_id"),
)

sources = Table(
    "sources", metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(256), nullable=False, unique=True),
    Column("network", String(16), nullable=False),
    Column("account", String(256), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("value", Text, nullable=False),
    Column("cursor", String(REMOTE_ID)),
    Column("resolved_id", String(REMOTE_ID)),
    Column("last_run_at", UTCDateTime),
    Column("last_success_at", UTCDateTime),
    Column("last_error", Text),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("claimed_by", String(128)),
    Column("claim_expires_at", UTCDateTime),
)

post_sources = Table(
    "post_sources", metadata,
    Column("post_id", ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
    Column("source_id", ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),  # the post's, for ordered reads
    Column("first_seen", UTCDateTime, nullable=False),
    Index("ix_post_sources_source", "source_id", "created_at", "post_id"),
    sqlite_with_rowid=False,  # the primary key is the table (migration 0012)
)

post_topics = Table(
    "post_topics", metadata,
    Column("post_id", ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
    Column("topic", String(64), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),  # the post's, for ordered reads
    Column("rule", String(64), nullable=False),  # hashtag, keyword, phrase, source, voice, ...
    Column("matched", Text, nullable=False, default=""),
    Column("weight", Integer, nullable=False, default=1),
    Index("ix_post_topics_topic", "topic", "created_at", "post_id"),
    sqlite_with_rowid=False,  # the primary key is the table (migration 0012)
)

runs = Table(
    "runs", metadata,
    Column("id", Id, primary_key=True),
    Column("source_id", ForeignKey("sources.id", ondelete="CASCADE"), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("outcome", String(16), nullable=False, default="running"),  # running, ok, error
    Column("new", Integer, nullable=False, default=0),
    Column("existing", Integer, nullable=False, default=0),
    Column("requests", Integer, nullable=False, default=0),
    Column("items_read", Integer, nullable=False, default=0),
    Column("users_read", Integer, nullable=False, default=0),
    Column("error", Text),
    Index("ix_runs_source", "source_id", "started_at"),
)

app_state = Table(
    "app_state", metadata,
    Column("key", String(128), primary_key=True),
    Column("value", Text, nullable=False),
)
