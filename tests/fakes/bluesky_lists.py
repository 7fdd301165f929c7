"""Bluesky's list-management endpoints, in front of `FakeBluesky` (which serves sessions,
rate-limit headers, resolveHandle and the list views, and checks access tokens).

Every request goes to the inner fake first: it counts the rate budget and refuses expired
or unknown tokens; what it does not implement (a 501) and the items of getList are
answered here:

* ``app.bsky.graph.getList``: the list view (from the inner fake) with its ``items`` (the
  listitem record's ``uri`` + ``subject`` profile, the shape of the recorded getList.json),
  paged with opaque cursors. Like the AppView, a page may hold fewer items than the
  ``limit`` asked (at most `page_cap`), a full last page still carries a cursor (the next
  page is empty and has none), an unknown cursor gives an empty page, and only listitem
  records in the **list owner's** repo put someone on a list.
* ``app.bsky.graph.getStarterPack`` (the recorded getStarterPack.json; its list holds the
  pack's sample members).
* ``com.atproto.repo.createRecord`` / ``deleteRecord`` (listitem and list records), only
  with a valid session and only in the logged-in account's repo; deleting a record that
  is gone answers 200 ``{}`` as the recorded PDS does.

Test controls: `make_account`, `make_list`, `rename` (a handle change: the old handle no
longer resolves, the DID stays), and `fail_write` (the Nth next write gets a fault reply,
optionally after the write was applied: an answer lost on the way back).
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections.abc import Sequence
from typing import Any

from tests.fakes.bluesky import ACCOUNT_DID, FakeBluesky, Json, load, xrpc_error
from tests.fakes.server import Reply, Request

LISTITEM = "app.bsky.graph.listitem"
LIST = "app.bsky.graph.list"
PACK = load("getStarterPack.json")["starterPack"]
PACK_URI = PACK["uri"]
PACK_OWNER = PACK["creator"]["handle"]


class BlueskyListsFake:
    def __init__(self, inner: FakeBluesky, *, page_cap: int = 5) -> None:
        self.inner = inner
        self.page_cap = page_cap
        self.profiles: dict[str, Json] = {}  # did -> profileView
        self.records: dict[tuple[str, str, str], Json] = {}  # (repo, collection, rkey)
        self.packs: dict[str, Json] = {PACK_URI: PACK}
        self.writes = 0
        self._fault: tuple[int, Reply, bool] | None = None
        self._cursors: dict[str, int] = {}
        self._seq = itertools.count(1)
        self._lock = threading.RLock()
        self._adopt_recorded(load("getList.json"))
        self._adopt_recorded({"list": {**PACK["list"], "creator": PACK["creator"]},
                              "items": PACK["listItemsSample"]})
        self.make_account(inner.handle, did=ACCOUNT_DID)

    def _adopt_recorded(self, body: Json) -> None:
        view = body["list"]
        self.inner.lists.setdefault(view["uri"], view)
        for item in body["items"]:
            did = item["subject"]["did"]
            self.profiles.setdefault(did, item["subject"])
            self.inner.handles.setdefault(item["subject"]["handle"], did)
            repo, _, rkey = _split(item["uri"])
            self.records[(repo, LISTITEM, rkey)] = {"$type": LISTITEM, "subject": did,
                                                    "list": view["uri"]}

    # ------------------------------------------------------------ test controls

    def make_account(self, handle: str, *, did: str | None = None,
                     display_name: str | None = None) -> str:
        did = did or "did:plc:" + hashlib.sha256(handle.encode()).hexdigest()[:24]
        self.profiles[did] = {"did": did, "handle": handle, "displayName":
                              handle.split(".")[0].title() if display_name is None
                              else display_name, "labels": [], "viewer": {"muted": False}}
        self.inner.handles[handle.lower()] = did
        return did

    def make_list(self, name: str, members: Sequence[str] = (), *,
                  owner: str = ACCOUNT_DID) -> str:
        """A curate list in `owner`'s repo holding `members` (DIDs); returns its URI."""
        rkey = self._rkey()
        uri = f"at://{owner}/{LIST}/{rkey}"
        self.records[(owner, LIST, rkey)] = {"$type": LIST, "name": name}
        self._list_view(uri, name, owner)
        for did in members:
            self.put_item(uri, did)
        return uri

    def put_item(self, list_uri: str, did: str, repo: str | None = None) -> str:
        """A listitem record (as another app would write it); returns its URI."""
        repo = repo or _split(list_uri)[0]
        rkey = self._rkey()
        self.records[(repo, LISTITEM, rkey)] = {"$type": LISTITEM, "subject": did,
                                                "list": list_uri}
        return f"at://{repo}/{LISTITEM}/{rkey}"

    def remove_item(self, list_uri: str, did: str) -> None:
        for key, rec in list(self.records.items()):
            if key[1] == LISTITEM and rec["list"] == list_uri and rec["subject"] == did:
                del self.records[key]

    def members(self, list_uri: str) -> list[str]:
        """The handles on a list, as the AppView shows it (sorted; duplicates kept)."""
        return sorted(self.profiles[i["subject"]]["handle"] for i in self._items(list_uri))

    def rename(self, did: str, new_handle: str) -> None:
        for handle, owner in list(self.inner.handles.items()):
            if owner == did:
                del self.inner.handles[handle]
        self.inner.handles[new_handle.lower()] = did
        self.profiles[did] = {**self.profiles[did], "handle": new_handle}

    def fail_write(self, after: int, reply: Reply, *, applied: bool = False) -> None:
        """After `after` more successful writes, the next one gets `reply` (with `applied`,
        the write happens first: the answer is lost on the way back)."""
        self._fault = (after, reply, applied)

    # ------------------------------------------------------------ serving

    def __call__(self, req: Request) -> Reply:
        with self._lock:
            name = req.path.rpartition(".")[2]
            if name in ("createRecord", "deleteRecord"):
                return self._write(req, name)
            reply = self.inner(req)
            if name == "getList" and reply.status == 200:
                return self._get_list(req, reply)
            if name == "getStarterPack" and reply.status == 501:
                pack = self.packs.get(req.arg("starterPack") or "")
                if pack is None:
                    return xrpc_error(400, "NotFound", "Starter pack not found",
                                      **_limits(reply))
                return Reply.json({"starterPack": pack}, **_limits(reply))
            return reply

    def _get_list(self, req: Request, reply: Reply) -> Reply:
        uri = req.arg("list") or ""
        limit = min(int(req.arg("limit") or "50"), self.page_cap)
        start = 0
        if req.arg("cursor") is not None:
            start = self._cursors.get(req.arg("cursor") or "", -1)
        items = self._items(uri)
        page = items[start:start + limit] if start >= 0 else []
        body: Json = {"list": self.inner.lists[uri], "items": [
            {"uri": f"at://{i['repo']}/{LISTITEM}/{i['rkey']}",
             "subject": self.profiles[i["subject"]]} for i in page]}
        if page and len(page) == limit:
            token = hashlib.sha256(f"{uri}{start}{next(self._seq)}".encode()).hexdigest()[:20]
            self._cursors[token] = start + len(page)
            body["cursor"] = token
        return Reply.json(body, **_limits(reply))

    def _items(self, list_uri: str) -> list[dict[str, str]]:
        owner = _split(list_uri)[0]
        return [{"repo": repo, "rkey": rkey, "subject": rec["subject"]}
                for (repo, coll, rkey), rec in self.records.items()
                if coll == LISTITEM and repo == owner and rec.get("list") == list_uri
                and rec.get("subject") in self.profiles]

    def _write(self, req: Request, name: str) -> Reply:
        if not req.headers.get("authorization"):
            return xrpc_error(401, "AuthenticationRequired", "Authentication Required")
        reply = self.inner(req)  # the session check and the rate budget
        if reply.status != 501:
            return reply
        headers = _limits(reply)
        data: Any = req.json() or {}
        if data.get("repo") not in (ACCOUNT_DID, self.inner.handle):
            return xrpc_error(403, "AuthRequiredError", "Not allowed to write to this repo",
                              **headers)
        fault = self._take_fault()
        if fault is not None and not fault[1]:
            return fault[0]
        answer = self._create(data, headers) if name == "createRecord" else \
            self._delete(data, headers)
        self.writes += 1
        return fault[0] if fault is not None else answer

    def _take_fault(self) -> tuple[Reply, bool] | None:
        if self._fault is None:
            return None
        after, reply, applied = self._fault
        if after > 0:
            self._fault = (after - 1, reply, applied)
            return None
        self._fault = None
        return reply, applied

    def _create(self, data: Json, headers: dict[str, str]) -> Reply:
        collection, record = data.get("collection"), data.get("record") or {}
        if collection not in (LIST, LISTITEM) or record.get("$type") != collection \
                or not isinstance(record.get("createdAt"), str):
            return xrpc_error(400, "InvalidRequest", f"Invalid {collection} record", **headers)
        if collection == LISTITEM and not (str(record.get("subject", "")).startswith("did:")
                                           and str(record.get("list", "")).startswith("at://")):
            return xrpc_error(400, "InvalidRequest", "Invalid app.bsky.graph.listitem record: "
                              "Record/subject must be a valid did", **headers)
        rkey = self._rkey()
        self.records[(ACCOUNT_DID, str(collection), rkey)] = dict(record)
        uri = f"at://{ACCOUNT_DID}/{collection}/{rkey}"
        if collection == LIST:
            self._list_view(uri, str(record.get("name", "")), ACCOUNT_DID)
        body = load("createRecord.json")
        body["uri"] = uri
        return Reply.json(body, **headers)

    def _delete(self, data: Json, headers: dict[str, str]) -> Reply:
        key = (ACCOUNT_DID, str(data.get("collection")), str(data.get("rkey")))
        if self.records.pop(key, None) is None:
            return Reply.json(load("deleteRecord_already_deleted.json"), **headers)
        return Reply.json(load("deleteRecord.json"), **headers)

    def _list_view(self, uri: str, name: str, owner: str) -> None:
        creator = self.profiles.get(owner) or {"did": owner, "handle": "handle.invalid"}
        self.inner.lists[uri] = {**load("getList.json")["list"], "uri": uri, "name": name,
                                 "creator": creator, "listItemCount": 0}

    def _rkey(self) -> str:
        return f"3lk{next(self._seq):010d}"


def _split(uri: str) -> tuple[str, str, str]:
    repo, collection, rkey = uri.removeprefix("at://").split("/")
    return repo, collection, rkey


def _limits(reply: Reply) -> dict[str, str]:
    return {k: v for k, v in reply.headers.items() if k.lower().startswith("ratelimit")}
