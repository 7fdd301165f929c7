"""A fake Mastodon server for tests: recorded responses plus timelines tests control.

`FakeMastodon` is a `Handler` for `LoopbackServer`. Its timelines live in memory, seeded
from the recorded responses in tests/data/mastodon/, and page the way Mastodon does
(Paginable#to_a_paginated_by_id): newest first; ``max_id`` / ``since_id`` / ``min_id``
compared numerically; ``min_id`` returns the OLDEST `limit` statuses newer than it (still
newest first); ``limit`` defaults to 20, at most 40; a ``Link`` header with rel="next"
(max_id) and rel="prev" (min_id) pointing at the fake's own URL, none on an empty page.

Every answer carries X-RateLimit-Limit/-Remaining/-Reset (ISO 8601 with microseconds and
Z, computed on the injected clock), and a request beyond the budget gets a 429
``{"error": "Too many requests"}``. Faults are armed on the server:
``server.faults.arm(Reply(...), path_contains="/timelines/")``.

Timeline keys: ``list:<id>``, ``tag:<name>`` (lowercase), ``account:<id>``.

Like a server with LOCAL_DOMAIN != WEB_DOMAIN, its own accounts (bare ``acct``) belong to
`LOCAL_DOMAIN`, which is neither the host it serves from (127.0.0.1) nor the host of their
profile URLs (localhost, in the recordings): /api/v2/instance (``domain``) and
/api/v1/instance (``uri``) say so, and a lookup of ``user@LOCAL_DOMAIN`` finds ``user``.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from aggregator.clock import Clock, SystemClock
from tests.fakes.server import LoopbackServer, Reply, Request

DATA = Path(__file__).resolve().parent.parent / "data" / "mastodon"
TOKEN = "fake-mastodon-token"
LIST_ID = "6"  # the recorded list (timelines_list.json)
TAG = "hoot"  # the recorded hashtag (timelines_tag.json)
PAGED_TAG = "fgiztsshwiaqqiztpmmjbtvmescsculuvmgjgopwoeidbcrixp"  # timelines_tag_page1.json
ACCOUNT_ID = "117020565966271181"  # mastodonpy_test (accounts_lookup.json)
ACCOUNT_ACCT = "mastodonpy_test"
LOCAL_DOMAIN = "clinic.example"  # the fake's LOCAL_DOMAIN (see the module docstring)


def load_fixture(name: str) -> dict[str, Any]:
    """A recorded response envelope (see tests/data/PROVENANCE.md)."""
    with (DATA / name).open(encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def load_body(name: str) -> Any:
    return copy.deepcopy(load_fixture(name)["body"])


def _key(status_id: str) -> tuple[int, str]:
    return (len(status_id), status_id)


def iso_z(when: datetime) -> str:
    """Mastodon's style: 2026-08-01T14:00:00.629813Z."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _millis_z(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


class FakeMastodon:
    """The fake API and its test-controllable state (use as `LoopbackServer(fake)`)."""

    def __init__(self, clock: Clock | None = None, *, tokens: tuple[str, ...] = (TOKEN,),
                 seed: bool = True, local_domain: str = LOCAL_DOMAIN) -> None:
        self.clock = clock or SystemClock()
        self.tokens = set(tokens)
        self.timelines: dict[str, list[dict[str, Any]]] = {}
        self.accounts: dict[str, dict[str, Any]] = {}  # acct (lowercase) -> account
        self.local_domain = local_domain
        self.instance_v1 = load_body("instance_v1_mastodon_social.json")
        self.instance_v2 = load_body("instance_v2_mastodon_social.json")
        self.instance_v1["uri"] = self.instance_v2["domain"] = local_domain
        self._lock = threading.Lock()
        self.statuses: dict[str, dict[str, Any]] = {}  # every status, for conversations
        self.contexts: dict[str, Any] = {}  # status id -> a recorded context answer
        self._last_id = 117020600000000000
        self._limit = 300
        self._window = 300.0
        self._used = 0
        self._window_end: datetime | None = None
        if seed:
            self._seed()

    # ------------------------------------------------------------------ test control

    def _seed(self) -> None:
        self.add_statuses(f"list:{LIST_ID}", load_body("timelines_list.json"))
        self.add_statuses(f"tag:{TAG}", load_body("timelines_tag.json"))
        self.add_statuses(f"tag:{PAGED_TAG}", load_body("timelines_tag_page1.json"))
        self.add_statuses(f"account:{ACCOUNT_ID}", load_body("accounts_statuses_page.json"))
        self.add_account(load_body("accounts_lookup.json"))

    def add_account(self, account: dict[str, Any]) -> None:
        with self._lock:
            self.accounts[str(account["acct"]).lower()] = account
            self.timelines.setdefault(f"account:{account['id']}", [])

    def add_statuses(self, timeline_key: str, statuses: list[dict[str, Any]]) -> None:
        """Put statuses on a timeline (creating it); duplicates by id are replaced."""
        with self._lock:
            timeline = self.timelines.setdefault(timeline_key, [])
            ids = {str(s["id"]) for s in statuses}
            timeline[:] = [s for s in timeline if str(s["id"]) not in ids] + list(statuses)
            timeline.sort(key=lambda s: _key(str(s["id"])), reverse=True)
            for status in statuses:
                self.statuses[str(status["id"])] = status
                account = status.get("account")
                if isinstance(account, dict) and account.get("acct"):
                    self.accounts.setdefault(str(account["acct"]).lower(), account)
                newest = max(_key(str(status["id"])), _key(str(self._last_id)))
                self._last_id = int(newest[1])

    def add_conversation(self, statuses: list[dict[str, Any]]) -> None:
        """Statuses on no timeline that conversations show (replies, parents)."""
        with self._lock:
            for status in statuses:
                self.statuses[str(status["id"])] = status

    def delete_status(self, status_id: str) -> None:
        with self._lock:
            self.statuses.pop(status_id, None)
            for timeline in self.timelines.values():
                timeline[:] = [s for s in timeline if str(s["id"]) != status_id]

    def reply_to(self, parent: dict[str, Any], *, content: str,
                 account: dict[str, Any] | None = None) -> dict[str, Any]:
        """A new status replying to `parent` (on no timeline until a test puts it on one)."""
        status = self.make_status(content=content, account=account)
        status.update(in_reply_to_id=str(parent["id"]),
                      in_reply_to_account_id=str(parent["account"]["id"]))
        self.add_conversation([status])
        return status

    def add_list(self, list_id: str) -> None:
        with self._lock:
            self.timelines.setdefault(f"list:{list_id}", [])

    def make_status(self, *, content: str | None = None, template: str = "timelines_list.json",
                    index: int = 0, account: dict[str, Any] | None = None,
                    created_at: datetime | None = None,
                    reblog: dict[str, Any] | None = None) -> dict[str, Any]:
        """A realistic status: a recorded one cloned with a new, increasing id.

        With `reblog`, the new status is a boost wrapper of it (content "", /activity URI).
        """
        body = load_body(template)
        status = copy.deepcopy(body[index] if isinstance(body, list) else body)
        with self._lock:
            self._last_id += 65536 + 17  # one millisecond later in snowflake terms
            new_id = str(self._last_id)
        if account is not None:
            status["account"] = copy.deepcopy(account)
        when = created_at or self.clock.now()
        base = str(status["account"].get("url", "http://localhost:3000/@someone"))
        status.update(id=new_id, created_at=_millis_z(when),
                      uri=f"{base}/statuses/{new_id}", url=f"{base}/{new_id}", reblog=None)
        if reblog is not None:
            status.update(content="", reblog=copy.deepcopy(reblog), media_attachments=[],
                          mentions=[], tags=[], uri=f"{base}/statuses/{new_id}/activity",
                          application=None)
        elif content is not None:
            status["content"] = content
        else:
            status["content"] = f"<p>Synthetic post {new_id}</p>"
        return status

    def add_new(self, timeline_key: str, count: int) -> list[dict[str, Any]]:
        """`count` fresh statuses on a timeline, oldest first as created."""
        statuses = [self.make_status() for _ in range(count)]
        self.add_statuses(timeline_key, statuses)
        return statuses

    def set_budget(self, limit: int, window_seconds: float) -> None:
        """Requests allowed per window (a new window starts with the first request)."""
        with self._lock:
            self._limit, self._window = limit, window_seconds
            self._used, self._window_end = 0, None

    def rate_limited(self, seconds: float = 30.0) -> Reply:
        """A 429 whose reset is `seconds` from now, to arm as a fault."""
        reset = self.clock.now() + timedelta(seconds=seconds)
        return Reply.json({"error": "Too many requests"}, 429, **{
            "X-RateLimit-Limit": str(self._limit), "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": iso_z(reset)})

    # ------------------------------------------------------------------ serving

    def __call__(self, req: Request) -> Reply:
        with self._lock:
            now = self.clock.now()
            if self._window_end is None or now >= self._window_end:
                self._window_end = now + timedelta(seconds=self._window)
                self._used = 0
            self._used += 1
            over = self._used > self._limit
            headers = {
                "X-RateLimit-Limit": str(self._limit),
                "X-RateLimit-Remaining": str(max(self._limit - self._used, 0)),
                "X-RateLimit-Reset": iso_z(self._window_end),
            }
        if over:
            return Reply.json({"error": "Too many requests"}, 429, **headers)
        reply = self._route(req)
        reply.headers = {**headers, **reply.headers}
        return reply

    def _error(self, status: int, message: str, **headers: str) -> Reply:
        return Reply.json({"error": message}, status, **headers)

    def _route(self, req: Request) -> Reply:
        path = req.path.rstrip("/")
        auth = req.headers.get("authorization")
        if auth is not None and auth.removeprefix("Bearer ") not in self.tokens:
            return self._invalid_token()
        parts = path.split("/")[1:]  # api, v1, ...
        if path == "/api/v1/instance":
            return Reply.json(self.instance_v1, deprecation="@1668384000")
        if path == "/api/v2/instance":
            return Reply.json(self.instance_v2)
        if path == "/api/v1/accounts/lookup":
            acct = (req.arg("acct") or "").lstrip("@").lower()
            account = self.accounts.get(acct)
            user, _, domain = acct.partition("@")
            if account is None and domain == self.local_domain:  # stored with a bare acct
                account = self.accounts.get(user)
            return Reply.json(account) if account else self._error(404, "Record not found")
        if parts[:4] == ["api", "v1", "timelines", "list"] and len(parts) == 5:
            if auth is None:
                return self._invalid_token()
            return self._timeline(req, f"list:{parts[4]}", missing_ok=False)
        if parts[:4] == ["api", "v1", "timelines", "tag"] and len(parts) == 5:
            return self._timeline(req, f"tag:{parts[4].lower()}", missing_ok=True)
        if parts[:3] == ["api", "v1", "statuses"] and len(parts) == 4:  # a re-check
            with self._lock:
                found = self.statuses.get(parts[3])
            return Reply.json(found) if found else self._error(404, "Record not found")
        if parts[:3] == ["api", "v1", "statuses"] and len(parts) == 5 and parts[4] == "context":
            return self._context(parts[3], signed_in=auth is not None)
        if parts[:3] == ["api", "v1", "accounts"] and len(parts) == 5 and parts[4] == "statuses":
            return self._timeline(req, f"account:{parts[3]}", missing_ok=False)
        return self._error(404, "Record not found")

    def _context(self, status_id: str, *, signed_in: bool) -> Reply:
        """Like Mastodon's StatusesController#context: ancestors root first (up the
        in_reply_to_id chain, stopping at a status it no longer has), descendants depth
        first, oldest first per level; what an anonymous reader may not see (private,
        direct) is left out, not marked."""
        with self._lock:
            if status_id in self.contexts:
                return Reply.json(copy.deepcopy(self.contexts[status_id]))
            known = dict(self.statuses)
        anchor = known.get(status_id)
        if anchor is None:
            return self._error(404, "Record not found")

        def visible(s: dict[str, Any]) -> bool:
            return signed_in or s.get("visibility") in ("public", "unlisted", None)

        ancestors: list[dict[str, Any]] = []
        parent = known.get(str(anchor.get("in_reply_to_id") or ""))
        while parent is not None and len(ancestors) < 40:
            if visible(parent):
                ancestors.insert(0, parent)
            parent = known.get(str(parent.get("in_reply_to_id") or ""))
        children: dict[str, list[dict[str, Any]]] = {}
        for s in sorted(known.values(), key=lambda s: _key(str(s["id"]))):
            if s.get("in_reply_to_id"):
                children.setdefault(str(s["in_reply_to_id"]), []).append(s)
        descendants: list[dict[str, Any]] = []
        stack = list(reversed(children.get(status_id, [])))
        while stack:
            s = stack.pop()
            if visible(s):  # replies to a hidden status are still shown
                descendants.append(s)
            stack += reversed(children.get(str(s["id"]), []))
        return Reply.json({"ancestors": ancestors, "descendants": descendants})

    def _invalid_token(self) -> Reply:
        return self._error(401, "The access token is invalid", **{
            "WWW-Authenticate": 'Bearer realm="Doorkeeper", error="invalid_token", '
                                'error_description="The access token is invalid"'})

    def _timeline(self, req: Request, key: str, *, missing_ok: bool) -> Reply:
        with self._lock:
            timeline = self.timelines.get(key)
            statuses = list(timeline) if timeline is not None else None
        if statuses is None:
            if not missing_ok:
                return self._error(404, "Record not found")
            statuses = []  # Mastodon answers an unknown hashtag with an empty timeline
        page = paginate(statuses, req)
        reply = Reply.json(page)
        if page:
            host = req.headers.get("host", "127.0.0.1")
            url = f"http://{host}{req.path}"
            keep = {k: v[-1] for k, v in req.query.items()
                    if k not in ("max_id", "min_id", "since_id")}
            reply.headers["Link"] = (
                f'<{url}?{urlencode({**keep, "max_id": page[-1]["id"]})}>; rel="next", '
                f'<{url}?{urlencode({**keep, "min_id": page[0]["id"]})}>; rel="prev"')
        return reply


def paginate(statuses: list[dict[str, Any]], req: Request) -> list[dict[str, Any]]:
    """Mastodon's paging over statuses sorted newest first."""
    try:
        limit = int(req.arg("limit") or 20)
    except ValueError:
        limit = 20
    limit = min(max(limit, 1), 40)
    max_id, since_id, min_id = req.arg("max_id"), req.arg("since_id"), req.arg("min_id")
    selected = statuses
    if max_id:
        selected = [s for s in selected if _key(str(s["id"])) < _key(max_id)]
    if since_id:
        selected = [s for s in selected if _key(str(s["id"])) > _key(since_id)]
    if min_id:
        newer = [s for s in selected if _key(str(s["id"])) > _key(min_id)]
        return newer[-limit:]  # the oldest `limit` newer than min_id, still newest first
    return selected[:limit]


@dataclass
class MastodonFake:
    """What the `mastodon_fake` fixture yields."""

    server: LoopbackServer
    api: FakeMastodon
    base_url: str

    def timeline_requests(self) -> list[Request]:
        return [r for r in self.server.requests("/api/v1/") if "/timelines/" in r.path
                or r.path.endswith("/statuses")]


def serve_fake_mastodon(clock: Clock | None = None) -> Iterator[MastodonFake]:
    """For fixtures: `yield from serve_fake_mastodon(clock)`."""
    api = FakeMastodon(clock)
    server = LoopbackServer(api).start()
    try:
        yield MastodonFake(server, api, server.base_url)
    finally:
        server.stop()
