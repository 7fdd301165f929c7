"""Export: one record per post, oldest first, streamed in keyset batches (constant memory).

The record shape is the same for every network; `--raw` adds the JSON as received.
Deleted posts are left out, out of respect for their authors' choice; posts fetched only
as part of a conversation (context) unless asked for.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from sqlalchemy import ColumnElement, and_, false, or_, select, true

from aggregator.storage.db import Database
from aggregator.storage.mutes import unmuted
from aggregator.storage.rawjson import decode_raw
from aggregator.storage.schema import accounts, boosts, post_sources, post_topics, posts, sources

FIELDS = ("network", "id", "key", "url", "author", "author_name", "created_at", "edited_at",
          "text", "spoiler", "lang", "reply_to_id", "quote_of", "hashtags", "mentions", "links",
          "media", "sources", "boosted_by", "topics", "facets")
BATCH = 1000


@dataclass(frozen=True, slots=True)
class ExportFilter:
    since: datetime | None = None
    until: datetime | None = None
    sources: Sequence[str] = ()
    network: str | None = None
    where: ColumnElement[bool] | None = None  # from the query language
    muted: ColumnElement[bool] | None = None  # posts to leave out: what the mutes hide
    context: bool = False  # also posts fetched only as part of a conversation


def iso_z(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _conditions(flt: ExportFilter) -> ColumnElement[bool]:
    cond: list[ColumnElement[bool]] = [posts.c.deleted_at.is_(None)]
    if not flt.context:
        cond.append(posts.c.context == false())
    if flt.since:
        cond.append(posts.c.created_at >= flt.since)
    if flt.until:
        cond.append(posts.c.created_at < flt.until)
    if flt.network:
        cond.append(posts.c.network == flt.network)
    if flt.sources:
        cond.append(posts.c.id.in_(
            select(post_sources.c.post_id).join(sources, sources.c.id == post_sources.c.source_id)
            .where(sources.c.name.in_(list(flt.sources)))))
    if flt.where is not None:
        cond.append(flt.where)
    if flt.muted is not None:
        cond.append(unmuted(flt.muted))
    return and_(true(), *cond)


def iter_records(db: Database, flt: ExportFilter, *, raw: bool = False,
                 newest_first: bool = False, limit: int | None = None,
                 ) -> Iterator[dict[str, Any]]:
    """Records oldest (or newest) first; each batch is one short read, so a collector can
    keep writing meanwhile."""
    where = _conditions(flt)
    last: tuple[datetime, int] | None = None
    order = (posts.c.created_at.desc(), posts.c.id.desc()) if newest_first else (
        posts.c.created_at, posts.c.id)
    left = limit
    while left is None or left > 0:
        stmt = (select(posts, accounts.c.handle, accounts.c.display_name)
                .join(accounts, accounts.c.id == posts.c.author_id).where(where)
                .order_by(*order).limit(BATCH if left is None else min(BATCH, left)))
        if last is not None and newest_first:
            stmt = stmt.where(or_(posts.c.created_at < last[0],
                                  and_(posts.c.created_at == last[0], posts.c.id < last[1])))
        elif last is not None:
            stmt = stmt.where(or_(posts.c.created_at > last[0],
                                  and_(posts.c.created_at == last[0], posts.c.id > last[1])))
        with db.engine.connect() as conn:
            rows = conn.execute(stmt).all()
            if not rows:
                return
            ids = [r.id for r in rows]
            names = _grouped(conn.execute(
                select(post_sources.c.post_id, sources.c.name)
                .join(sources, sources.c.id == post_sources.c.source_id)
                .where(post_sources.c.post_id.in_(ids)).order_by(sources.c.name)))
            boosters = _grouped(conn.execute(
                select(boosts.c.post_id, accounts.c.handle)
                .join(accounts, accounts.c.id == boosts.c.booster_id)
                .where(boosts.c.post_id.in_(ids)).order_by(boosts.c.created_at)))
            topics = _grouped(conn.execute(
                select(post_topics.c.post_id, post_topics.c.topic)
                .where(post_topics.c.post_id.in_(ids)).order_by(post_topics.c.topic)))
        if left is not None:
            left -= len(rows)
        for r in rows:
            labels = topics.get(r.id, [])
            record: dict[str, Any] = {
                "network": r.network, "id": r.remote_id, "key": r.key, "url": r.url,
                "author": r.handle, "author_name": r.display_name,
                "created_at": iso_z(r.created_at), "edited_at": iso_z(r.edited_at),
                "text": r.text, "spoiler": r.spoiler, "lang": r.lang,
                "reply_to_id": r.reply_to_id, "quote_of": r.quote_of,
                "hashtags": json.loads(r.hashtags), "mentions": json.loads(r.mentions),
                "links": json.loads(r.links), "media": json.loads(r.media),
                "sources": names.get(r.id, []), "boosted_by": boosters.get(r.id, []),
                "topics": [t for t in labels if ":" not in t],
                "facets": [t for t in labels if ":" in t],  # community:…, type:…
            }
            if raw:
                text = decode_raw(r.raw)
                record["raw"] = json.loads(text) if text else None
            yield record
        last = (rows[-1].created_at, rows[-1].id)


def _grouped(rows: Any) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    for post_id, value in rows:
        out[post_id].append(value)
    return out


def write_jsonl(records: Iterator[dict[str, Any]], out: IO[str]) -> int:
    n = 0
    for record in records:
        # ensure_ascii keeps every control character escaped: nothing from a post can act
        # on a terminal that displays the file.
        out.write(json.dumps(record, ensure_ascii=True, separators=(",", ":")))
        out.write("\n")
        n += 1
    return n


def write_csv(records: Iterator[dict[str, Any]], out: IO[str], *, raw: bool = False) -> int:
    fields = [*FIELDS, "raw"] if raw else list(FIELDS)
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    n = 0
    for record in records:
        row = {k: (json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v)
               for k, v in record.items()}
        writer.writerow(row)
        n += 1
    return n
