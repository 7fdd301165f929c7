"""`rounds papers backfill`: the works of posts stored before works were found on ingest.

Batched and resumable by keyset: posts are read in id order, `batch` at a time, and each
batch's works commit together with how far the backfill got (app_state `papers.backfill`,
the last post id done), so an interrupted run goes on from there and a finished one only
reads the posts stored since. Storing is idempotent (a post's works already there are
left as they are), so running it again never duplicates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import orjson

from aggregator.papers.detect import detect_works, post_links
from aggregator.storage import papers as stored
from aggregator.storage.db import Database
from aggregator.storage.repository import Repository

STATE = "papers.backfill"
BATCH = 2000


@dataclass
class BackfillProgress:
    start: int  # last post id done before this run
    done: int  # last post id done so far
    top: int  # the archive's highest post id when the run started
    posts: int = 0  # posts read in this run
    sharing: int = 0  # of which share a work
    finished: bool = False


def _links(value: str) -> list[str]:
    try:
        links = orjson.loads(value or "[]")
    except orjson.JSONDecodeError:
        return []
    return [link for link in links if isinstance(link, str)] if isinstance(links, list) else []


def backfill(db: Database, repo: Repository, *, batch: int = BATCH, restart: bool = False,
             progress: Callable[[BackfillProgress], None] | None = None,
             should_stop: Callable[[], bool] | None = None) -> BackfillProgress:
    """Find the works of every stored post after the saved mark; see the module doc.
    `restart` starts from the first post again; `should_stop` is asked between batches."""
    start = 0 if restart else int(repo.get_app_state(STATE) or 0)
    state = BackfillProgress(start=start, done=start, top=stored.last_post_id(db))
    while True:
        rows = stored.posts_after(db, state.done, batch)
        if not rows:
            state.finished = True
            break
        shared = []
        for r in rows:
            if not r.visible:  # deleted, or fetched only as a conversation's context
                continue
            works = detect_works(post_links(r.network, r.url, _links(r.links)),
                                 r.spoiler + "\n" + r.text, raw=r.raw)
            if works:
                shared.append(stored.Shared(r.id, r.created_at, r.author_id, works))
        stored.save_backfill(db, shared, STATE, rows[-1].id)
        state.done = rows[-1].id
        state.posts += len(rows)
        state.sharing += len(shared)
        if progress:
            progress(state)
        if should_stop is not None and should_stop():
            break
    if progress and state.finished:
        progress(state)
    return state
