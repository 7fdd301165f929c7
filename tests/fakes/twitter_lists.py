"""X's list-member endpoints with user-context (OAuth 1.0a) auth, in front of `FakeX`
(which serves the bearer-token read endpoints and holds the users).

GET /2/lists/:id/members (paged with next_token), POST /2/lists/:id/members {"user_id"},
DELETE /2/lists/:id/members/:user_id, POST /2/lists {"name"},
GET /2/users/by/username/:username. Requests must carry an OAuth 1.0a Authorization
header signed with `consumer_key`.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from typing import Any

from tests.fakes.server import Reply, Request
from tests.fakes.twitter import FakeX, not_found_error, problem

CONSUMER_KEY = "fake-consumer-key"
CREDENTIALS = {"consumer_key": CONSUMER_KEY, "consumer_secret": "fake-consumer-secret",
               "access_token": "fake-access-token", "access_token_secret": "fake-access-secret"}


class XListsFake:
    def __init__(self, inner: FakeX, consumer_key: str = CONSUMER_KEY) -> None:
        self.inner = inner
        self.consumer_key = consumer_key
        self.lists: dict[str, dict[str, Any]] = {}
        self.throttle_after_writes: int | None = None  # that many list writes, then one 429
        self._ids = itertools.count(1_800_000_000_000_000_000)
        self._lock = threading.Lock()

    def make_user(self, username: str) -> str:
        user_id = str(next(self._ids))
        self.inner.add_user({"id": user_id, "username": username, "name": username.title()})
        return user_id

    def make_list(self, name: str, members: Sequence[str] = ()) -> str:
        list_id = str(next(self._ids))
        self.lists[list_id] = {"name": name, "members": list(members)}
        return list_id

    def usernames(self, list_id: str) -> list[str]:
        return sorted(self.inner.users[m]["username"] for m in self.lists[list_id]["members"])

    def handle(self, req: Request) -> Reply:
        auth = req.headers.get("authorization", "")
        if not auth.startswith("OAuth "):
            return self.inner.handle(req)
        if f'oauth_consumer_key="{self.consumer_key}"' not in auth:
            return problem(401, "Unauthorized", "Unauthorized")
        parts = req.path.rstrip("/").split("/")[1:]  # 2, lists, id, members, ...
        with self._lock:
            if parts[:4] == ["2", "users", "by", "username"] and len(parts) == 5:
                try:
                    user = self.inner.user_by_name(parts[4])
                except KeyError:
                    return Reply.json({"errors": [not_found_error(parts[4], "user",
                                                                  "username")]})
                return Reply.json({"data": {k: user[k] for k in ("id", "name", "username")}})
            if parts == ["2", "lists"] and req.method == "POST":
                list_id = self.make_list(str(req.json().get("name", "")))
                return Reply.json({"data": {"id": list_id, "name": self.lists[list_id]["name"]}})
            if len(parts) >= 4 and parts[:2] == ["2", "lists"] and parts[3] == "members":
                lst = self.lists.get(parts[2])
                if lst is None:
                    if req.method == "GET":
                        return Reply.json({"errors": [not_found_error(parts[2], "list", "id")]})
                    return problem(404, "Not Found Error", "Could not find list")
                return self._members(req, lst, parts)
        return problem(404, "Not Found Error", "The requested resource could not be found.")

    def _members(self, req: Request, lst: dict[str, Any], parts: list[str]) -> Reply:
        if req.method == "GET" and len(parts) == 4:
            size = int(req.arg("max_results") or 100)
            start = int(req.arg("pagination_token") or 0)
            users = [self.inner.users[m] for m in lst["members"][start:start + size]]
            body: dict[str, Any] = {"meta": {"result_count": len(users)}}
            if users:
                body["data"] = [{k: u[k] for k in ("id", "name", "username")} for u in users]
            if start + size < len(lst["members"]):
                body["meta"]["next_token"] = str(start + size)
            return Reply.json(body)
        if req.method in ("POST", "DELETE") and self.throttle_after_writes is not None:
            if self.throttle_after_writes == 0:
                self.throttle_after_writes = None
                reset = str(int(self.inner.clock.now().timestamp()) + 3600)
                reply = problem(429, "Too Many Requests", "Too Many Requests")
                reply.headers.update({"x-rate-limit-remaining": "0", "x-rate-limit-reset": reset})
                return reply
            self.throttle_after_writes -= 1
        if req.method == "POST" and len(parts) == 4:
            user_id = str(req.json().get("user_id", ""))
            if user_id not in self.inner.users:
                return problem(400, "Invalid Request", "user_id is not a user")
            if user_id not in lst["members"]:
                lst["members"].append(user_id)
            return Reply.json({"data": {"is_member": True}})
        if req.method == "DELETE" and len(parts) == 5:
            lst["members"] = [m for m in lst["members"] if m != parts[4]]
            return Reply.json({"data": {"is_member": False}})
        return problem(404, "Not Found Error", "The requested resource could not be found.")
