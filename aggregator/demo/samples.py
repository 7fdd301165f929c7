"""The demo's sample API data (data/demo/*.json, written by generate.py) and the sample
APIs the demo server serves it through: Mastodon timelines and X list tweets here, Bluesky
feeds in samples_bluesky.py.

Sample times are stored relative to the spec's epoch and moved forward on load so that the
newest sample is minutes old whenever the demo runs. Paging follows the real servers:
Mastodon's max_id/min_id/since_id/limit with a Link header (newest first; min_id returns
the oldest `limit` newer posts), X's max_results/pagination_token with `meta.next_token`
and the `includes` our expansions ask for.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from aggregator.demo.server import Answer

DATA = Path(__file__).resolve().parent.parent / "data" / "demo"
LIST_ID = "1"  # the one list on each demo network: every sample post's author is on it
Json = dict[str, Any]
TOKEN = re.compile(r"(?<![\w/])([#@])(\w+)")  # #hashtags and @person-id mentions in the spec
_TIME_KEYS = {"created_at", "edited_at", "createdAt", "indexedAt"}


def load_spec() -> Json:
    """posts.toml: the hand-written people and posts the sample files are made from."""
    with (DATA / "posts.toml").open("rb") as fh:
        return tomllib.load(fh)


def spec_times(spec: Json) -> tuple[datetime, Callable[[Json], datetime]]:
    """The spec's epoch, and when a post of the spec was written (`ago` minutes before)."""
    epoch = datetime.fromisoformat(spec["epoch"].replace("Z", "+00:00")).astimezone(UTC)
    return epoch, lambda post: epoch - timedelta(minutes=int(post["ago"]))


def posts_on(spec: Json, network: str) -> list[Json]:
    """The posts of one network, oldest first (ids grow with time, as on the servers)."""
    return sorted((p for p in spec["posts"] if p["on"] == network), key=lambda p: -p["ago"])


def iso(when: datetime) -> str:
    """The APIs' style: 2026-01-15T11:25:00.000Z."""
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def load(name: str, now: datetime) -> Json:
    """A sample file with its times moved so that the spec's epoch is `now`."""
    data: Json = json.loads((DATA / name).read_text(encoding="utf-8"))
    epoch = datetime.fromisoformat(data["epoch"].replace("Z", "+00:00"))
    delta = now.astimezone(UTC).replace(second=0, microsecond=0) - epoch
    return _shift(data, delta)  # type: ignore[no-any-return]


def _shift(value: Any, delta: timedelta) -> Any:
    if isinstance(value, dict):
        return {k: (_moved(v, delta) if k in _TIME_KEYS and isinstance(v, str) else
                    _shift(v, delta)) for k, v in value.items()}
    if isinstance(value, list):
        return [_shift(v, delta) for v in value]
    return value


def _moved(text: str, delta: timedelta) -> str:
    return iso(datetime.fromisoformat(text.replace("Z", "+00:00")) + delta)


def _order(item_id: str) -> tuple[int, str]:
    return (len(item_id), item_id)


def limit_of(query: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    try:
        return min(max(int(query.get(name) or default), low), high)
    except ValueError:
        return default


def _rate_headers(prefix: str, reset: str) -> dict[str, str]:
    return {f"{prefix}-Limit": "300", f"{prefix}-Remaining": "299", f"{prefix}-Reset": reset}


class SampleFile:
    """One network's sample file: its lists (ids newest first) and the posts held back."""

    FILE = ""
    requires_token = True  # the demo accounts' token (Mastodon, X); never the user's

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.data = load(self.FILE, now)
        self.lists: dict[str, list[str]] = self.data["lists"]
        self.held = set(self.data["later"])

    def publish_later(self) -> int:
        count, self.held = len(self.held), set()
        return count


class MastodonSamples(SampleFile):
    """GET /api/v1/timelines/list/:id, /timelines/tag/:tag, /accounts/lookup,
    /accounts/:id/statuses and /statuses/:id/context over the sample statuses."""

    FILE = "mastodon.json"

    def __init__(self, now: datetime) -> None:
        super().__init__(now)
        self.statuses: list[Json] = self.data["statuses"]  # newest first

    def handles(self, path: str) -> bool:
        return path.startswith("/api/v1/")

    def answer(self, path: str, query: dict[str, str], base_url: str) -> Answer:
        parts = path.rstrip("/").split("/")[3:]  # after /api/v1
        shown = [s for s in self.statuses if s["id"] not in self.held]
        if parts[:2] == ["timelines", "list"] and len(parts) == 3:
            if parts[2] not in self.lists:
                return Answer(404, {"error": "Record not found"})
            ids = set(self.lists[parts[2]])
            return self._page([s for s in shown if s["id"] in ids], path, query, base_url)
        if parts[:2] == ["timelines", "tag"] and len(parts) == 3:
            tag = parts[2].lower()
            return self._page([s for s in shown if any(t["name"] == tag for t in s["tags"])],
                              path, query, base_url)
        if parts == ["accounts", "lookup"]:
            acct = query.get("acct", "").lstrip("@").lower()
            for status in self.statuses:
                if status["account"]["acct"].lower() == acct:
                    return Answer(200, status["account"])
            return Answer(404, {"error": "Record not found"})
        if len(parts) == 3 and parts[0] == "accounts" and parts[2] == "statuses":
            return self._page([s for s in shown if s["account"]["id"] == parts[1]],
                              path, query, base_url)
        if len(parts) == 3 and parts[0] == "statuses" and parts[2] == "context":
            return self._context(parts[1], shown)
        return Answer(404, {"error": "Record not found"})

    def _context(self, status_id: str, shown: list[Json]) -> Answer:
        """Ancestors (oldest first) and descendants (in reply order), as Mastodon answers."""
        by_id = {s["id"]: s for s in shown}
        if status_id not in by_id:
            return Answer(404, {"error": "Record not found"})
        ancestors: list[Json] = []
        parent = by_id[status_id].get("in_reply_to_id")
        while parent in by_id and len(ancestors) < 40:
            ancestors.insert(0, by_id[parent])
            parent = by_id[parent].get("in_reply_to_id")
        descendants: list[Json] = []
        frontier = {status_id}
        for status in sorted(shown, key=lambda s: _order(s["id"])):
            if status.get("in_reply_to_id") in frontier:
                descendants.append(status)
                frontier.add(status["id"])
        return Answer(200, {"ancestors": ancestors, "descendants": descendants})

    def _page(self, statuses: list[Json], path: str, query: dict[str, str],
              base_url: str) -> Answer:
        limit = limit_of(query, "limit", 20, 1, 40)
        max_id, since_id, min_id = query.get("max_id"), query.get("since_id"), query.get("min_id")
        if max_id:
            statuses = [s for s in statuses if _order(s["id"]) < _order(max_id)]
        if since_id:
            statuses = [s for s in statuses if _order(s["id"]) > _order(since_id)]
        if min_id:
            page = [s for s in statuses if _order(s["id"]) > _order(min_id)][-limit:]
        else:
            page = statuses[:limit]
        reset = (self.now + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
        headers = _rate_headers("X-RateLimit", reset)
        if page:
            keep = {k: v for k, v in query.items() if k not in ("max_id", "min_id", "since_id")}
            url = f"{base_url}{path}"
            headers["Link"] = (f'<{url}?{urlencode({**keep, "max_id": page[-1]["id"]})}>; '
                               f'rel="next", <{url}?{urlencode({**keep, "min_id": page[0]["id"]})}'
                               f'>; rel="prev"')
        return Answer(200, page, headers)


class XSamples(SampleFile):
    """GET /2/lists/:id/tweets, /2/tweets/search/recent (conversation_id:ID) and
    /2/tweets?ids= over the sample tweets."""

    FILE = "twitter.json"

    def __init__(self, now: datetime) -> None:
        super().__init__(now)
        self.tweets: dict[str, Json] = {t["id"]: t for t in self.data["tweets"]}
        self.users: dict[str, Json] = {u["id"]: u for u in self.data["users"]}
        self.media: dict[str, Json] = {m["media_key"]: m for m in self.data["media"]}

    def handles(self, path: str) -> bool:
        return path.startswith("/2/")

    def answer(self, path: str, query: dict[str, str], base_url: str) -> Answer:
        parts = path.rstrip("/").split("/")[2:]  # after /2
        reset = str(int((self.now + timedelta(minutes=15)).timestamp()))
        headers = _rate_headers("x-rate-limit", reset)
        if parts == ["tweets", "search", "recent"]:
            return self._conversation(query.get("query", ""), headers)
        if parts == ["tweets"]:
            return self._lookup(query.get("ids", ""), headers)
        if len(parts) != 3 or parts[0] != "lists" or parts[2] != "tweets":
            return Answer(404, {"title": "Not Found Error", "type":
                                "https://api.twitter.com/2/problems/resource-not-found"})
        if parts[1] not in self.lists:
            return Answer(200, {"errors": [{
                "value": parts[1], "detail": f"Could not find list with id: [{parts[1]}].",
                "title": "Not Found Error", "resource_type": "list", "parameter": "id",
                "resource_id": parts[1],
                "type": "https://api.twitter.com/2/problems/resource-not-found"}]}, headers)
        ids = [i for i in self.lists[parts[1]] if i not in self.held]
        token = query.get("pagination_token")
        if token:
            ids = [i for i in ids if _order(i) < _order(token.removeprefix("demo"))]
        size = limit_of(query, "max_results", 100, 1, 100)
        served = ids[:size]
        meta: Json = {"result_count": len(served)}
        if len(ids) > size:
            meta["next_token"] = f"demo{served[-1]}"
        body: Json = {"data": [self.tweets[i] for i in served]} if served else {}
        includes = self._includes([self.tweets[i] for i in served])
        if includes:
            body["includes"] = includes
        body["meta"] = meta
        return Answer(200, body, headers)

    def _conversation(self, text: str, headers: dict[str, str]) -> Answer:
        """Recent search, as far as conversations go: ``conversation_id:ID`` finds the
        replies (never the first post: X sends it among the includes), newest first."""
        root = text.removeprefix("conversation_id:")
        if root == text or not root.isdigit():
            return Answer(400, {"title": "Invalid Request", "detail": "the demo server "
                                "searches conversations only (conversation_id:ID)"}, headers)
        found = sorted((t for i, t in self.tweets.items() if i not in self.held and i != root
                        and t.get("conversation_id") == root),
                       key=lambda t: _order(t["id"]), reverse=True)
        body: Json = {"data": found} if found else {}
        includes = self._includes(found)
        if includes:
            body["includes"] = includes
        body["meta"] = {"result_count": len(found)}
        return Answer(200, body, headers)

    def _lookup(self, ids: str, headers: dict[str, str]) -> Answer:
        """``GET /2/tweets?ids=``: the tweets known, a not-found error for each other id."""
        wanted = [i for i in ids.split(",") if i]
        known = [self.tweets[i] for i in wanted if i in self.tweets and i not in self.held]
        body: Json = {"data": known} if known else {}
        includes = self._includes(known)
        if includes:
            body["includes"] = includes
        missing = [i for i in wanted if i not in {t["id"] for t in known}]
        if missing:
            body["errors"] = [{"value": i, "detail": f"Could not find tweet with ids: [{i}].",
                               "title": "Not Found Error", "resource_type": "tweet",
                               "parameter": "ids", "resource_id": i,
                               "type": "https://api.twitter.com/2/problems/resource-not-found"}
                              for i in missing]
        return Answer(200, body, headers)

    def _includes(self, tweets: list[Json]) -> Json:
        refs = [self.tweets[r["id"]] for t in tweets for r in t.get("referenced_tweets", [])
                if r["id"] in self.tweets]
        authors = dict.fromkeys(t["author_id"] for t in [*tweets, *refs])
        keys = dict.fromkeys(k for t in [*tweets, *refs]
                             for k in t.get("attachments", {}).get("media_keys", []))
        includes: Json = {}
        if authors:
            includes["users"] = [self.users[a] for a in authors if a in self.users]
        if refs:
            includes["tweets"] = list({t["id"]: t for t in refs}.values())
        if keys:
            includes["media"] = [self.media[k] for k in keys if k in self.media]
        return includes

