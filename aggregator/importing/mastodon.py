"""A Mastodon account archive (*Preferences → Import and export → Request your archive*):
a .zip (or .tar.gz) holding ``outbox.json``, ``actor.json``, ``likes.json``,
``bookmarks.json`` and ``media_attachments/``.

``outbox.json`` is an ActivityStreams OrderedCollection whose ``orderedItems`` are the
account's activities: ``Create`` wraps one of its own posts (a ``Note``; a poll is a
``Question``) in full, ``Announce`` is a boost and carries only the boosted post's address,
so there is nothing to store for it (the summary counts them). ``actor.json`` is the owner.

Each post is mapped to the Mastodon API's status shape and normalized by the Mastodon
collector's own `normalize_status` (content HTML through our html module), keyed by its
federation URI (the ``Note``'s ``id``), as a collected post is: importing an archive and
collecting the same account store each post once.

Reference: https://docs.joinmastodon.org/spec/activitypub/ and
https://www.w3.org/TR/activitystreams-vocabulary/
"""

from __future__ import annotations

import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

import orjson

from aggregator.collectors.jsonval import as_str
from aggregator.collectors.mastodon.normalize import normalize_status
from aggregator.importing.items import Item
from aggregator.importing.jsonstream import BadItem, iter_array
from aggregator.models import Post

POST_TYPES = ("Note", "Question", "Article", "Page")
BOOST = "a boost: the archive holds only the boosted post's address"
_ACTOR_KEYS = ("id", "preferredUsername", "name", "summary", "url")


def _media_kind(media_type: str) -> str:
    head = media_type.split("/", 1)[0]
    return head if head in ("image", "video", "audio") else "unknown"


def _tag_name(tag: dict[str, Any]) -> str:
    return as_str(tag.get("name")).lstrip("#@")


def status_of(note: dict[str, Any], actor: dict[str, Any]) -> dict[str, Any]:
    """A Note (and its actor) in the Mastodon API's status shape."""
    uri = as_str(note.get("id"))
    content_map = note.get("contentMap")
    lang = next(iter(content_map), None) if isinstance(content_map, dict) and content_map \
        else None
    url = note.get("url")
    tags = [t for t in note.get("tag") or () if isinstance(t, dict)]
    return {
        "id": uri.rstrip("/").rsplit("/", 1)[-1],
        "uri": uri,
        "url": url if isinstance(url, str) else uri,
        "created_at": note.get("published"),
        "edited_at": note.get("updated"),
        "content": as_str(note.get("content")),
        "spoiler_text": as_str(note.get("summary")),
        "language": lang,
        # the parent's federation URI: a thread finds its parent by key
        "in_reply_to_id": note.get("inReplyTo") if isinstance(note.get("inReplyTo"), str)
        else None,
        "sensitive": note.get("sensitive") is True,
        "media_attachments": [
            {"type": _media_kind(as_str(a.get("mediaType"))), "url": as_str(a.get("url")),
             "description": as_str(a.get("name"))}
            for a in note.get("attachment") or () if isinstance(a, dict)],
        "tags": [{"name": _tag_name(t)} for t in tags if t.get("type") == "Hashtag"],
        "mentions": [{"acct": _tag_name(t), "url": as_str(t.get("href"))}
                     for t in tags if t.get("type") == "Mention"],
        "account": {"id": "", "acct": as_str(actor.get("preferredUsername")),
                    "username": as_str(actor.get("preferredUsername")),
                    "url": as_str(actor.get("url") or actor.get("id")),
                    "display_name": as_str(actor.get("name")),
                    "note": as_str(actor.get("summary"))},
    }


def normalize_activity(activity: dict[str, Any], actor: dict[str, Any]) -> Post | None:
    """A ``Create`` activity -> Post (raw: the activity and its actor); None for a boost.

    Raises ValueError for an activity that is neither."""
    kind = activity.get("type")
    note = activity.get("object")
    if kind == "Announce":
        return None
    if kind != "Create" or not isinstance(note, dict) or note.get("type") not in POST_TYPES:
        raise ValueError(f"not a post: a {as_str(kind) or 'typeless'} activity of "
                         f"{as_str(note.get('type')) if isinstance(note, dict) else 'a link'}")
    if not note.get("id"):
        raise ValueError("a post without an id")
    raw = {"activity": activity, "actor": {k: actor[k] for k in _ACTOR_KEYS if k in actor}}
    return replace(normalize_status(status_of(note, actor)), raw=orjson.dumps(raw).decode())


class _Archive:
    """A zip or tar archive read from one open file (tar: any compression)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.zip: zipfile.ZipFile | None = None
        self.tar: tarfile.TarFile | None = None
        if zipfile.is_zipfile(stream):
            stream.seek(0)
            self.zip = zipfile.ZipFile(stream)
        else:
            stream.seek(0)
            # closed with `stream` (no file of its own); lives as long as the archive
            self.tar = tarfile.open(fileobj=stream, mode="r:*")  # noqa: SIM115

    def open(self, name: str) -> IO[bytes] | None:
        """Member `name`, at the top or in one folder."""
        if self.zip is not None:
            for info in self.zip.infolist():
                if info.filename == name or info.filename.endswith("/" + name):
                    return self.zip.open(info)
            return None
        assert self.tar is not None
        for member in self.tar:
            if member.isfile() and (member.name.removeprefix("./") == name
                                    or member.name.endswith("/" + name)):
                return self.tar.extractfile(member)
        return None


def read_archive(path: Path, stream: IO[bytes]) -> Iterator[Item]:
    try:
        archive = _Archive(stream)
        actor_file = archive.open("actor.json")
        actor = orjson.loads(actor_file.read()) if actor_file is not None else {}
        outbox = archive.open("outbox.json")
    except (OSError, tarfile.TarError, zipfile.BadZipFile, orjson.JSONDecodeError) as exc:
        yield Item.bad(path.name, f"cannot read it as a Mastodon archive ({exc})")
        return
    if not isinstance(actor, dict):
        actor = {}
    if outbox is None:
        yield Item.bad(path.name, "no outbox.json: not a Mastodon account archive")
        return
    with outbox:
        try:
            for index, value in enumerate(iter_array(outbox, after='"orderedItems"'), 1):
                where = f"{path.name}:outbox.json item {index}"
                if isinstance(value, BadItem):
                    yield Item.bad(f"{path.name}:outbox.json item {value.index}", value.reason)
                    return
                yield _item(where, value, actor)
        except ValueError as exc:
            yield Item.bad(f"{path.name}:outbox.json", str(exc))
        except (OSError, tarfile.TarError, zipfile.BadZipFile, EOFError) as exc:
            yield Item.bad(f"{path.name}:outbox.json", f"cannot read it ({exc})")


def _item(where: str, value: Any, actor: dict[str, Any]) -> Item:
    if not isinstance(value, dict):
        return Item.bad(where, "not an activity object")
    try:
        post = normalize_activity(value, actor)
    except ValueError as exc:
        return Item.bad(where, str(exc))
    return Item(where, post) if post is not None else Item(where, skipped=BOOST)
