"""A fake X API v2 for tests: recorded responses plus timelines tests control.

`FakeX` is a `Handler` for `LoopbackServer` (``LoopbackServer(fake.handle)``). It serves:

* ``GET /2/lists/:id/tweets``: pagination_token, max_results 1-100 (default 100), NO since_id
  (a 400 like X's, so a collector that sends one fails loudly); only the newest 800 posts;
* ``GET /2/users/:id/tweets``: since_id, pagination_token, max_results 5-100 (default 10);
* ``GET /2/tweets/search/recent``: query, since_id, next_token/pagination_token,
  max_results 10-100 (default 10);
* ``GET /2/users/by/username/:username``;
* ``GET /2/tweets?ids=``: the tweets known, a partial not-found error for each other id.

Conversations: a reply's ``conversation_id`` is its parent's. ``query=conversation_id:ID``
searches every known tweet of that conversation, like X: the root itself is never an entry
(it comes only in ``includes``, as the tweet the replies reply to), and only tweets of the
last 7 days (on the fake's clock) are found. `reads`/`users_read` bill like X: every tweet
sent counts, entries and referenced ones, and every user object.

Like X: newest first; ``data`` is absent on an empty page; list pages have no
newest_id/oldest_id in ``meta``; ``next_token`` is opaque and points at the last entry
served (so posts added between pages don't shift later pages); only the fields, users,
referenced tweets and media that ``tweet.fields``/``user.fields``/``media.fields``/
``expansions`` ask for are sent; a referenced tweet that is gone becomes a partial
``errors`` entry in the 200; an unknown list/user id or username is a 200 with only an
``errors`` entry; unknown parameters or field names are a 400 ``invalid-request``;
no ``Authorization: Bearer <token>`` is a 401. Every response carries
x-rate-limit-limit/-remaining/-reset (epoch seconds on the injected clock) and a request
beyond the budget gets a 429.

Faults (5xx, resets, stalls, truncated bodies) are armed on the server:
``server.faults.arm(Reply(...), path_contains="/tweets")``. Partial errors are armed on
the fake: ``fake.arm_partial_errors([...])``.

Timeline keys: ``list:<id>``, ``user:<user id>``, ``search:<query>`` (exact query text).
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aggregator.clock import Clock, SystemClock
from tests.fakes.server import Reply, Request

DATA = Path(__file__).resolve().parent.parent / "data" / "twitter"
TOKEN = "fake-x-bearer-token"
LIST_HORIZON = 800
PROBLEMS = "https://api.twitter.com/2/problems"

Json = dict[str, Any]

TWEET_FIELDS = {
    "article", "attachments", "author_id", "card_uri", "community_id", "context_annotations",
    "conversation_id", "created_at", "display_text_range", "edit_controls",
    "edit_history_tweet_ids", "entities", "geo", "id", "in_reply_to_user_id", "lang",
    "media_metadata", "non_public_metrics", "note_tweet", "organic_metrics",
    "possibly_sensitive", "promoted_metrics", "public_metrics", "referenced_tweets",
    "reply_settings", "scopes", "source", "text", "withheld",
}
USER_FIELDS = {
    "affiliation", "connection_status", "created_at", "description", "entities", "id",
    "location", "most_recent_tweet_id", "name", "pinned_tweet_id", "profile_banner_url",
    "profile_image_url", "protected", "public_metrics", "receives_your_dm",
    "subscription_type", "url", "username", "verified", "verified_type", "withheld",
}
MEDIA_FIELDS = {
    "alt_text", "duration_ms", "height", "media_key", "non_public_metrics", "organic_metrics",
    "preview_image_url", "promoted_metrics", "public_metrics", "type", "url", "variants",
    "width",
}
TWEET_EXPANSIONS = {
    "attachments.media_keys", "attachments.poll_ids", "author_id", "edit_history_tweet_ids",
    "entities.mentions.username", "geo.place_id", "in_reply_to_user_id",
    "referenced_tweets.id", "referenced_tweets.id.author_id",
    "referenced_tweets.id.attachments.media_keys", "entities.note.mentions.username",
}
USER_EXPANSIONS = {"pinned_tweet_id", "affiliation.user_id", "most_recent_tweet_id"}
_COMMON = {"expansions", "tweet.fields", "user.fields", "media.fields", "place.fields",
           "poll.fields"}
_ENDPOINTS: dict[str, tuple[set[str], int, int, int]] = {
    # name: (allowed parameters, min, max, default max_results)
    "list": (_COMMON | {"max_results", "pagination_token"}, 1, 100, 100),
    "user": (_COMMON | {"max_results", "pagination_token", "since_id", "until_id",
                        "start_time", "end_time", "exclude"}, 5, 100, 10),
    "search": (_COMMON | {"query", "max_results", "pagination_token", "next_token",
                          "since_id", "until_id", "start_time", "end_time", "sort_order"},
               10, 100, 10),
    "username": ({"expansions", "tweet.fields", "user.fields"}, 0, 0, 0),
    "lookup": (_COMMON | {"ids"}, 0, 0, 0),
}
_ROUTES = [
    (re.compile(r"^/2/lists/([^/]+)/tweets$"), "list"),
    (re.compile(r"^/2/users/by/username/([^/]+)$"), "username"),
    (re.compile(r"^/2/users/([^/]+)/tweets$"), "user"),
    (re.compile(r"^/2/tweets/search/recent$"), "search"),
    (re.compile(r"^/2/tweets$"), "lookup"),
]
_CONVERSATION = re.compile(r"^conversation_id:(\d+)$")
SEARCH_WINDOW = timedelta(days=7)
_HASHTAG = re.compile(r"#(\w+)")


def load_fixture(name: str) -> Json:
    """A recorded response envelope, e.g. ``load_fixture("v2/lists_tweets.json")``."""
    with (DATA / name).open(encoding="utf-8") as fh:
        data: Json = json.load(fh)
    return data


def load_body(name: str) -> Any:
    return copy.deepcopy(load_fixture(name)["body"])


def _order(tweet_id: str) -> tuple[int, str]:
    return (len(tweet_id), tweet_id)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def problem(status: int, title: str, detail: str, kind: str = "about:blank",
            **extra: Any) -> Reply:
    """An error answer shaped like X's (RFC 7807 problem JSON)."""
    return Reply.json({"title": title, "detail": detail, "type": kind, "status": status,
                       **extra}, status=status)


def not_found_error(value: str, resource: str, parameter: str) -> Json:
    """A partial error as X puts it into a 200's `errors` array."""
    return {"value": value, "detail": f"Could not find {resource} with {parameter}: [{value}].",
            "title": "Not Found Error", "resource_type": resource, "parameter": parameter,
            "resource_id": value, "type": f"{PROBLEMS}/resource-not-found"}


class FakeX:
    """In-memory X: users, tweets, media, timelines, a rate budget; `handle` serves it."""

    def __init__(self, clock: Clock | None = None, *, token: str = TOKEN) -> None:
        self.clock = clock or SystemClock()
        self.token = token
        self.users: dict[str, Json] = {}
        self.tweets: dict[str, Json] = {}
        self.media: dict[str, Json] = {}
        self.timelines: dict[str, list[str]] = {}  # key -> tweet ids, newest first
        self._lock = threading.RLock()
        self._ids = itertools.count(1_900_000_000_000_000_000)  # > 2^53, like real ids
        self._tokens: dict[str, tuple[str, str]] = {}  # next_token -> (key, last id served)
        self._token_seq = itertools.count(1)
        self._partial: list[Json] = []
        # recent search's 7-day window: a since_id older than this id is a 400 (None: no limit)
        self.search_oldest_since: str | None = None
        self._time = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # created_at of synthetic posts
        self.limit, self.window = 900, 900
        self._window_start: float | None = None
        self._used = 0
        self.reads = 0  # tweets sent (entries and includes): what X bills
        self.users_read = 0
        for name in ("v2_expansions/search_recent_includes_users_tweets.json",
                     "v2_expansions/users_lookup_all_fields.json",
                     "v2_expansions/tweets_quote_tweets_context_annotations.json"):
            body = load_body(name)
            for user in body.get("includes", {}).get("users", []) + (
                    body["data"] if "users_lookup" in name else []):
                self.users.setdefault(user["id"], user)
        self._templates = [t for t in load_body(
            "v2_expansions/search_recent_includes_users_tweets.json")["data"]]

    # ------------------------------------------------------------ test controls

    def add_user(self, user: Json) -> Json:
        with self._lock:
            self.users[user["id"]] = user
        return user

    def user_by_name(self, username: str) -> Json:
        for user in self.users.values():
            if user["username"].lower() == username.lower():
                return user
        raise KeyError(username)

    def add_tweets(self, timeline_key: str, tweets: Iterable[Json]) -> list[Json]:
        """Put tweets (full objects, any order) on a timeline; also known for lookups."""
        tweets = list(tweets)
        with self._lock:
            ids = self.timelines.setdefault(timeline_key, [])
            for tweet in tweets:
                self.tweets[tweet["id"]] = tweet
                if tweet["id"] not in ids:
                    ids.append(tweet["id"])
            ids.sort(key=_order, reverse=True)
        return tweets

    def add_recorded(self, timeline_key: str, fixture: str) -> Json:
        """Serve a recorded page's data (and its includes) on a timeline; returns the body."""
        body: Json = load_body(fixture)
        inc = body.get("includes", {})
        with self._lock:
            for user in inc.get("users", []):
                self.users[user["id"]] = user
            for tweet in inc.get("tweets", []):
                self.tweets.setdefault(tweet["id"], tweet)
            for item in inc.get("media", []):
                self.media[item["media_key"]] = item
        data = body["data"] if isinstance(body["data"], list) else [body["data"]]
        self.add_tweets(timeline_key, data)
        return body

    def forget(self, tweet_id: str) -> None:
        """The tweet is deleted: gone from timelines and from expansions."""
        with self._lock:
            self.tweets.pop(tweet_id, None)
            for ids in self.timelines.values():
                if tweet_id in ids:
                    ids.remove(tweet_id)

    def set_budget(self, limit: int, window_seconds: int) -> None:
        with self._lock:
            self.limit, self.window = limit, window_seconds
            self._window_start, self._used = None, 0

    def arm_partial_errors(self, errors: list[Json]) -> None:
        """The next tweet collection response carries these in its `errors` array."""
        with self._lock:
            self._partial.extend(errors)

    def new_id(self) -> str:
        return str(next(self._ids))

    def make_tweet(self, author: str = "snowman", text: str = "A post about #MedTwitter", *,
                   urls: Iterable[str] = (), reply_to: Json | None = None,
                   quote_of: Json | None = None, note_text: str | None = None,
                   media: Json | None = None, lang: str = "en") -> Json:
        """A realistic tweet cloned from a recorded one, with a new id and given content.

        `author` is a username known to the fake (recorded users) or a user id. `urls` are
        appended as t.co links with entities; hashtags in `text` get entities with the
        author's case; `media` (a media object) is attached with its own t.co link.
        """
        with self._lock:
            template = self._templates[next(self._token_seq) % len(self._templates)]
            tweet: Json = copy.deepcopy(template)
            tweet_id = self.new_id()
            self._time += timedelta(minutes=1)
            user = self.users.get(author) or self.user_by_name(author)
            text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            entities: Json = {}
            links: list[Json] = []
            for url in urls:
                short = f"https://t.co/{tweet_id[-10:]}{len(links)}"
                links.append({"url": short, "expanded_url": url,
                              "display_url": url.split("://", 1)[-1][:24] + "…"})
                text = f"{text} {short}"
            tweet.pop("attachments", None)
            if media is not None:
                self.media[media["media_key"]] = media
                short = f"https://t.co/m{tweet_id[-9:]}"
                links.append({"url": short, "media_key": media["media_key"],
                              "expanded_url": f"https://x.com/{user['username']}/status/"
                                              f"{tweet_id}/photo/1",
                              "display_url": "pic.x.com/" + short[-9:]})
                text = f"{text} {short}"
                tweet["attachments"] = {"media_keys": [media["media_key"]]}
            refs = []
            conversation = tweet_id
            if reply_to is not None:
                refs.append({"type": "replied_to", "id": reply_to["id"]})
                conversation = reply_to.get("conversation_id", reply_to["id"])
                tweet["in_reply_to_user_id"] = reply_to["author_id"]
            else:
                tweet.pop("in_reply_to_user_id", None)
            if quote_of is not None:
                refs.append({"type": "quoted", "id": quote_of["id"]})
                qurl = f"https://x.com/i/web/status/{quote_of['id']}"
                short = f"https://t.co/q{tweet_id[-9:]}"
                links.append({"url": short, "expanded_url": qurl, "display_url": qurl[8:32]})
                text = f"{text} {short}"
            self._entities(entities, text, links)
            tweet.update(id=tweet_id, text=text, author_id=user["id"], lang=lang,
                         created_at=_iso(self._time), conversation_id=conversation,
                         edit_history_tweet_ids=[tweet_id],
                         public_metrics={"retweet_count": 0, "reply_count": 0,
                                         "like_count": 3, "quote_count": 0})
            tweet["entities"] = entities
            tweet.pop("referenced_tweets", None)
            if refs:
                tweet["referenced_tweets"] = refs
            if note_text is not None:
                note_entities: Json = {}
                self._entities(note_entities, note_text, [])
                tweet["note_tweet"] = {"text": note_text, "entities": note_entities}
            self.tweets[tweet_id] = tweet
            return tweet

    def make_retweet(self, original: Json, retweeter: str = "happycamper") -> Json:
        """A retweet as X sends it: truncated "RT @user: ..." text, `retweeted` reference."""
        author = self.users[original["author_id"]]
        head = f"RT @{author['username']}: "
        body = original["text"]
        text = head + (body if len(head + body) <= 140 else body[: 139 - len(head)] + "…")
        tweet = self.make_tweet(retweeter, "x")
        entities: Json = {"mentions": [{"start": 3, "end": 4 + len(author["username"]),
                                        "username": author["username"],
                                        "id": author["id"]}]}
        tweet.update(text=text, entities=entities,
                     referenced_tweets=[{"type": "retweeted", "id": original["id"]}])
        tweet.pop("attachments", None)
        return tweet

    @staticmethod
    def _entities(entities: Json, text: str, links: list[Json]) -> None:
        tags = [{"start": m.start(), "end": m.end(), "tag": m.group(1)}
                for m in _HASHTAG.finditer(text)]
        if tags:
            entities["hashtags"] = tags
        urls = []
        for link in links:
            start = text.find(link["url"])
            urls.append({"start": start, "end": start + len(link["url"]), **link})
        if urls:
            entities["urls"] = urls

    # ------------------------------------------------------------ serving

    def handle(self, req: Request) -> Reply:
        with self._lock:
            reply = self._route(req)
            reply.headers.update(self._limit_headers())
            return reply

    def _limit_headers(self) -> dict[str, str]:
        start = self._window_start if self._window_start is not None else self.clock.now(
        ).timestamp()
        return {"x-rate-limit-limit": str(self.limit),
                "x-rate-limit-remaining": str(max(self.limit - self._used, 0)),
                "x-rate-limit-reset": str(int(start + self.window))}

    def _spend(self) -> bool:
        now = self.clock.now().timestamp()
        if self._window_start is None or now >= self._window_start + self.window:
            self._window_start, self._used = now, 0
        if self._used >= self.limit:
            return False
        self._used += 1
        return True

    def _route(self, req: Request) -> Reply:
        auth = req.headers.get("authorization", "")
        if auth != f"Bearer {self.token}":
            return problem(401, "Unauthorized", "Unauthorized")
        if not self._spend():
            return problem(429, "Too Many Requests", "Too Many Requests")
        for pattern, name in _ROUTES:
            m = pattern.match(req.path)
            if m and req.method == "GET":
                invalid = self._validate(req, name)
                if invalid is not None:
                    return invalid
                if name == "username":
                    return self._username(req, m.group(1))
                if name == "lookup":
                    return self._lookup(req)
                return self._timeline(req, name, m.group(1) if name != "search" else "")
        return problem(404, "Not Found Error", "The requested resource could not be found.",
                       f"{PROBLEMS}/resource-not-found")

    def _validate(self, req: Request, name: str) -> Reply | None:
        allowed, low, high, _ = _ENDPOINTS[name]
        errors: list[Json] = []
        for param in req.query:
            if param not in allowed:
                errors.append({"parameters": {param: [req.arg(param)]},
                               "message": f"The query parameter [{param}] is not one of "
                                          f"[{','.join(sorted(allowed))}]"})
        known = {"tweet.fields": TWEET_FIELDS, "user.fields": USER_FIELDS,
                 "media.fields": MEDIA_FIELDS,
                 "expansions": USER_EXPANSIONS if name == "username" else TWEET_EXPANSIONS}
        for param, values in known.items():
            for value in (req.arg(param) or "").split(","):
                if value and value not in values:
                    errors.append({"parameters": {param: [value]},
                                   "message": f"The `{param}` query parameter value [{value}]"
                                              f" is not one of [{','.join(sorted(values))}]"})
        size = req.arg("max_results")
        if size is not None and (not size.isdigit() or not low <= int(size) <= high):
            errors.append({"parameters": {"max_results": [size]},
                           "message": f"The `max_results` query parameter value [{size}] is "
                                      f"not between {low} and {high}"})
        if name == "search" and not req.arg("query"):
            errors.append({"parameters": {"query": []},
                           "message": "The `query` query parameter can not be empty"})
        if not errors:
            return None
        return Reply.json({"errors": errors, "title": "Invalid Request",
                           "detail": "One or more parameters to your request was invalid.",
                           "type": f"{PROBLEMS}/invalid-request"}, status=400)

    def _username(self, req: Request, username: str) -> Reply:
        try:
            user = self.user_by_name(username)
        except KeyError:
            return Reply.json({"errors": [not_found_error(username, "user", "username")]})
        fields = self._fields(req, "user.fields")
        return Reply.json({"data": self._render_user(user, fields)})

    def _timeline(self, req: Request, name: str, ident: str) -> Reply:
        conversation = _CONVERSATION.match(req.arg("query") or "") if name == "search" \
            else None
        if conversation is not None:
            key = f"search:{req.arg('query')}"
            self.timelines[key] = self._conversation(conversation.group(1))
        elif name == "search":
            key = f"search:{req.arg('query')}"
        else:
            key = f"{name}:{ident}"
            if key not in self.timelines and not (name == "user" and ident in self.users):
                return Reply.json({"errors": [not_found_error(ident, name, "id")]})
        ids = list(self.timelines.get(key, []))
        if name == "list":
            ids = ids[:LIST_HORIZON]
        since = req.arg("since_id")
        if since is not None and name == "search" and self.search_oldest_since is not None \
                and _order(since) < _order(self.search_oldest_since):
            return Reply.json({"errors": [{"parameters": {"since_id": [since]},
                                           "message": f"Invalid 'since_id':'{since}'. 'since_id' "
                                           "must be a tweet id created after the start of the "
                                           "7-day search window. Please use a 'since_id' that is "
                                           f"larger than {self.search_oldest_since}"}],
                               "title": "Invalid Request",
                               "detail": "One or more parameters to your request was invalid.",
                               "type": f"{PROBLEMS}/invalid-request"}, status=400)
        if since is not None:
            ids = [i for i in ids if _order(i) > _order(since)]
        token = req.arg("pagination_token") or req.arg("next_token")
        if token is not None:
            if token not in self._tokens or self._tokens[token][0] != key:
                return Reply.json({"errors": [{"parameters": {"pagination_token": [token]},
                                               "message": "Invalid pagination token"}],
                                   "title": "Invalid Request", "detail": "Invalid token",
                                   "type": f"{PROBLEMS}/invalid-request"}, status=400)
            last = self._tokens[token][1]
            ids = [i for i in ids if _order(i) < _order(last)]
        size = int(req.arg("max_results") or _ENDPOINTS[name][3])
        served = ids[:size]
        meta: Json = {"result_count": len(served)}
        if served and name != "list":  # list collections have no newest/oldest (a trap)
            meta.update(newest_id=served[0], oldest_id=served[-1])
        if len(ids) > size:
            next_token = f"7140dibdnow9c7btw4{next(self._token_seq):08x}"
            self._tokens[next_token] = (key, served[-1])
            meta["next_token"] = next_token
        body: Json = {}
        if served:
            body.update(self._tweets_body([self.tweets[i] for i in served], req))
        body["meta"] = meta
        return Reply.json(body)

    def _tweets_body(self, tweets: list[Json], req: Request) -> Json:
        body: Json = {"data": [self._render_tweet(t, req) for t in tweets]}
        includes, errors = self._includes(tweets, req)
        if includes:
            body["includes"] = includes
        if errors or self._partial:
            body["errors"] = errors + self._partial
            self._partial = []
        self.reads += len(tweets) + len(includes.get("tweets", []))
        self.users_read += len(includes.get("users", []))
        return body

    def _conversation(self, root: str) -> list[str]:
        """The ids recent search finds for conversation_id:`root`, newest first."""
        since = self.clock.now() - SEARCH_WINDOW
        found = [i for i, t in self.tweets.items()
                 if t.get("conversation_id") == root and i != root
                 and datetime.fromisoformat(t["created_at"].replace("Z", "+00:00")) >= since]
        return sorted(found, key=_order, reverse=True)

    def _lookup(self, req: Request) -> Reply:
        ids = [i for i in (req.arg("ids") or "").split(",") if i]
        if not ids or len(ids) > 100:
            return Reply.json({"errors": [{"parameters": {"ids": ids},
                                           "message": "The `ids` query parameter value is "
                                                      "not between 1 and 100"}],
                               "title": "Invalid Request",
                               "detail": "One or more parameters to your request was invalid.",
                               "type": f"{PROBLEMS}/invalid-request"}, status=400)
        known = [self.tweets[i] for i in ids if i in self.tweets]
        body: Json = self._tweets_body(known, req) if known else {}
        missing = [not_found_error(i, "tweet", "ids") for i in ids if i not in self.tweets]
        if missing:
            body["errors"] = body.get("errors", []) + missing
        return Reply.json(body)

    @staticmethod
    def _fields(req: Request, param: str) -> set[str]:
        return {f for f in (req.arg(param) or "").split(",") if f}

    def _render_tweet(self, tweet: Json, req: Request) -> Json:
        fields = self._fields(req, "tweet.fields") | {"id", "text", "edit_history_tweet_ids"}
        out = {k: v for k, v in tweet.items() if k in fields}
        out.setdefault("edit_history_tweet_ids", [tweet["id"]])
        return out

    @staticmethod
    def _render_user(user: Json, fields: set[str]) -> Json:
        keep = fields | {"id", "name", "username"}
        return {k: v for k, v in user.items() if k in keep}

    def _includes(self, tweets: list[Json], req: Request) -> tuple[Json, list[Json]]:
        expansions = self._fields(req, "expansions")
        user_fields = self._fields(req, "user.fields")
        media_fields = self._fields(req, "media.fields") | {"media_key", "type"}
        users: dict[str, Json] = {}
        included: dict[str, Json] = {}
        media: dict[str, Json] = {}
        errors: list[Json] = []

        def add_user(user_id: Any) -> None:
            if user_id in self.users and user_id not in users:
                users[user_id] = self._render_user(self.users[user_id], user_fields)

        if "author_id" in expansions:
            for t in tweets:
                add_user(t.get("author_id"))
        if "referenced_tweets.id" in expansions:
            for t in tweets:
                for ref in t.get("referenced_tweets", []):
                    target = self.tweets.get(ref["id"])
                    if target is None:
                        errors.append(not_found_error(ref["id"], "tweet", "referenced_tweets.id"))
                    elif ref["id"] not in included:
                        included[ref["id"]] = self._render_tweet(target, req)
                        if "referenced_tweets.id.author_id" in expansions:
                            add_user(target.get("author_id"))
        if "attachments.media_keys" in expansions:
            for t in tweets:
                for key in t.get("attachments", {}).get("media_keys", []):
                    if key in self.media:
                        media[key] = {k: v for k, v in self.media[key].items()
                                      if k in media_fields}
        out: Json = {}
        for name, items in (("users", users), ("tweets", included), ("media", media)):
            if items:
                out[name] = list(items.values())
        return out, errors
