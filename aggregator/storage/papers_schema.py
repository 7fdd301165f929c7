"""Scholarly works the posts share (migration 0010): one row per work (a DOI, a PubMed or
PMC id, an arXiv id, an NCT number, or a scholarly page without one), and which posts
share which work.

Registered on the shared `metadata` of `storage.base` (schema.py imports this module so
that `schema.metadata` is complete). `post_works` repeats the post's time and author so
that ranking works by distinct voices over a period reads its covering index only; it
holds visible posts only (a post marked deleted loses its rows, conversation context
posts never get any), so the ranking never joins `posts`. Migration 0010 also indexes
`boosts` by time (the boosts of a period).
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text, UniqueConstraint

from aggregator.storage.base import Id, UTCDateTime, metadata

works = Table(
    "works", metadata,
    Column("id", Id, primary_key=True),
    Column("scheme", String(16), nullable=False),  # doi, pmid, pmcid, arxiv, nct, url
    Column("ident", String(512), nullable=False),  # normalized (see aggregator.papers.detect)
    Column("title", Text),  # from a post (card, URL entity, embed) or `rounds papers enrich`
    Column("title_from", String(16)),  # post, crossref
    # when `rounds papers enrich` last asked about it (whatever the answer): asked once
    Column("enriched_at", UTCDateTime),
    Column("enrich_error", Text),
    UniqueConstraint("scheme", "ident", name="uq_works_scheme_ident"),
)

post_works = Table(
    "post_works", metadata,
    Column("work_id", ForeignKey("works.id", ondelete="CASCADE"), primary_key=True),
    Column("post_id", ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),  # the post's
    Column("author_id", ForeignKey("accounts.id"), nullable=False),  # the post's
    # covering: the ranking over a period reads this index alone
    Index("ix_post_works_created", "created_at", "work_id", "author_id"),
    Index("ix_post_works_post", "post_id", "work_id"),  # a post's works; boosts -> works
    sqlite_with_rowid=False,  # the primary key is the table (migration 0013)
)
