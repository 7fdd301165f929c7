"""A Bluesky repository export: the CAR file `com.atproto.sync.getRepo` returns (also
*Settings → Account → Export my data* in the app).

A repository is a signed commit (``did``, ``data``: the root of a Merkle Search Tree)
whose tree maps record keys (``app.bsky.feed.post/3k…``) to records, every node and
record a DAG-CBOR block of the CAR. The posts are the ``app.bsky.feed.post`` records;
their at:// URI is ``at://DID/app.bsky.feed.post/RKEY``, as collected posts are keyed.
The profile record (``app.bsky.actor.profile/self``) gives the author's display name and
bio; a repository does not hold its handle, so the author shows as the DID until a
collection sees the handle (the author is keyed by DID either way).

Each record is given the shape of an AppView postView and normalized by the Bluesky
collector's own normalizer. Embeds are the record's, not a view's: a quoted post and a
link card come through; images are shown from Bluesky's CDN address for their blob.

Not constant memory: atproto's CAR reader (libipld) decodes the whole file at once. A
repository is the account's own records (megabytes, tens for the busiest), not a feed.

Reference: https://atproto.com/specs/repository
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from aggregator.collectors.bluesky.normalize import normalize_post_view
from aggregator.importing.items import Item

POST = "app.bsky.feed.post"
PROFILE = "app.bsky.actor.profile/self"
_CDN = "https://cdn.bsky.app/img/feed_fullsize/plain/{did}/{cid}@jpeg"


def _link(value: Any) -> str:
    """A decoded link (libipld gives a CID's bytes) as its string form."""
    import libipld

    if isinstance(value, bytes):
        return str(libipld.encode_cid(value))
    return str(value) if value is not None else ""


def _as_json(value: Any) -> Any:
    """A decoded record in atproto's JSON form: links as {"$link": CID}, other bytes as
    {"$bytes": base64}."""
    if isinstance(value, dict):
        return {k: _as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_json(v) for v in value]
    if isinstance(value, bytes):
        if value[:2] in (b"\x01\x71", b"\x01\x55"):  # CIDv1, dag-cbor or raw (a blob)
            return {"$link": _link(value)}
        return {"$bytes": base64.b64encode(value).decode()}
    return value


def _entries(blocks: dict[Any, Any], root: str) -> Iterator[tuple[str, str]]:
    """(record key, record CID) of the tree under `root`, in key order."""
    stack: list[tuple[str, Any]] = [("node", root)]
    while stack:
        kind, value = stack.pop()
        if kind == "leaf":
            yield value
            continue
        node = blocks.get(value)
        if not isinstance(node, dict):
            continue
        todo: list[tuple[str, Any]] = []
        if node.get("l"):
            todo.append(("node", _link(node["l"])))
        key = b""
        for entry in node.get("e") or ():
            key = key[:entry.get("p", 0)] + bytes(entry.get("k", b""))
            todo.append(("leaf", (key.decode("utf-8", "replace"), _link(entry.get("v")))))
            if entry.get("t"):
                todo.append(("node", _link(entry["t"])))
        stack.extend(reversed(todo))


def _ref(blob: Any) -> str:
    ref = blob.get("ref") if isinstance(blob, dict) else None
    return str(ref.get("$link", "")) if isinstance(ref, dict) else ""


def _embed_view(embed: Any, did: str) -> dict[str, Any]:
    """A record's embed as the view the normalizer reads."""
    if not isinstance(embed, dict):
        return {}
    kind = embed.get("$type")
    if kind == "app.bsky.embed.external":
        return {"$type": "app.bsky.embed.external#view", "external": embed.get("external")}
    if kind == "app.bsky.embed.record":
        return {"$type": "app.bsky.embed.record#view",
                "record": {"$type": "app.bsky.embed.record#viewRecord",
                           "uri": (embed.get("record") or {}).get("uri")}}
    if kind == "app.bsky.embed.images":
        return {"$type": "app.bsky.embed.images#view", "images": [
            {"fullsize": _CDN.format(did=did, cid=_ref(i.get("image"))),
             "alt": i.get("alt", "")} for i in embed.get("images") or ()
            if isinstance(i, dict)]}
    if kind == "app.bsky.embed.recordWithMedia":
        return {"$type": "app.bsky.embed.recordWithMedia#view",
                "media": _embed_view(embed.get("media"), did),
                "record": {"record": _embed_view(embed.get("record"), did).get("record")}}
    return {}


def read_car(path: Path, stream: IO[bytes]) -> Iterator[Item]:
    import libipld

    try:
        header, raw_blocks = libipld.decode_car(stream.read())
        blocks = {_link(k): v for k, v in raw_blocks.items()}
        root = _link(header["roots"][0])
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        yield Item.bad(path.name, f"not a CAR repository export ({exc})")
        return
    commit = blocks.get(root)
    if not isinstance(commit, dict) or not commit.get("did") or not commit.get("data"):
        yield Item.bad(path.name, "its root is not a repository commit")
        return
    did = str(commit["did"])
    profile: dict[str, Any] = {}
    entries = list(_entries(blocks, _link(commit["data"])))
    for key, cid in entries:
        if key == PROFILE and isinstance(blocks.get(cid), dict):
            profile = blocks[cid]
    author = {"did": did, "handle": "", "displayName": profile.get("displayName", ""),
              "description": profile.get("description", "")}
    for key, cid in entries:
        collection = key.partition("/")[0]
        if collection != POST:
            continue
        where = f"{path.name}:{key}"
        record = _as_json(blocks.get(cid))
        if not isinstance(record, dict):
            yield Item.bad(where, "the record's block is missing")
            continue
        view = {"uri": f"at://{did}/{key}", "cid": cid, "author": author,
                "record": record, "embed": _embed_view(record.get("embed"), did),
                "indexedAt": record.get("createdAt")}
        try:
            post = normalize_post_view(view)
        except (TypeError, ValueError) as exc:
            yield Item.bad(where, f"not a post record ({exc})")
            continue
        yield Item(where, post)
