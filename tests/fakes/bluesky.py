"""A fake Bluesky XRPC server for tests: recorded responses plus feeds tests control.

`FakeBluesky` is a `Handler` for `LoopbackServer`. It serves, under ``/xrpc/``:

* ``app.bsky.feed.getListFeed`` / ``getAuthorFeed`` / ``getFeed`` ({feed, cursor?}) and
  ``app.bsky.feed.searchPosts`` ({posts, cursor?}; needs a login: 401
  AuthenticationRequired without one, as since 2025), ``app.bsky.feed.getPosts``,
  ``app.bsky.graph.getList``, ``com.atproto.identity.resolveHandle``;
* ``com.atproto.server.createSession`` / ``refreshSession`` with JWT-shaped fake tokens
  whose ``exp`` the fake enforces on the injected clock: an expired access token is a
  **400** ``ExpiredToken`` "Token has expired"; a refresh token works once (refreshSession
  rotates it), after that it is a 400 ``ExpiredToken`` "Token has been revoked".

Where real servers differ from the obvious, so does the fake: feeds are ordered by the
entry's indexedAt (a repost by ``reason.indexedAt``, not by the post), cursors are opaque
and come in several formats (an ISO time, ``<ms>__<cid>``, ``<ms>::<cid>``, a search
offset) that point at the last entry served; the last page has **no** ``cursor`` key; an
unknown cursor answers ``{"feed": []}``; a missing list's feed is a 200 with no items (only
getList says "List not found"); every answer carries ``RateLimit-Limit/-Remaining/-Reset``
(epoch seconds) and ``RateLimit-Policy`` in Title-Case, and a request beyond the budget is
a 429 ``RateLimitExceeded``. Faults (5xx, stalls, HTML 429 without headers) are armed on
the server: ``server.faults.arm(Reply(...), "getListFeed")``.

Feed keys: ``list:<at-uri>``, ``author:<did>``, ``feed:<at-uri>``, ``search:<q>``.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import itertools
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aggregator.clock import Clock, SystemClock
from aggregator.settings import AccountSettings
from tests.fakes.both import BothNetworks
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.server import LoopbackServer, Reply, Request, serve
from tests.fakes.twitter import FakeX

DATA = Path(__file__).resolve().parent.parent / "data" / "bluesky"
Json = dict[str, Any]

HANDLE = "curator.example.org"
ACCOUNT_DID = "did:plc:curatorcuratorcurator00"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"  # the shape of a Bluesky app password
PASSWORD_ENV = "ROUNDS_SKY_APP_PASSWORD"
# Recorded feeds (tests/data/bluesky/_manifest.json has each request)
LIST_URI = "at://did:plc:ragtjsm2j2vknwkz3zp4oxrd/app.bsky.graph.list/3kmokjyuflk2g"
LIST_OWNER = "pfrazee.com"
AUTHOR_HANDLE = "chriskenny.bsky.social"
AUTHOR_DID = "did:plc:wpe35pganb6d4pg4ekmfy6u5"
FEED_URI = "at://did:plc:z72i7hdynmk6r22z27h6tvur/app.bsky.feed.generator/bsky-team"
SEARCH_Q = "redistricting"
# A synthetic list tests fill
SYN_LIST = "at://did:plc:curatorcuratorcurator00/app.bsky.graph.list/3kabcsynthetic"
CURSOR_STYLES = ("iso", "ms-cid", "legacy", "offset")
LIMITS = {"getListFeed": 100, "getAuthorFeed": 100, "getFeed": 100, "searchPosts": 100}


def load(name: str) -> Any:
    with (DATA / name).open(encoding="utf-8") as fh:
        return json.load(fh)


def iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{when.microsecond // 1000:03d}Z"


def xrpc_error(status: int, error: str, message: str, **headers: str) -> Reply:
    return Reply.json({"error": error, "message": message}, status, **headers)


def entry_time(item: Json) -> str:
    reason = item.get("reason") or {}
    if reason.get("$type") == "app.bsky.feed.defs#reasonRepost":
        return str(reason.get("indexedAt"))
    return str(item["post"].get("indexedAt"))


def _b64(data: Json) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


class FakeBluesky:
    """In-memory AppView + entryway; `__call__` serves one request."""

    def __init__(self, clock: Clock | None = None, *, handle: str = HANDLE,
                 password: str = APP_PASSWORD, access_ttl: float = 7200,
                 refresh_ttl: float = 90 * 86400) -> None:
        self.clock = clock or SystemClock()
        self.handle, self.password = handle, password
        self.access_ttl, self.refresh_ttl = access_ttl, refresh_ttl
        self.feeds: dict[str, list[Json]] = {}
        self.cursor_style: dict[str, str] = {}
        self.lists: dict[str, Json] = {}
        self.handles: dict[str, str] = {handle: ACCOUNT_DID, AUTHOR_HANDLE: AUTHOR_DID}
        self.posts: dict[str, Json] = {}
        self.blocked: dict[str, str] = {}  # post uri -> its author's DID (a block either way)
        self.access: dict[str, datetime] = {}  # token -> expiry
        self.refresh: dict[str, datetime] = {}
        self.revoked: set[str] = set()
        self.logins = self.refreshes = 0
        self.limit, self.window = 3000, 300
        self._used, self._window_start = 0, None if clock is None else clock.now()
        self._cursors: dict[tuple[str, str], int] = {}  # (feed key, token) -> position
        self._seq = itertools.count(1)
        self._time = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
        self._lock = threading.RLock()
        list_view = load("getList.json")["list"]
        self.lists[LIST_URI] = list_view
        self.handles[LIST_OWNER] = list_view["creator"]["did"]
        self.lists[SYN_LIST] = {**copy.deepcopy(list_view), "uri": SYN_LIST, "name": "MedSky"}
        self.add_items(f"list:{LIST_URI}", load("getListFeed_page.json")["feed"], "iso")
        self.add_items(f"author:{AUTHOR_DID}",
                       load("getAuthorFeed_with_repost_and_reply.json")["feed"], "legacy")
        self.add_items(f"feed:{FEED_URI}", load("getFeed_page.json")["feed"], "iso")
        self.add_items(f"search:{SEARCH_Q}",
                       [{"post": p} for p in load("searchPosts_page.json")["posts"]], "offset")
        self.feeds.setdefault(f"list:{SYN_LIST}", [])
        self.cursor_style[f"list:{SYN_LIST}"] = "ms-cid"

    # ------------------------------------------------------------ test controls

    def add_items(self, key: str, items: list[Json], style: str | None = None) -> list[Json]:
        """Put feed items on a feed (kept newest first by the entry's indexedAt)."""
        with self._lock:
            feed = self.feeds.setdefault(key, [])
            for item in items:
                feed.append(item)
                post = item["post"]
                self.posts[post["uri"]] = post
                author = post.get("author") or {}
                if author.get("handle") and author.get("did"):
                    self.handles.setdefault(author["handle"], author["did"])
            feed.sort(key=entry_time, reverse=True)
            if style:
                self.cursor_style[key] = style
        return items

    def add_posts(self, posts: list[Json]) -> None:
        """Posts on no feed that threads show (replies, parents)."""
        with self._lock:
            for post in posts:
                self.posts[post["uri"]] = post

    def reply(self, parent: Json, text: str, **kwargs: Any) -> Json:
        """A new post replying to `parent` (root: the parent's root, or the parent)."""
        root = (parent["record"].get("reply") or {}).get("root") or {
            "uri": parent["uri"], "cid": parent["cid"]}
        post = self.make_post(text, reply={"parent": {"uri": parent["uri"],
                                                      "cid": parent["cid"]},
                                           "root": root}, **kwargs)
        self.add_posts([post])
        return post

    def tick(self, seconds: float = 60) -> datetime:
        self._time += timedelta(seconds=seconds)
        return self._time

    def make_post(self, text: str = "post", *, did: str = "did:plc:authorauthorauthor0000",
                  handle: str = "doc.example.org", facets: list[Json] | None = None,
                  created_at: str | None = None, indexed_at: datetime | None = None,
                  labels: list[Json] | None = None, author_labels: list[Json] | None = None,
                  embed: Json | None = None, reply: Json | None = None) -> Json:
        """A postView as the AppView writes it (optional fields absent, not null)."""
        when = indexed_at or self.tick()
        n = next(self._seq)
        rkey = f"3l{n:011d}"[:13]
        record: Json = {"$type": "app.bsky.feed.post", "text": text,
                        "createdAt": created_at or iso(when - timedelta(seconds=1)),
                        "langs": ["en"]}
        if facets is not None:
            record["facets"] = facets
        if reply is not None:
            record["reply"] = reply
        author: Json = {"did": did, "handle": handle, "displayName": handle.split(".")[0],
                        "labels": author_labels or []}
        post: Json = {"uri": f"at://{did}/app.bsky.feed.post/{rkey}",
                      "cid": "bafyrei" + hashlib.sha256(rkey.encode()).hexdigest()[:52],
                      "author": author, "record": record, "replyCount": 0,
                      "repostCount": 0, "likeCount": 0, "indexedAt": iso(when),
                      "labels": labels or []}
        if embed is not None:
            post["embed"] = embed
        return post

    def add_new(self, key: str, n: int, **kwargs: Any) -> list[Json]:
        """`n` new posts on top of a feed; returns the postViews (newest last)."""
        posts = [self.make_post(f"post {i} on {key}", **kwargs) for i in range(n)]
        self.add_items(key, [{"post": p} for p in posts])
        return posts

    def repost(self, key: str, post: Json, *, by_did: str = "did:plc:reposterreposter00000",
               by_handle: str = "nurse.example.org") -> Json:
        when = self.tick()
        item = {"post": post, "reason": {
            "$type": "app.bsky.feed.defs#reasonRepost",
            "by": {"did": by_did, "handle": by_handle, "displayName": "Nurse", "labels": []},
            "indexedAt": iso(when)}}
        self.add_items(key, [item])
        return item

    # ------------------------------------------------------------ serving

    def __call__(self, req: Request) -> Reply:
        with self._lock:
            return self._serve(req)

    def _headers(self) -> dict[str, str]:
        now = self.clock.now()
        if self._window_start is None or (now - self._window_start).total_seconds() >= \
                self.window:
            self._window_start, self._used = now, 0
        reset = int(self._window_start.timestamp()) + self.window
        return {"RateLimit-Limit": str(self.limit),
                "RateLimit-Remaining": str(max(self.limit - self._used, 0)),
                "RateLimit-Reset": str(reset),
                "RateLimit-Policy": f"{self.limit};w={self.window}"}

    def _serve(self, req: Request) -> Reply:
        nsid = req.path.removeprefix("/xrpc/")
        headers = self._headers()
        self._used += 1
        if self._used > self.limit:
            headers["RateLimit-Remaining"] = "0"
            return xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded", **headers)
        headers["RateLimit-Remaining"] = str(self.limit - self._used)
        if nsid == "com.atproto.server.createSession":
            return self._create_session(req, headers)
        if nsid == "com.atproto.server.refreshSession":
            return self._refresh_session(req, headers)
        auth = req.headers.get("authorization", "")
        if auth:
            problem = self._check_access(auth.removeprefix("Bearer "), headers)
            if problem is not None:
                return problem
        name = nsid.rpartition(".")[2]
        if name == "searchPosts" and not auth:
            return xrpc_error(401, "AuthenticationRequired", "Authentication Required",
                              **headers)
        if name in LIMITS:
            return self._feed(req, name, headers)
        if name == "getList":
            view = self.lists.get(req.arg("list") or "")
            if view is None:
                return xrpc_error(400, "InvalidRequest", "List not found", **headers)
            return Reply.json({"list": view, "items": []}, **headers)
        if name == "resolveHandle":
            did = self.handles.get((req.arg("handle") or "").lower())
            if did is None:
                return xrpc_error(400, "InvalidRequest", "Unable to resolve handle", **headers)
            return Reply.json({"did": did}, **headers)
        if name == "getPostThread":
            return self._thread(req, headers)
        if name == "getPosts":
            uris = req.query.get("uris", [])
            if len(uris) > 25:
                return xrpc_error(400, "InvalidRequest", "uris must not have more than 25 "
                                  "elements", **headers)
            return Reply.json({"posts": [self.posts[u] for u in uris if u in self.posts]},
                              **headers)
        return xrpc_error(501, "MethodNotImplemented", "Method Not Implemented", **headers)

    def _thread(self, req: Request, headers: dict[str, str]) -> Reply:
        """getPostThread as the AppView answers (shapes of the recorded thread snapshots):
        parents up to parentHeight, replies down to depth; a parent gone is a
        #notFoundPost, one behind a block a #blockedPost; an unknown anchor a 400."""
        uri = req.arg("uri") or ""
        try:
            depth, height = int(req.arg("depth") or "6"), int(req.arg("parentHeight") or "80")
        except ValueError:
            return xrpc_error(400, "InvalidRequest", "depth must be an integer", **headers)
        if uri not in self.posts:
            return xrpc_error(400, "NotFound", f"Post not found: {uri}", **headers)

        def stub(ref: str) -> Json:
            if ref in self.blocked:
                return {"$type": "app.bsky.feed.defs#blockedPost", "author": {
                    "did": self.blocked[ref], "viewer": {"blockedBy": True}},
                    "blocked": True, "uri": ref}
            return {"$type": "app.bsky.feed.defs#notFoundPost", "notFound": True, "uri": ref}

        def parent_of(post: Json) -> str:
            return str(((post["record"].get("reply") or {}).get("parent") or {}).get("uri")
                       or "")

        def down(post: Json, level: int) -> Json:
            node: Json = {"$type": "app.bsky.feed.defs#threadViewPost", "post": post}
            if level < depth:
                kids = sorted((p for p in self.posts.values() if parent_of(p) == post["uri"]),
                              key=lambda p: p["indexedAt"])
                node["replies"] = [down(k, level + 1) for k in kids]
            node["threadContext"] = {}
            return node

        thread = down(self.posts[uri], 0)
        child = thread
        for _ in range(height):
            ref = parent_of(child["post"])
            if not ref:
                break
            if ref not in self.posts or ref in self.blocked:
                child["parent"] = stub(ref)
                break
            parent = {"$type": "app.bsky.feed.defs#threadViewPost", "post": self.posts[ref],
                      "threadContext": {}}
            child["parent"] = parent
            child = parent
        return Reply.json({"thread": thread}, **headers)

    def _feed(self, req: Request, name: str, headers: dict[str, str]) -> Reply:
        try:
            limit = int(req.arg("limit") or "50")
        except ValueError:
            limit = 0
        if not 1 <= limit <= LIMITS[name]:
            return xrpc_error(400, "InvalidRequest", f"limit must be between 1 and "
                              f"{LIMITS[name]}", **headers)
        if name == "getListFeed":
            key = f"list:{req.arg('list')}"
        elif name == "getAuthorFeed":
            actor = req.arg("actor") or ""
            did = actor if actor.startswith("did:") else self.handles.get(actor.lower())
            if did is None:
                return xrpc_error(400, "InvalidRequest", "Profile not found", **headers)
            key = f"author:{did}"
        elif name == "getFeed":
            key = f"feed:{req.arg('feed')}"
            if key not in self.feeds:
                return xrpc_error(400, "UnknownFeed", "could not find feed", **headers)
        else:
            key = f"search:{req.arg('q')}"
        feed = self.feeds.get(key, [])
        start = 0
        token = req.arg("cursor")
        if token is not None:
            known = self._cursors.get((key, token))
            if known is None:  # "fails open on clearly bad cursor"
                return Reply.json({"feed" if name != "searchPosts" else "posts": []},
                                  **headers)
            start = known
        items = feed[start:start + limit]
        wrapper = "posts" if name == "searchPosts" else "feed"
        body: Json = {wrapper: [i["post"] for i in items] if wrapper == "posts" else items}
        if start + limit < len(feed) and items:
            body["cursor"] = self._cursor(key, start + len(items), items[-1])
        return Reply.json(body, **headers)

    def _cursor(self, key: str, position: int, last: Json) -> str:
        style = self.cursor_style.get(key, "iso")
        when = datetime.fromisoformat(entry_time(last).replace("Z", "+00:00"))
        ms = int(when.timestamp() * 1000)
        token = {"iso": entry_time(last), "ms-cid": f"{ms}__{last['post'].get('cid')}",
                 "legacy": f"{ms}::{last['post'].get('cid')}", "offset": str(position)}[style]
        self._cursors[(key, token)] = position
        return token

    # ------------------------------------------------------------ sessions

    def _token(self, kind: str, ttl: float) -> tuple[str, datetime]:
        exp = self.clock.now() + timedelta(seconds=ttl)
        payload = {"scope": kind, "sub": ACCOUNT_DID, "exp": int(exp.timestamp()),
                   "jti": next(self._seq)}
        return f"{_b64({'typ': 'JWT', 'alg': 'ES256K'})}.{_b64(payload)}.fakesig", exp

    def _issue(self, headers: dict[str, str]) -> Reply:
        access, access_exp = self._token("com.atproto.access", self.access_ttl)
        refresh, refresh_exp = self._token("com.atproto.refresh", self.refresh_ttl)
        self.access[access], self.refresh[refresh] = access_exp, refresh_exp
        body = load("createSession.json")
        body.update(did=ACCOUNT_DID, handle=self.handle, accessJwt=access, refreshJwt=refresh)
        return Reply.json(body, **headers)

    def _create_session(self, req: Request, headers: dict[str, str]) -> Reply:
        data = req.json() or {}
        if (str(data.get("identifier", "")).lower() != self.handle
                or data.get("password") != self.password):
            return xrpc_error(401, "AuthenticationRequired", "Invalid identifier or password",
                              **headers)
        self.logins += 1
        return self._issue(headers)

    def _refresh_session(self, req: Request, headers: dict[str, str]) -> Reply:
        token = req.headers.get("authorization", "").removeprefix("Bearer ")
        if token in self.revoked:
            return xrpc_error(400, "ExpiredToken", "Token has been revoked", **headers)
        exp = self.refresh.get(token)
        if exp is None:
            return xrpc_error(400, "InvalidToken", "Token could not be verified", **headers)
        if self.clock.now() >= exp:
            return xrpc_error(400, "ExpiredToken", "Token has expired", **headers)
        self.revoked.add(token)
        del self.refresh[token]
        self.refreshes += 1
        return self._issue(headers)

    def _check_access(self, token: str, headers: dict[str, str]) -> Reply | None:
        exp = self.access.get(token)
        if exp is None:
            return xrpc_error(400, "InvalidToken", "Token could not be verified", **headers)
        if self.clock.now() >= exp:
            return xrpc_error(400, "ExpiredToken", "Token has expired", **headers)
        return None

    def expire_sessions(self) -> None:
        """Every access token issued so far expires now (as after two idle hours)."""
        for token in self.access:
            self.access[token] = self.clock.now()


def sky_account(base_url: str, *, login: bool = True, name: str = "sky") -> AccountSettings:
    """An account on the fake as the settings would build it."""
    if login:
        return AccountSettings(name, "bluesky", base_url, handle=HANDLE,
                               app_password_env=PASSWORD_ENV)
    return AccountSettings(name, "bluesky", base_url)


def serve_fake_bluesky(clock: Clock | None = None) -> Iterator[tuple[LoopbackServer,
                                                                     FakeBluesky]]:
    fake = FakeBluesky(clock)
    for server in serve(fake):
        yield server, fake


MISSING_LIST = "at://did:plc:curatorcuratorcurator00/app.bsky.graph.list/3knosuchlist"


def contract_harness(clock: Clock, make: Any) -> Iterator[Any]:
    """The contract suite's harness for Bluesky: `make` is its Harness class (a logged-in
    account reading the synthetic list)."""
    from aggregator.models import Target

    fake = FakeBluesky(clock)

    def add(n: int) -> set[str]:
        return {p["uri"] for p in fake.add_new(f"list:{SYN_LIST}", n)}

    for server in serve(fake):
        yield make("bluesky", sky_account(server.base_url), {PASSWORD_ENV: APP_PASSWORD},
                   clock, server, Target("list", SYN_LIST), Target("list", MISSING_LIST), add,
                   "getListFeed")


class AllNetworks(BothNetworks):
    """Bluesky's XRPC under /xrpc/, Mastodon and X as `BothNetworks` routes them: one
    loopback server for scenarios that collect from every network at once."""

    def __init__(self, mastodon: FakeMastodon, x: FakeX, sky: FakeBluesky) -> None:
        super().__init__(mastodon, x)
        self.sky = sky

    def __call__(self, req: Request) -> Reply:
        return self.sky(req) if req.path.startswith("/xrpc/") else super().__call__(req)
