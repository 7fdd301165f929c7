"""An X account archive (the .zip from *Settings → Your account → Download an archive*).

Layout (data/ in the zip; every file is JavaScript assigning one JSON array):

* ``tweets.js`` (``window.YTD.tweets.part0 = [{"tweet": {...}}, ...]``; older archives:
  ``tweet.js``), split into ``tweets-part1.js``, ``tweets-part2.js`` … for large accounts.
  The tweets are v1.1-shaped without ``user``: the author is the archive's owner.
* ``account.js`` (``accountId``, ``username``, ``accountDisplayName``) and ``profile.js``
  (``description.bio``): the owner.
* ``note-tweet.js``: the full text of posts longer than 280 characters, which tweets.js
  keeps cut short. A note carries its own id, not the tweet's: it is matched to its tweet
  by creation time (to the second) and the start of the text. Notes are held in memory
  while the tweets stream (one entry per long post).
* ``like.js``, ``deleted-tweets.js``, ``deleted-note-tweet.js``, ``twitter-circle-tweet.js``
  and the rest are not the account's public posts: not imported (the summary names them).

References: the archive's own ``Your archive.html`` / ``README.txt``, and
https://help.x.com/en/managing-your-account/how-to-download-your-x-archive
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from html import unescape
from pathlib import Path
from typing import IO, Any

from aggregator.collectors.jsonval import as_str
from aggregator.importing.items import Item
from aggregator.importing.jsonstream import BadItem, iter_array
from aggregator.importing.twitter import normalize_archive_tweet, v1_time

_TWEETS = re.compile(r"^(?:.*/)?data/tweets?(?:-part(\d+))?\.js$")
NOT_POSTS = ("like.js", "deleted-tweets.js", "deleted-note-tweet.js",
             "twitter-circle-tweet.js")
_PREFIX = 20  # characters of text a note and its tweet must share


def _member(zf: zipfile.ZipFile, name: str) -> str | None:
    for info in zf.infolist():
        if info.filename == f"data/{name}" or info.filename.endswith(f"/data/{name}"):
            return info.filename
    return None


def _first(zf: zipfile.ZipFile, name: str, key: str) -> dict[str, Any]:
    member = _member(zf, name)
    if member is None:
        return {}
    with zf.open(member) as stream:
        for item in iter_array(stream, after="="):
            if isinstance(item, dict) and isinstance(item.get(key), dict):
                found: dict[str, Any] = item[key]
                return found
            break
    return {}


def load_owner(zf: zipfile.ZipFile) -> dict[str, Any]:
    """The archive's owner as a v1.1 user object (id_str, screen_name, name, description)."""
    account = _first(zf, "account.js", "account")
    profile = _first(zf, "profile.js", "profile")
    bio = profile.get("description")
    return {"id_str": as_str(account.get("accountId")),
            "screen_name": as_str(account.get("username")),
            "name": as_str(account.get("accountDisplayName")),
            "description": as_str(bio.get("bio")) if isinstance(bio, dict) else ""}


def _second(value: str | None) -> str:
    return (value or "")[:19]  # "2025-06-04T10:00:00"


def _start(text: Any) -> str:
    return " ".join(unescape(as_str(text)).split())[:_PREFIX]


def load_notes(zf: zipfile.ZipFile) -> dict[str, list[dict[str, Any]]]:
    """note-tweet.js entries by creation second."""
    member = _member(zf, "note-tweet.js")
    notes: dict[str, list[dict[str, Any]]] = {}
    if member is None:
        return notes
    with zf.open(member) as stream:
        for item in iter_array(stream, after="="):
            if not isinstance(item, dict):
                continue
            note = item.get("noteTweet")
            if isinstance(note, dict):
                created = note.get("createdAt")
                when = None
                if isinstance(created, str):
                    try:
                        when = datetime.fromisoformat(created).astimezone(UTC)
                    except ValueError:
                        when = None
                if when is not None:
                    key = when.isoformat()[:19]
                    notes.setdefault(key, []).append(item)
    return notes


def _note_for(tweet: dict[str, Any], notes: dict[str, list[dict[str, Any]]]
              ) -> dict[str, Any] | None:
    candidates = notes.get(_second(v1_time(tweet.get("created_at"))))
    if not candidates:
        return None
    start = _start(tweet.get("full_text") or tweet.get("text"))
    for item in candidates:
        text = _start(item["noteTweet"].get("core", {}).get("text")
                      if isinstance(item["noteTweet"].get("core"), dict) else "")
        if start and text.startswith(start):
            found: dict[str, Any] = item["noteTweet"]
            return found
    return None


def tweet_members(zf: zipfile.ZipFile) -> list[str]:
    """tweets.js and its parts, in part order."""
    found = []
    for info in zf.infolist():
        match = _TWEETS.match(info.filename)
        if match:
            found.append((int(match.group(1) or 0), info.filename))
    return [name for _, name in sorted(found)]


def ignored_members(zf: zipfile.ZipFile) -> list[str]:
    names = {Path(i.filename).name for i in zf.infolist()}
    return [n for n in NOT_POSTS if n in names]


def read_archive(path: Path, stream: IO[bytes]) -> Iterator[Item]:
    """Every post of an X archive, streaming each tweets file."""
    try:
        zf = zipfile.ZipFile(stream)
    except zipfile.BadZipFile as exc:
        yield Item.bad(path.name, f"a damaged zip ({exc})")
        return
    with zf:
        members = tweet_members(zf)
        if not members:
            yield Item.bad(path.name, "no data/tweets.js: not an X account archive")
            return
        for name in ignored_members(zf):
            yield Item(f"{path.name}:data/{name}", skipped=f"data/{name} (not posts)")
        owner = load_owner(zf)
        notes = load_notes(zf)
        for member in members:
            with zf.open(member) as stream:
                try:
                    items = iter_array(stream, after="=")
                    for index, value in enumerate(items, 1):
                        where = f"{path.name}:{member} item {index}"
                        if isinstance(value, BadItem):
                            yield Item.bad(f"{path.name}:{member} item {value.index}",
                                           value.reason)
                            break
                        yield _item(where, value, owner, notes)
                except ValueError as exc:
                    yield Item.bad(f"{path.name}:{member}", str(exc))


def _item(where: str, value: Any, owner: dict[str, Any],
          notes: dict[str, list[dict[str, Any]]]) -> Item:
    if not isinstance(value, dict) or not isinstance(value.get("tweet"), dict):
        return Item.bad(where, "not a {\"tweet\": {...}} entry")
    note = _note_for(value["tweet"], notes)
    item = {**value, "noteTweet": note} if note is not None else value
    try:
        return Item(where, normalize_archive_tweet(item, owner))
    except ValueError as exc:
        return Item.bad(where, str(exc))
