"""Write the demo's sample API data from the hand-written spec (data/demo/posts.toml).

    python -m aggregator.demo.generate      # rewrites data/demo/{mastodon,twitter,bluesky}.json

The output is what the servers would send: Mastodon statuses and accounts, X API v2 tweets,
users and media, Bluesky feed items (generate_bluesky.py), in the shapes of the recorded
responses in tests/data/ (field for field), so the demo's loopback server can serve them to
the real collectors and normalizers. It is
deterministic (ids derive from the times, files are sorted), so regenerating an unchanged
spec changes nothing; a test checks the committed files match the spec.

One function per network (`mastodon_data`, `twitter_data`, `bluesky_data`), one file each.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from typing import Any

from aggregator.demo.generate_bluesky import bluesky_data
from aggregator.demo.samples import (
    DATA,
    LIST_ID,
    TOKEN,
    iso,
    load_spec,
    posts_on,
    spec_times,
)

Json = dict[str, Any]

_X_EPOCH_MS = 1288834974657  # X's snowflake epoch


def _dump(data: Json, name: str, items: str) -> None:
    """One item per line: small diffs, still plain JSON."""
    head = {k: v for k, v in data.items() if k != items}
    lines = [json.dumps(x, ensure_ascii=False, sort_keys=True) for x in data[items]]
    text = json.dumps(head, ensure_ascii=False, sort_keys=True)[:-1]
    text += f', "{items}": [\n' + ",\n".join(lines) + "\n]}\n"
    (DATA / name).write_text(text, encoding="utf-8")


def _keep(post: Json, item: Json, by_ref: dict[str, Json], later: list[str],
          items: list[Json]) -> None:
    """Record a generated item: by its spec id (for boosts, replies, quotes), as held back
    for `R` when the spec says `later`, newest first in `items`."""
    if "id" in post:
        by_ref[post["id"]] = item
    if post.get("later"):
        later.append(item["id"])
    items.insert(0, item)


def _envelope(spec: Json, what: str, shape: str, items: list[Json], later: list[str]) -> Json:
    return {"_about": f"Fictional sample {what} for `rounds demo` (aggregator/demo/generate.py "
                      f"from posts.toml); {shape} shapes.",
            "epoch": spec["epoch"], "lists": {LIST_ID: [x["id"] for x in items]},
            "later": later}


# ---------------------------------------------------------------------- Mastodon


def _m_account(person: Json, index: int) -> Json:
    user, domain = person["mastodon"].split("@")
    base = f"https://{domain}"
    return {
        "id": str(109350000000000000 + index * 7919), "username": user,
        "acct": f"{user}@{domain}", "display_name": person["name"], "locked": False,
        "bot": False, "discoverable": True, "indexable": True, "group": False,
        "created_at": "2022-11-07T00:00:00.000Z",
        "note": f"<p>{html.escape(person['bio'], quote=False)}</p>",
        "url": f"{base}/@{user}", "uri": f"{base}/users/{user}",
        "avatar": f"{base}/avatars/original/missing.png",
        "avatar_static": f"{base}/avatars/original/missing.png", "avatar_description": "",
        "header": f"{base}/headers/original/missing.png",
        "header_static": f"{base}/headers/original/missing.png", "header_description": "",
        "followers_count": 1200 + index * 311, "following_count": 300 + index * 17,
        "statuses_count": 900 + index * 53, "last_status_at": "2026-01-15",
        "hide_collections": False, "noindex": False, "emojis": [], "roles": [], "fields": [],
    }


def _m_link(url: str) -> str:
    scheme, rest = url.split("://", 1)
    shown, hidden = rest[:30], rest[30:]
    return (f'<a href="{html.escape(url)}" target="_blank" rel="nofollow noopener" '
            f'translate="no"><span class="invisible">{scheme}://</span><span class="'
            f'{"ellipsis" if hidden else ""}">{html.escape(shown)}</span><span '
            f'class="invisible">{html.escape(hidden)}</span></a>')


def _m_content(text: str, links: list[str], accounts: dict[str, Json],
               domain: str) -> tuple[str, list[Json], list[Json]]:
    tags: dict[str, Json] = {}
    mentions: list[Json] = []

    def token(m: re.Match[str]) -> str:
        sign, word = m.groups()
        if sign == "#":
            tags.setdefault(word.lower(), {"name": word.lower(),
                                           "url": f"https://{domain}/tags/{word.lower()}"})
            return (f'<a href="https://{domain}/tags/{word.lower()}" class="mention hashtag" '
                    f'rel="tag">#<span>{word}</span></a>')
        account = accounts[word]
        mentions.append({"id": account["id"], "username": account["username"],
                         "url": account["url"], "acct": account["acct"]})
        return (f'<span class="h-card" translate="no"><a href="{account["url"]}" '
                f'class="u-url mention">@<span>{account["username"]}</span></a></span>')

    body = TOKEN.sub(token, html.escape(text, quote=False))
    body = " ".join([body, *(_m_link(u) for u in links)])
    return f"<p>{body}</p>", list(tags.values()), mentions


def _m_media(status_id: str, domain: str, alt: str) -> Json:
    path = f"https://{domain}/system/media_attachments/files/{status_id[:3]}/{status_id[3:6]}"
    return {"id": str(int(status_id) + 1), "type": "image", "url": f"{path}/original/image.png",
            "preview_url": f"{path}/small/image.png", "remote_url": None,
            "preview_remote_url": None, "text_url": None,
            "meta": {"original": {"width": 1200, "height": 675, "size": "1200x675",
                                  "aspect": 1.7777777777777777},
                     "small": {"width": 640, "height": 360, "size": "640x360",
                               "aspect": 1.7777777777777777}},
            "description": alt, "blurhash": "UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH"}


def _m_card(url: str, title: str) -> Json:
    """A link card as Mastodon sends it (the server fetched the page's metadata)."""
    return {"url": url, "title": title, "description": "", "language": "en", "type": "link",
            "author_name": "", "author_url": "", "provider_name": "", "provider_url": "",
            "html": "", "width": 0, "height": 0, "image": None, "image_description": "",
            "embed_url": "", "blurhash": None, "published_at": None, "authors": []}


def mastodon_data(spec: Json) -> Json:
    """Statuses as `GET /api/v1/timelines/list/:id` sends them (boosts as reblog wrappers,
    Mastodon 4.5 quotes, replies with mentions), newest first."""
    _, when = spec_times(spec)
    people = [p for p in spec["people"] if p.get("mastodon")]
    accounts = {p["id"]: _m_account(p, i) for i, p in enumerate(people)}
    by_ref: dict[str, Json] = {}
    statuses: list[Json] = []
    later: list[str] = []
    for seq, post in enumerate(posts_on(spec, "mastodon")):
        at = when(post)
        status_id = str((int(at.timestamp() * 1000) << 16) + seq)
        account = accounts[post["by"]]
        user, domain = account["acct"].split("@")
        base = f"https://{domain}"
        status: Json = {
            "id": status_id, "created_at": iso(at), "in_reply_to_id": None,
            "in_reply_to_account_id": None, "sensitive": False, "spoiler_text": "",
            "visibility": "public", "language": "en",
            "uri": f"{base}/users/{user}/statuses/{status_id}",
            "url": f"{base}/@{user}/{status_id}", "replies_count": 0,
            "reblogs_count": (seq * 7) % 23, "favourites_count": (seq * 13) % 61,
            "quotes_count": 0, "edited_at": None, "favourited": False, "reblogged": False,
            "muted": False, "bookmarked": False, "content": "", "filtered": [],
            "reblog": None, "application": None, "account": account,
            "media_attachments": [], "mentions": [], "tags": [], "emojis": [],
            "quote": None, "card": None, "poll": None,
            "quote_approval": {"automatic": ["public"], "manual": [],
                               "current_user": "automatic"},
        }
        if "boost" in post:
            status.update(uri=f"{base}/users/{user}/statuses/{status_id}/activity",
                          url=f"{base}/users/{user}/statuses/{status_id}/activity",
                          reblog=by_ref[post["boost"]], language=None)
        else:
            content, tags, mentions = _m_content(post["text"], post.get("links", []),
                                                 accounts, domain)
            status.update(content=content, tags=tags, mentions=mentions)
            if "reply" in post:
                parent = by_ref[post["reply"]]
                status.update(in_reply_to_id=parent["id"],
                              in_reply_to_account_id=parent["account"]["id"])
            if "quote" in post:
                quoted = by_ref[post["quote"]]
                status["quote"] = {"state": "accepted", "quoted_status": quoted}
                status["content"] += (f'<p class="quote-inline">RE: '
                                      f'{_m_link(quoted["url"])}</p>')
            if "media" in post:
                status["media_attachments"] = [_m_media(status_id, domain, post["media"])]
            if "card" in post:
                status["card"] = _m_card(post["links"][0], post["card"])
        _keep(post, status, by_ref, later, statuses)
    return {**_envelope(spec, "statuses", "Mastodon API entity", statuses, later),
            "statuses": statuses}


# ---------------------------------------------------------------------- X


def _x_user(person: Json, index: int) -> Json:
    return {"id": str(1500000000000000000 + index * 104729), "username": person["x"],
            "name": person["name"], "description": person["bio"], "url": "",
            "verified": False}


def _x_entities(text: str, links: list[tuple[str, str]],
                users: dict[str, Json], card: str = "") -> Json:
    entities: Json = {}
    for m in TOKEN.finditer(text):
        sign, word = m.groups()
        if sign == "#":
            entities.setdefault("hashtags", []).append(
                {"start": m.start(), "end": m.end(), "tag": word})
        elif word in users:
            entities.setdefault("mentions", []).append(
                {"start": m.start(), "end": m.end(), "username": word,
                 "id": users[word]["id"]})
    for short, url in links:
        start = text.find(short)
        entities.setdefault("urls", []).append(
            {"start": start, "end": start + len(short), "url": short, "expanded_url": url,
             "display_url": url.split("://", 1)[-1][:24] + ("…" if len(url) > 32 else "")})
    if card and links:  # X unwinds the first link and reads its page's title
        entities["urls"][0].update(unwound_url=links[0][1], title=card, status=200,
                                   description="")
    return entities


def twitter_data(spec: Json) -> Json:
    """Tweets, users and media as `GET /2/lists/:id/tweets` sends them with our
    expansions (retweets with `RT @user:` text, quotes and replies as referenced_tweets)."""
    _, when = spec_times(spec)
    people = [p for p in spec["people"] if p.get("x")]
    users = {p["id"]: _x_user(p, i) for i, p in enumerate(people)}
    by_name = {u["username"]: u for u in users.values()}
    by_ref: dict[str, Json] = {}
    tweets: list[Json] = []
    media: list[Json] = []
    later: list[str] = []
    for seq, post in enumerate(posts_on(spec, "x")):
        at = when(post)
        tweet_id = str(((int(at.timestamp() * 1000) - _X_EPOCH_MS) << 22) + seq)
        user = users[post["by"]]
        links = [(f"https://t.co/demo{tweet_id[-6:]}{i}", url)
                 for i, url in enumerate(post.get("links", []))]
        refs: list[Json] = []
        tweet: Json = {"id": tweet_id, "author_id": user["id"], "created_at": iso(at),
                       "lang": "en", "conversation_id": tweet_id, "possibly_sensitive": False,
                       "edit_history_tweet_ids": [tweet_id],
                       "public_metrics": {"retweet_count": (seq * 5) % 17,
                                          "reply_count": seq % 4,
                                          "like_count": (seq * 11) % 97, "quote_count": 0,
                                          "bookmark_count": seq % 3,
                                          "impression_count": 400 + seq * 37}}
        if "boost" in post:
            original = by_ref[post["boost"]]
            author = next(u for u in users.values() if u["id"] == original["author_id"])
            head = f"RT @{author['username']}: "
            body = original["text"]
            text = head + (body if len(head + body) <= 140 else body[:139 - len(head)] + "…")
            refs.append({"type": "retweeted", "id": original["id"]})
            links = []
        else:
            text = post["text"]
            if "reply" in post:
                parent = by_ref[post["reply"]]
                refs.append({"type": "replied_to", "id": parent["id"]})
                tweet.update(in_reply_to_user_id=parent["author_id"],
                             conversation_id=parent["conversation_id"])
            if "quote" in post:
                quoted = by_ref[post["quote"]]
                refs.append({"type": "quoted", "id": quoted["id"]})
                author = next(u for u in users.values() if u["id"] == quoted["author_id"])
                links.append((f"https://t.co/demoq{tweet_id[-6:]}",
                              f"https://x.com/{author['username']}/status/{quoted['id']}"))
            if "media" in post:
                key = f"3_{tweet_id}"
                media.append({"media_key": key, "type": "photo", "alt_text": post["media"],
                              "url": f"https://pbs.twimg.example/media/{key}.png"})
                tweet["attachments"] = {"media_keys": [key]}
                links.append((f"https://t.co/demom{tweet_id[-6:]}",
                              f"https://x.com/{user['username']}/status/{tweet_id}/photo/1"))
        text = " ".join([text, *(short for short, _ in links)])
        entities = _x_entities(text, links, by_name)
        if refs and refs[0]["type"] == "retweeted":
            entities.pop("hashtags", None)
        tweet.update(text=text, entities=entities)
        if refs:
            tweet["referenced_tweets"] = refs
        _keep(post, tweet, by_ref, later, tweets)
    return {**_envelope(spec, "tweets", "X API v2 object", tweets, later),
            "users": list(users.values()), "media": media, "tweets": tweets}


GENERATORS: dict[str, tuple[Callable[[Json], Json], str]] = {
    "mastodon.json": (mastodon_data, "statuses"),
    "twitter.json": (twitter_data, "tweets"),
    "bluesky.json": (bluesky_data, "feed"),
}


def main() -> None:
    spec = load_spec()
    for name, (make, items) in GENERATORS.items():
        _dump(make(spec), name, items)


if __name__ == "__main__":
    main()
