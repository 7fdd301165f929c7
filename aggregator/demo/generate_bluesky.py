"""The demo's Bluesky samples: feed items as `app.bsky.feed.getListFeed` sends them.

Called by generate.py (`bluesky_data`), which writes data/demo/bluesky.json. The shapes are
those of the recorded responses in tests/data/bluesky/ (getListFeed_page.json,
getAuthorFeed_with_repost_and_reply.json): postViews with their record, facets, embeds and
views; reposts as ``reason`` #reasonRepost items; replies with ``record.reply`` strong refs
and the item's ``reply`` {root, parent} postViews; quotes as app.bsky.embed.record with a
#viewRecord; images with alt text; link cards as app.bsky.embed.external.

Facets are what makes Bluesky text hard, so they are computed the way the Bluesky app does:
``index`` holds UTF-8 *byte* offsets into the final text (the spec puts emoji and accents
before links, so a reader that counts characters would cut a link), a link's text is the
app's shortened form (host + 13 characters of path + "...") while the facet holds the whole
URI, ``#tags`` and ``@mentions`` (a person id in the spec, the person's handle here, with
their DID in the facet). Record keys are TIDs made from the post's time and content ids are
hashes: the same spec gives the same file.

Everyone here is fictional: handles live on `.example` domains and DIDs start with
``did:plc:demo``.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from aggregator.demo.samples import TOKEN, iso, posts_on, spec_times

Json = dict[str, Any]

_TID_CHARS = "234567abcdefghijklmnopqrstuvwxyz"
_CDN = "https://cdn.bsky.example/img"  # a fictional CDN: nothing here is fetched
POST = "app.bsky.feed.post"
LIST_OWNER = "journal"  # the person whose curated list the demo reads


def did_of(person_id: str) -> str:
    """``did:plc:demo`` + 20 base32 characters, like a PLC DID (24 after ``did:plc:``)."""
    digest = base64.b32encode(hashlib.sha256(person_id.encode()).digest()).decode().lower()
    return f"did:plc:demo{digest[:20]}"


def tid(when: datetime, clock_id: int = 0) -> str:
    """A record key as PDSes write them: microseconds since 1970 and a clock id, base32."""
    value = (int(when.timestamp() * 1_000_000) << 10) | (clock_id & 0x3FF)
    return "".join(_TID_CHARS[(value >> (5 * i)) & 31] for i in range(12, -1, -1))


def cid(seed: str) -> str:
    """A CIDv1 (dag-cbor, sha256) shaped content id, from a seed."""
    digest = base64.b32encode(hashlib.sha256(seed.encode()).digest()).decode().lower()
    return "bafyrei" + digest[:52]


def short_url(url: str) -> str:
    """The link text the Bluesky app writes for a URL (social-app `toShortUrl`)."""
    parts = urlsplit(url)
    path = ("" if parts.path == "/" else parts.path) + (f"?{parts.query}" if parts.query
                                                         else "")
    return parts.netloc + (path[:13] + "..." if len(path) > 15 else path)


def list_uri(spec: Json) -> str:
    """The demo list's at:// URI (owned by LIST_OWNER, created 120 days before the epoch)."""
    created = spec_times(spec)[0] - timedelta(days=120)
    return f"at://{did_of(LIST_OWNER)}/app.bsky.graph.list/{tid(created)}"


def _author(person: Json) -> Json:
    """A profileViewBasic as feeds embed it (no avatar: optional, and absent for many)."""
    return {"did": did_of(person["id"]), "handle": person["bluesky"],
            "displayName": person["name"], "viewer": {"muted": False, "blockedBy": False},
            "labels": [], "createdAt": "2023-09-20T17:26:12.575Z"}


def _facet(start: int, end: int, feature: Json) -> Json:
    return {"features": [feature], "index": {"byteEnd": end, "byteStart": start}}


def rich_text(text: str, links: list[str], people: dict[str, Json]) -> tuple[str, list[Json]]:
    """The post text with @mentions as handles and links appended as the app shortens them,
    and its facets at UTF-8 byte offsets."""
    out = ""
    facets: list[Json] = []

    def at() -> int:
        return len(out.encode("utf-8"))

    last = 0
    for m in TOKEN.finditer(text):
        sign, word = m.groups()
        out += text[last:m.start()]
        last = m.end()
        start = at()
        if sign == "#":
            out += m.group(0)
            facets.append(_facet(start, at(), {"$type": "app.bsky.richtext.facet#tag",
                                               "tag": word}))
        else:
            person = people[word]
            out += f"@{person['bluesky']}"
            facets.append(_facet(start, at(), {"$type": "app.bsky.richtext.facet#mention",
                                               "did": did_of(word)}))
    out += text[last:]
    for url in links:
        out += " "
        start = at()
        out += short_url(url)
        facets.append(_facet(start, at(), {"$type": "app.bsky.richtext.facet#link",
                                           "uri": url}))
    facets.sort(key=lambda f: f["index"]["byteStart"])
    return out, facets


def _image(did: str, seq: int, alt: str) -> tuple[Json, Json]:
    """(record embed, view embed) of one image."""
    blob = cid(f"{did}/image/{seq}").replace("bafyrei", "bafkrei")
    ratio = {"height": 675, "width": 1200}
    record = {"$type": "app.bsky.embed.images", "images": [{
        "alt": alt, "aspectRatio": ratio,
        "image": {"$type": "blob", "ref": {"$link": blob}, "mimeType": "image/jpeg",
                  "size": 180000 + seq * 977}}]}
    view = {"$type": "app.bsky.embed.images#view", "images": [{
        "thumb": f"{_CDN}/feed_thumbnail/plain/{did}/{blob}@jpeg",
        "fullsize": f"{_CDN}/feed_fullsize/plain/{did}/{blob}@jpeg",
        "alt": alt, "aspectRatio": ratio}]}
    return record, view


def _card(url: str, title: str) -> tuple[Json, Json]:
    """(record embed, view embed) of a link card."""
    description = f"{title}: the fictional demo agency's page."
    return ({"$type": "app.bsky.embed.external",
             "external": {"description": description, "title": title, "uri": url}},
            {"$type": "app.bsky.embed.external#view",
             "external": {"uri": url, "title": title, "description": description}})


def _quote(quoted: Json) -> tuple[Json, Json]:
    """(record embed, view embed) of a quoted post."""
    record = {"$type": "app.bsky.embed.record",
              "record": {"cid": quoted["cid"], "uri": quoted["uri"]}}
    view_record: Json = {
        "$type": "app.bsky.embed.record#viewRecord", "uri": quoted["uri"],
        "cid": quoted["cid"], "author": quoted["author"], "value": quoted["record"],
        "labels": [], "likeCount": quoted["likeCount"], "replyCount": quoted["replyCount"],
        "repostCount": quoted["repostCount"], "quoteCount": 1,
        "indexedAt": quoted["indexedAt"]}
    if "embed" in quoted:
        view_record["embeds"] = [quoted["embed"]]
    return record, {"$type": "app.bsky.embed.record#view", "record": view_record}


def _ref(post: Json) -> Json:
    return {"cid": post["cid"], "uri": post["uri"]}


def _post_view(post: Json, seq: int, at: datetime, people: dict[str, Json],
               by_ref: dict[str, Json]) -> tuple[Json, Json | None]:
    """(postView, the feed item's ``reply`` or None) of one original post."""
    person = people[post["by"]]
    did = did_of(person["id"])
    uri = f"at://{did}/{POST}/{tid(at, seq)}"
    text, facets = rich_text(post["text"], post.get("links", []), people)
    record: Json = {"$type": POST, "createdAt": iso(at), "langs": ["en"], "text": text}
    if facets:
        record["facets"] = facets
    view: Json = {"uri": uri, "cid": cid(uri), "author": _author(person), "record": record,
                  "replyCount": 0, "repostCount": (seq * 3) % 11, "likeCount": (seq * 13) % 57,
                  "quoteCount": 0, "indexedAt": iso(at + timedelta(milliseconds=350)),
                  "viewer": {"threadMuted": False, "embeddingDisabled": False},
                  "labels": []}
    embeds = []
    if "media" in post:
        embeds.append(_image(did, seq, post["media"]))
    if "card" in post:
        embeds.append(_card(post["links"][0], post["card"]))
    if "quote" in post:
        embeds.append(_quote(by_ref[post["quote"]]))
    if embeds:
        record["embed"], view["embed"] = embeds[0]
    reply = None
    if "reply" in post:
        parent = by_ref[post["reply"]]
        root = by_ref.get(parent.get("_root", ""), parent)
        record["reply"] = {"parent": _ref(parent), "root": _ref(root)}
        reply = {"root": {**_public(root), "$type": "app.bsky.feed.defs#postView"},
                 "parent": {**_public(parent), "$type": "app.bsky.feed.defs#postView"}}
        view["_root"] = post["reply"] if root is parent else parent["_root"]
    return view, reply


def _public(view: Json) -> Json:
    return {k: v for k, v in view.items() if not k.startswith("_")}


def bluesky_data(spec: Json) -> Json:
    """The list's feed items, newest first by the time the AppView put them in the feed (a
    repost sits at its repost time), its list view, and the items held back for `R`."""
    epoch, when = spec_times(spec)
    people = {p["id"]: p for p in spec["people"] if p.get("bluesky")}
    by_ref: dict[str, Json] = {}
    feed: list[Json] = []
    later: list[str] = []
    for seq, post in enumerate(posts_on(spec, "bluesky")):
        at = when(post)
        if "boost" in post:
            original = by_ref[post["boost"]]
            by = people[post["by"]]
            reason_uri = f"at://{did_of(by['id'])}/app.bsky.feed.repost/{tid(at, seq)}"
            item: Json = {"post": _public(original), "reason": {
                "$type": "app.bsky.feed.defs#reasonRepost", "by": _author(by),
                "uri": reason_uri, "cid": cid(reason_uri), "indexedAt": iso(at)}}
            key = reason_uri
        else:
            view, reply = _post_view(post, seq, at, people, by_ref)
            item = {"post": view}
            if reply is not None:
                item["reply"] = reply
            if "id" in post:
                by_ref[post["id"]] = view
            key = view["uri"]
        if post.get("later"):
            later.append(key)
        feed.insert(0, item)
    for item in feed:
        item["post"] = _public(item["post"])
    owner = next(p for p in spec["people"] if p["id"] == LIST_OWNER)
    uri = list_uri(spec)
    list_view = {
        "uri": uri, "cid": cid(uri), "name": "MedSky demo voices",
        "purpose": "app.bsky.graph.defs#curatelist", "listItemCount": len(people),
        "indexedAt": iso(epoch - timedelta(days=120)), "labels": [],
        "viewer": {"muted": False}, "creator": _author(owner),
        "description": "Fictional health voices for the grandrounds demo."}
    return {"_about": "Fictional sample Bluesky feed items for `rounds demo` "
                      "(aggregator/demo/generate_bluesky.py from posts.toml); "
                      "app.bsky.feed.getListFeed shapes.",
            "epoch": spec["epoch"], "lists": {uri: [_key(i) for i in feed]},
            "later": later, "list": list_view,
            "members": [_author(p) for p in people.values()], "feed": feed}


def _key(item: Json) -> str:
    """A feed item's identity: the repost record for a repost, else the post."""
    reason = item.get("reason") or {}
    return str(reason.get("uri") or item["post"]["uri"])

