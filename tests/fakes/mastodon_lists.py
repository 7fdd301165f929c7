"""Mastodon's list-management endpoints, in front of `FakeMastodon` (which serves the
rest: account lookup, timelines, rate-limit headers).

Behaves like Mastodon 4.x: GET /api/v1/lists/:id/accounts (paged by Link max_id),
POST and DELETE /api/v1/lists/:id/accounts with ``account_ids[]``, POST /api/v1/lists,
GET /api/v1/accounts/relationships?id[]=, POST /api/v1/accounts/:id/follow. Adding an
account the owner does not follow is refused with 404 "Record not found", as Mastodon's
ListAccount validation does; adding one already there is a 422.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, urlencode

from tests.fakes.mastodon import FakeMastodon
from tests.fakes.server import Reply, Request

WEB_DOMAIN = "social.clinic.example"  # where the fake's own accounts' profiles are


class MastodonListsFake:
    def __init__(self, inner: FakeMastodon) -> None:
        self.inner = inner
        self.lists: dict[str, dict[str, Any]] = {}  # id -> {"title", "members": [account id]}
        self.following: set[str] = set()
        self.locked: set[str] = set()
        self.throttle_after_writes: int | None = None  # that many list writes, then one 429
        self._ids = itertools.count(9000)
        self._lock = threading.Lock()

    # ------------------------------------------------------------ test controls

    def make_account(self, acct: str, *, followed: bool = True, locked: bool = False) -> str:
        """An account on the fake (acct as the server shows it: bare for its own accounts,
        whose profile URL is on the web domain, not the local domain); returns its id."""
        account_id = str(next(self._ids) * 1000 + 7)
        username, _, domain = acct.partition("@")
        self.inner.add_account({"id": account_id, "username": username, "acct": acct,
                                "display_name": username.title(), "locked": locked,
                                "url": f"https://{domain or WEB_DOMAIN}/@{username}"})
        if followed:
            self.following.add(account_id)
        if locked:
            self.locked.add(account_id)
        return account_id

    def make_list(self, title: str, members: Sequence[str] = ()) -> str:
        list_id = str(next(self._ids))
        self.lists[list_id] = {"title": title, "members": list(members)}
        return list_id

    def accts(self, list_id: str) -> list[str]:
        """The members as user@domain (local accounts with the local domain)."""
        by_id = {str(a["id"]): _full(str(a["acct"]), self.inner.local_domain)
                 for a in self.inner.accounts.values()}
        return sorted(by_id[m] for m in self.lists[list_id]["members"])

    # ------------------------------------------------------------ serving

    def __call__(self, req: Request) -> Reply:
        parts = req.path.rstrip("/").split("/")[1:]
        mine = (parts[:3] == ["api", "v1", "lists"]
                or req.path.startswith("/api/v1/accounts/relationships")
                or (parts[:3] == ["api", "v1", "accounts"] and parts[-1:] == ["follow"]))
        if not mine:
            return self.inner(req)
        auth = req.headers.get("authorization", "").removeprefix("Bearer ")
        if auth not in self.inner.tokens:
            return Reply.json({"error": "The access token is invalid"}, 401)
        with self._lock:
            return self._route(req, parts, self._params(req))

    @staticmethod
    def _params(req: Request) -> dict[str, list[str]]:
        params = dict(req.query)
        if req.body:
            try:
                data = json.loads(req.body)
                params.update({k: v if isinstance(v, list) else [v] for k, v in data.items()})
            except ValueError:
                params.update(parse_qs(req.body.decode()))
        return params

    def _route(self, req: Request, parts: list[str], params: dict[str, list[str]]) -> Reply:
        if parts[:3] == ["api", "v1", "lists"] and len(parts) == 3 and req.method == "POST":
            list_id = self.make_list(params.get("title", [""])[0])
            return Reply.json({"id": list_id, "title": self.lists[list_id]["title"],
                               "replies_policy": "list", "exclusive": False})
        if req.path.startswith("/api/v1/accounts/relationships"):
            ids = params.get("id[]", []) + params.get("id", [])
            return Reply.json([{"id": i, "following": i in self.following,
                                "requested": False} for i in ids])
        if parts[-1] == "follow":
            account_id = parts[3]
            if account_id in self.locked:
                return Reply.json({"id": account_id, "following": False, "requested": True})
            self.following.add(account_id)
            return Reply.json({"id": account_id, "following": True, "requested": False})
        if len(parts) == 5 and parts[4] == "accounts":
            lst = self.lists.get(parts[3])
            if lst is None:
                return Reply.json({"error": "Record not found"}, 404)
            ids = params.get("account_ids[]", []) + params.get("account_ids", [])
            if req.method == "GET":
                return self._page(req, lst["members"], params)
            if self.throttle_after_writes is not None:
                if self.throttle_after_writes == 0:
                    self.throttle_after_writes = None
                    return self.inner.rate_limited(3600)
                self.throttle_after_writes -= 1
            if req.method == "POST":
                for account_id in ids:
                    if account_id not in self.following:
                        return Reply.json({"error": "Record not found"}, 404)
                    if account_id in lst["members"]:
                        return Reply.json({"error": "Validation failed: Account has already "
                                                    "been taken"}, 422)
                lst["members"].extend(ids)
                return Reply.json({})
            if req.method == "DELETE":
                lst["members"] = [m for m in lst["members"] if m not in ids]
                return Reply.json({})
        return Reply.json({"error": "Record not found"}, 404)

    def _page(self, req: Request, members: list[str], params: dict[str, list[str]]) -> Reply:
        limit = int(params.get("limit", ["40"])[0] or 40)
        limit = 80 if limit <= 0 else min(limit, 80)
        start = int(params.get("max_id", ["0"])[0] or 0)  # fake cursor: position in the list
        accounts = {str(a["id"]): a for a in self.inner.accounts.values()}
        chunk = members[start:start + limit]
        reply = Reply.json([accounts[m] for m in chunk])
        if start + limit < len(members):
            host = req.headers.get("host", "127.0.0.1")
            reply.headers["Link"] = (f'<http://{host}{req.path}?'
                                     f'{urlencode({"limit": limit, "max_id": start + limit})}>; '
                                     'rel="next"')
        return reply


def _full(acct: str, local_domain: str) -> str:
    return acct if "@" in acct else f"{acct}@{local_domain}"
