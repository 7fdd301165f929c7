"""The demo's Bluesky AppView: data/demo/bluesky.json served as XRPC queries.

GET ``/xrpc/app.bsky.feed.getListFeed`` (list, limit, cursor), ``app.bsky.feed.getAuthorFeed``
(actor: DID or handle), ``app.bsky.feed.getPostThread`` (uri: the post, its parents and
replies as thread views), ``app.bsky.graph.getList`` and ``com.atproto.identity.resolveHandle``,
anonymously, as the public AppView answers them: feeds newest first by the time an item
entered the feed (a repost at its repost time), ``limit`` 1-100 (default 50), an opaque
cursor on every page but the last (which has no ``cursor`` key), ``{"feed": []}`` for a
cursor it does not know, ``RateLimit-*`` headers with an epoch-seconds reset, and errors as
``{"error", "message"}`` (getListFeed of a missing list is an empty feed; only getList says
"List not found").
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timedelta

from aggregator.demo.samples import Json, SampleFile, limit_of
from aggregator.demo.server import Answer

PREFIX = "/xrpc/"


def _entry_time(item: Json) -> str:
    reason = item.get("reason") or {}
    return str(reason.get("indexedAt") or item["post"]["indexedAt"])


def _key(item: Json) -> str:
    reason = item.get("reason") or {}
    return str(reason.get("uri") or item["post"]["uri"])


def _error(status: int, error: str, message: str) -> Answer:
    return Answer(status, {"error": error, "message": message})


class BlueskySamples(SampleFile):
    """The sample list's feed, its members' author feeds, the list view, handles."""

    FILE = "bluesky.json"
    requires_token = False  # the public AppView reads without a login

    def __init__(self, now: datetime) -> None:
        super().__init__(now)
        self.feed: list[Json] = sorted(self.data["feed"], key=_entry_time, reverse=True)
        self.list_view: Json = self.data["list"]
        self.members: list[Json] = self.data["members"]
        self.dids = {m["handle"]: m["did"] for m in self.members}

    def handles(self, path: str) -> bool:
        return path.startswith(PREFIX)

    def answer(self, path: str, query: dict[str, str], base_url: str) -> Answer:
        nsid = path.removeprefix(PREFIX).rstrip("/")
        shown = [i for i in self.feed if _key(i) not in self.held]
        if nsid == "app.bsky.feed.getListFeed":
            ids = set(self.lists.get(query.get("list", ""), ()))
            return self._page([i for i in shown if _key(i) in ids], query)
        if nsid == "app.bsky.feed.getAuthorFeed":
            actor = query.get("actor", "")
            did = self.dids.get(actor.lower(), actor)
            return self._page([i for i in shown if _by(i) == did], query)
        if nsid == "app.bsky.feed.getPostThread":
            return self._thread(query.get("uri", ""), shown)
        if nsid == "app.bsky.graph.getList":
            if query.get("list") != self.list_view["uri"]:
                return _error(400, "InvalidRequest", "List not found")
            items = [{"uri": f"{self.list_view['uri']}/item{n}", "subject": m}
                     for n, m in enumerate(self.members)]
            return self._answer({"list": self.list_view,
                                 "items": items[:limit_of(query, "limit", 50, 1, 100)]})
        if nsid == "com.atproto.identity.resolveHandle":
            did = self.dids.get(query.get("handle", "").lower())
            if did is None:
                return _error(400, "InvalidRequest", "Unable to resolve handle")
            return self._answer({"did": did})
        return _error(501, "MethodNotImplemented", "Method Not Implemented")

    def _thread(self, uri: str, shown: list[Json]) -> Answer:
        posts = {i["post"]["uri"]: i["post"] for i in shown}
        if uri not in posts:
            return _error(400, "NotFound", f"Post not found: {uri}")

        def parent_of(post: Json) -> str | None:
            reply = post.get("record", {}).get("reply") or {}
            return (reply.get("parent") or {}).get("uri")

        def view(post: Json, *, up: int, down: int) -> Json:
            out: Json = {"$type": "app.bsky.feed.defs#threadViewPost", "post": post}
            parent = parent_of(post)
            if up and parent in posts:
                out["parent"] = view(posts[parent], up=up - 1, down=0)
            if down:
                out["replies"] = [view(p, up=0, down=down - 1) for p in posts.values()
                                  if parent_of(p) == post["uri"]]
            return out

        return self._answer({"thread": view(posts[uri], up=80, down=6)})

    def _page(self, items: list[Json], query: dict[str, str]) -> Answer:
        cursor = query.get("cursor")
        if cursor:
            after = _decode(cursor)
            if after is None or not any(_key(i) == after[1] for i in items):
                return self._answer({"feed": []})  # the AppView's answer to a bad cursor
            items = [i for i in items if (_entry_time(i), _key(i)) < after]
        size = limit_of(query, "limit", 50, 1, 100)
        body: Json = {"feed": items[:size]}
        if len(items) > size:
            last = items[size - 1]
            body["cursor"] = _encode(_entry_time(last), _key(last))
        return self._answer(body)

    def _answer(self, body: Json) -> Answer:
        reset = int((self.now + timedelta(minutes=5)).timestamp())
        return Answer(200, body, {"RateLimit-Limit": "3000", "RateLimit-Remaining": "2999",
                                  "RateLimit-Reset": str(reset),
                                  "RateLimit-Policy": "3000;w=300"})


def _by(item: Json) -> str:
    """Whose author feed an item is on: the reposter's for a repost."""
    reason = item.get("reason") or {}
    return str((reason.get("by") or item["post"]["author"])["did"])


def _encode(when: str, key: str) -> str:
    return base64.urlsafe_b64encode(f"{when}|{key}".encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[str, str] | None:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    when, sep, key = text.partition("|")
    return (when, key) if sep else None

