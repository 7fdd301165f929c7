"""Bluesky identifiers as users write them (bsky.app URLs, at:// URIs, handles, DIDs).

Pure and import-light: the settings validate sources with it before any SDK is loaded.
A list or custom feed is kept as an ``at://AUTHORITY/COLLECTION/RKEY`` URI whose authority
may still be a handle; the collector resolves a handle to its DID once (handles change,
DIDs don't) and remembers the DID in the source's state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

LIST = "app.bsky.graph.list"
FEED_GENERATOR = "app.bsky.feed.generator"
POST = "app.bsky.feed.post"
_WEB_KINDS = {"lists": LIST, "feed": FEED_GENERATOR, "post": POST}
_COLLECTIONS = {"list": LIST, "feed": FEED_GENERATOR}
_HANDLE = re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
                     r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+$")
_DID = re.compile(r"^did:[a-z]+:[a-zA-Z0-9._:%-]{1,2000}$")
_RKEY = re.compile(r"^[a-zA-Z0-9._:~-]{1,512}$")
_WEB_HOSTS = {"bsky.app", "www.bsky.app", "staging.bsky.app"}


@dataclass(frozen=True, slots=True)
class AtUri:
    authority: str  # a DID, or a handle not resolved yet
    collection: str
    rkey: str

    def __str__(self) -> str:
        return f"at://{self.authority}/{self.collection}/{self.rkey}"

    @property
    def has_did(self) -> bool:
        return self.authority.startswith("did:")


def is_did(value: str) -> bool:
    return bool(_DID.match(value))


def is_handle(value: str) -> bool:
    return len(value) <= 253 and bool(_HANDLE.match(value))


def parse_at_uri(value: str) -> AtUri | None:
    """``at://AUTHORITY/COLLECTION/RKEY`` -> AtUri; None for anything else."""
    if not isinstance(value, str) or not value.startswith("at://"):
        return None
    parts = value[5:].split("/")
    if len(parts) != 3 or not all(parts) or not _RKEY.match(parts[2]):
        return None
    return AtUri(parts[0], parts[1], parts[2])


def did_of(uri: str) -> str | None:
    """The DID an at:// URI belongs to (its authority), when it is one."""
    parsed = parse_at_uri(uri)
    return parsed.authority if parsed is not None and parsed.has_did else None


def rkey_of(uri: str) -> str:
    parsed = parse_at_uri(uri)
    return parsed.rkey if parsed is not None else ""


def _from_web(value: str, collection: str) -> AtUri | None:
    parts = urlsplit(value)
    if parts.scheme != "https" or (parts.hostname or "") not in _WEB_HOSTS:
        return None
    segs = [unquote(s) for s in parts.path.split("/") if s]
    if len(segs) == 4 and segs[0] == "profile" and _WEB_KINDS.get(segs[2]) == collection:
        return AtUri(segs[1], collection, segs[3])
    return None


def _actor(value: str) -> str:
    value = value.strip().lstrip("@")
    if is_did(value) or is_handle(value):
        return value
    raise ValueError(f"{value!r} is not a Bluesky handle (name.bsky.social) or a DID (did:plc:…)")


def check_target(kind: str, value: str) -> str:
    """A source's value checked and normalized (ValueError says what is wrong).

    list/feed -> ``at://…`` URI; user -> handle (lowercase) or DID; hashtag without '#'.
    """
    value = value.strip()
    if kind in _COLLECTIONS:
        collection = _COLLECTIONS[kind]
        uri = parse_at_uri(value) or _from_web(value, collection)
        if uri is None or uri.collection != collection:
            example = "lists/RKEY" if kind == "list" else "feed/RKEY"
            raise ValueError(f"{value!r} is not a Bluesky {kind}: use "
                             f"https://bsky.app/profile/HANDLE/{example} or at://DID/"
                             f"{collection}/RKEY")
        _actor(uri.authority)
        return str(uri)
    if kind == "user":
        web = urlsplit(value)
        if web.scheme == "https" and (web.hostname or "") in _WEB_HOSTS:
            segs = [s for s in web.path.split("/") if s]
            value = unquote(segs[1]) if len(segs) == 2 and segs[0] == "profile" else value
        actor = _actor(value)
        return actor if is_did(actor) else actor.lower()
    if kind == "hashtag":
        return value.lstrip("#")
    return value


def web_url(actor: str, rkey: str) -> str:
    """https://bsky.app/profile/HANDLE/post/RKEY (bsky.app also accepts a DID there)."""
    return f"https://bsky.app/profile/{actor}/post/{rkey}"
