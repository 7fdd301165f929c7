"""Real-shaped import inputs built from the recorded API responses in tests/data.

Each builder follows the format's published shape (see the docstrings of
aggregator/importing/*): twarc2 writes the API's response bodies one per line and
`twarc2 flatten` inlines each expansion into its tweet; an X archive is v1.1 tweets
without `user` in `{"tweet": ...}` wrappers behind a `window.YTD...` assignment; a
Mastodon archive's outbox is what the server's ActivityPub serializer makes of a status.
"""

from __future__ import annotations

import copy
import io
import json
import tarfile
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.conftest import DATA

Json = dict[str, Any]


def body(path: str) -> Any:
    return json.loads((DATA / path).read_text())["body"]


V2_FILES = ("twitter/v2/tweets_search_recent.json",
            "twitter/v2_expansions/search_recent_includes_users_tweets.json",
            "twitter/v2_expansions/tweet_includes_media.json")


def v2_bodies() -> list[Json]:
    """Three twarc2 lines: a search page, a page with users and referenced tweets, and a
    single tweet's lookup with its media."""
    return [body(p) for p in V2_FILES]


def write_jsonl(path: Path, values: list[Any]) -> Path:
    path.write_text("".join(json.dumps(v) + "\n" for v in values))
    return path


def flatten(response: Json) -> list[Json]:
    """`twarc2 flatten`: one tweet per line, expansions inlined (author, referenced
    tweets in full, attachments.media)."""
    data = response["data"] if isinstance(response["data"], list) else [response["data"]]
    inc = response.get("includes", {})
    users = {u["id"]: u for u in inc.get("users", [])}
    tweets = {t["id"]: t for t in inc.get("tweets", [])}
    media = {m["media_key"]: m for m in inc.get("media", [])}

    def inline(tweet: Json) -> Json:
        out = copy.deepcopy(tweet)
        if tweet.get("author_id") in users:
            out["author"] = users[tweet["author_id"]]
        keys = tweet.get("attachments", {}).get("media_keys", [])
        if keys:
            out["attachments"]["media"] = [media[k] for k in keys if k in media]
        refs = []
        for ref in tweet.get("referenced_tweets", []):
            found = tweets.get(ref["id"])
            refs.append({"type": ref["type"], **inline(found)} if found else ref)
        if refs:
            out["referenced_tweets"] = refs
        out["__twarc"] = {"url": "https://api.twitter.com/2/tweets/search/recent",
                          "version": "2.14.0", "retrieved_at": "2026-11-01T10:00:00+00:00"}
        return out

    return [inline(t) for t in data]


def v1_tweets() -> list[Json]:
    """twarc 1 lines: a recorded v1.1 list timeline, plus a retweet of its first tweet by
    the second one's author (the v1.1 shape: "RT @user: …", the original inlined)."""
    tweets = body("twitter/v1.1/lists_statuses.json")
    original, other = tweets[0], tweets[1]
    retweet = {
        "created_at": "Sat Jul 13 03:00:00 +0000 2019", "id": 1149876192432279553,
        "id_str": "1149876192432279553",
        "text": f"RT @{original['user']['screen_name']}: {original['text'][:100]}…",
        "truncated": False, "entities": {"hashtags": [], "symbols": [], "urls": [],
                                         "user_mentions": []},
        "user": other["user"], "retweeted_status": original, "retweet_count": 3,
        "favorite_count": 0, "lang": original["lang"],
    }
    return [*tweets, retweet]


def _js(name: str, items: list[Json]) -> str:
    return f"window.YTD.{name}.part0 = " + json.dumps(items, indent=2)


LONG_TEXT = ("Heart failure update: the long version of this post goes on past the 280 "
             "characters an archive keeps in tweets.js, " + "with more detail " * 20
             + "and it ends here.")


def x_archive(path: Path, *, bad_item: bool = False) -> tuple[Path, list[Json]]:
    """An X account archive of the first author's recorded tweets: tweets.js and
    tweets-part1.js (the second half), account.js, profile.js, note-tweet.js holding the
    long text of the first tweet, like.js and deleted-tweets.js. Returns the path and the
    (v1.1) tweets it holds; `bad_item` puts a malformed entry in tweets-part1.js."""
    tweets = body("twitter/v1.1/lists_statuses.json")
    owner = tweets[0]["user"]
    own = []
    for t in tweets:
        t = {k: v for k, v in t.items() if k != "user"}  # the archive has no user objects
        for key in ("favorite_count", "retweet_count"):
            t[key] = str(t.get(key, 0))  # and writes counts as strings
        t.pop("id")
        t.setdefault("full_text", t.pop("text"))
        own.append(t)
    long_one = own[0]
    long_one["full_text"] = LONG_TEXT[:270] + "… https://t.co/abc123"
    note = {"noteTweet": {"noteTweetId": "1649867698572025858", "updatedAt":
                          "2019-07-13T02:26:37.000Z",
                          "lifecycle": {"value": "updated", "name": "Updated",
                                        "originalName": "updated", "annotations": {}},
                          "createdAt": datetime.strptime(
                              long_one["created_at"], "%a %b %d %H:%M:%S %z %Y")
                          .strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                          "core": {"styletags": [], "urls": [], "text": LONG_TEXT,
                                   "mentions": [], "cashtags": [],
                                   "hashtags": [{"text": "HeartFailure"}]}}}
    half = len(own) // 2
    part1 = _js("tweets", [{"tweet": t} for t in own[half:]]).replace(
        "tweets.part0", "tweets.part1")
    if bad_item:
        part1 = part1.replace('[\n  {', '[\n  {"tweet": {"id_str": "1", "full_text": x}},\n  {',
                              1)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("Your archive.html", "<html></html>")
        zf.writestr("data/manifest.js", "window.__THAR_CONFIG = {}")
        zf.writestr("data/account.js", _js("account", [{"account": {
            "email": "owner@example.org", "createdVia": "web", "username":
            owner["screen_name"], "accountId": owner["id_str"], "createdAt":
            "2007-08-09T00:00:00.000Z", "accountDisplayName": owner["name"]}}]))
        zf.writestr("data/profile.js", _js("profile", [{"profile": {"description": {
            "bio": owner["description"], "website": "", "location": ""}}}]))
        zf.writestr("data/tweets.js", _js("tweets", [{"tweet": t} for t in own[:half]]))
        zf.writestr("data/tweets-part1.js", part1)
        zf.writestr("data/note-tweet.js", _js("note_tweet", [note]))
        zf.writestr("data/like.js", _js("like", [{"like": {
            "tweetId": "5", "fullText": "a liked post", "expandedUrl": "https://x.com/i/5"}}]))
        zf.writestr("data/deleted-tweets.js", _js("deleted_tweets", [{"tweet": dict(
            own[1], id_str="1149000000000000000", deleted_at="Sun Jul 14 00:00:00 +0000 2019")}]))
    return path, own


MASTODON_FILES = ("mastodon/timelines_list.json", "mastodon/timelines_tag.json")


def mastodon_statuses() -> list[Json]:
    """Recorded statuses of one account (the archive's owner) from the dev server."""
    found = [s for p in MASTODON_FILES for s in body(p)]
    owner = found[0]["account"]["acct"]
    return [s for s in found if s["account"]["acct"] == owner]


_MEDIA_TYPES = {"image": "image/png", "video": "video/mp4", "gifv": "video/mp4",
                "audio": "audio/mpeg"}


def _note(status: Json, actor_id: str) -> Json:
    """What Mastodon's ActivityPub serializer (NoteSerializer) makes of a status."""
    published = status["created_at"][:19] + "Z"  # ActivityPub times carry no milliseconds
    note: Json = {
        "id": status["uri"], "type": "Note", "summary": status["spoiler_text"] or None,
        "inReplyTo": None, "published": published, "url": status["url"],
        "attributedTo": actor_id, "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": [f"{actor_id}/followers"], "sensitive": status["sensitive"],
        "atomUri": status["uri"], "inReplyToAtomUri": None,
        "conversation": "tag:localhost,2023-01-01:objectId=1:objectType=Conversation",
        "content": status["content"],
        "contentMap": {status["language"] or "en": status["content"]},
        "attachment": [{"type": "Document", "mediaType": _MEDIA_TYPES.get(m["type"], "x/y"),
                        "url": m["url"], "name": m["description"], "blurhash": m.get("blurhash"),
                        "width": 10, "height": 10} for m in status["media_attachments"]],
        "tag": [{"type": "Hashtag", "href": t["url"], "name": f"#{t['name']}"}
                for t in status["tags"]]
        + [{"type": "Mention", "href": m["url"], "name": f"@{m['acct']}"}
           for m in status["mentions"]],
        "replies": {"id": f"{status['uri']}/replies", "type": "Collection"},
    }
    if status.get("edited_at"):
        note["updated"] = status["edited_at"][:19] + "Z"
    return note


def outbox(statuses: list[Json], *, boost_of: str | None = None) -> tuple[Json, Json]:
    """(outbox.json, actor.json) of an account archive holding `statuses`, and a boost
    of `boost_of` (an Announce carries only the boosted post's address)."""
    account = statuses[0]["account"]
    actor_id = account["url"].replace("/@", "/users/")
    items: list[Json] = [{
        "id": f"{s['uri']}/activity", "type": "Create", "actor": actor_id,
        "published": s["created_at"][:19] + "Z", "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": [f"{actor_id}/followers"], "object": _note(s, actor_id)} for s in statuses]
    if boost_of:
        items.append({"id": f"{actor_id}/statuses/1/activity", "type": "Announce",
                      "actor": actor_id, "published": "2023-06-01T00:00:00Z",
                      "to": ["https://www.w3.org/ns/activitystreams#Public"],
                      "object": boost_of})
    box = {"@context": "https://www.w3.org/ns/activitystreams", "id": "outbox.json",
           "type": "OrderedCollection", "totalItems": len(items), "orderedItems": items}
    actor = {"@context": ["https://www.w3.org/ns/activitystreams",
                          "https://w3id.org/security/v1"],
             "id": actor_id, "type": "Person", "preferredUsername": account["username"],
             "name": account["display_name"], "summary": account["note"],
             "url": account["url"], "publicKey": {"id": f"{actor_id}#main-key",
                                                  "publicKeyPem": "-----BEGIN PUBLIC KEY-----"}}
    return box, actor


def mastodon_archive(path: Path, statuses: list[Json], *, boost_of: str | None = None,
                     outbox_text: str | None = None) -> Path:
    """The archive as a .zip, or a .tar.gz when `path` ends so."""
    box, actor = outbox(statuses, boost_of=boost_of)
    files = {"outbox.json": outbox_text if outbox_text is not None else json.dumps(box),
             "actor.json": json.dumps(actor), "likes.json": json.dumps(
                 {"type": "OrderedCollection", "orderedItems": []}),
             "bookmarks.json": json.dumps({"type": "OrderedCollection", "orderedItems": []})}
    if path.name.endswith(".tar.gz"):
        with tarfile.open(path, "w:gz") as tf:
            for name, text in files.items():  # outbox first: actor.json comes after it
                data = text.encode()
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
    else:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, text in files.items():
                zf.writestr(name, text)
    return path


def _cid(data: bytes) -> bytes:
    import hashlib

    return bytes([1, 0x71, 0x12, 0x20]) + hashlib.sha256(data).digest()  # CIDv1 dag-cbor


def _dag_cbor(value: Any) -> bytes:
    """DAG-CBOR with real links (tag 42): libipld encodes plain values; each link, written
    as {"$link": cid} (the JSON form the AppView uses), is swapped for its tag."""
    import libipld

    links: dict[str, bytes] = {}  # placeholder text -> the link's CID

    def swap(v: Any) -> Any:
        if isinstance(v, dict) and set(v) == {"$link"}:
            holder = "\x00LINK:" + v["$link"]
            links[holder] = _cid_bytes(v["$link"])
            return holder
        if isinstance(v, dict):
            return {k: swap(x) for k, x in v.items()}
        if isinstance(v, list):
            return [swap(x) for x in v]
        return v

    data = libipld.encode_dag_cbor(swap(value))
    for holder, cid in links.items():
        text = holder.encode()
        head = bytes([0x78, len(text)]) if len(text) < 256 else b""
        data = data.replace(head + text, b"\xd8\x2a" + bytes([0x58, len(cid) + 1, 0]) + cid)
    return data


def _cid_bytes(text: str) -> bytes:
    import libipld

    decoded = libipld.decode_cid(text)
    codec = decoded["codec"]
    return bytes([1, codec, decoded["hash"]["code"], decoded["hash"]["size"]]) \
        + decoded["hash"]["digest"]


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def bluesky_repo(path: Path) -> tuple[Path, list[Json]]:
    """A repository export (CAR v1) of the one author whose recorded feed this is: a
    commit, a two-level Merkle Search Tree and the author's post records (a profile too).
    Returns the path and the post views the records came from."""
    import libipld

    feed = json.loads((DATA / "bluesky/getAuthorFeed_with_repost_and_reply.json").read_text())
    views = [i["post"] for i in feed["feed"] if "reason" not in i]
    did = views[0]["author"]["did"]
    views = [v for v in views if v["author"]["did"] == did]
    blocks: list[tuple[bytes, bytes]] = []

    def put(value: Any) -> str:
        data = _dag_cbor(value)
        cid = _cid(data)
        blocks.append((cid, data))
        return libipld.encode_cid(cid)

    records = {f"app.bsky.feed.post/{v['uri'].rsplit('/', 1)[-1]}": put(v["record"])
               for v in views}
    records["app.bsky.actor.profile/self"] = put({
        "$type": "app.bsky.actor.profile", "displayName": views[0]["author"]["displayName"],
        "description": "Statistician. Posts about R and public health data."})

    def node(keys: list[str], left: str | None) -> str:
        entries, prev = [], b""
        for key in keys:
            k = key.encode()
            p = 0
            while p < min(len(k), len(prev)) and k[p] == prev[p]:
                p += 1
            entries.append({"p": p, "k": k[p:], "v": {"$link": records[key]}, "t": None})
            prev = k
        return put({"l": {"$link": left} if left else None, "e": entries})

    keys = sorted(records)
    half = len(keys) // 2
    root = node(keys[half:], node(keys[:half], None))
    commit = put({"did": did, "version": 3, "data": {"$link": root}, "rev": "3l3qo2vutsw2b",
                  "prev": None, "sig": b"\x00" * 64})
    header = _dag_cbor({"roots": [{"$link": commit}], "version": 1})
    with path.open("wb") as out:
        out.write(_varint(len(header)) + header)
        for cid, data in [blocks[-1], *blocks[:-1]]:  # the commit first, as getRepo sends
            out.write(_varint(len(cid) + len(data)) + cid + data)
    return path, views
