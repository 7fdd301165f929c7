"""Bluesky collect figures: synthetic list feeds from the loopback XRPC fake, collected
through the real BlueskyCollector into SQLite, and what each step costs per post.

`generate_feed(n)` makes N feed items from the recorded ones (tests/data/bluesky/:
getListFeed_page.json, getAuthorFeed_with_repost_and_reply.json) with a fixed seed: each
item is a recorded item (its embeds: images with alt text, link cards, quotes, video,
recordWithMedia; its reply refs) given a new author, URI, times and text with health
hashtags, links (doi.org, medrxiv, pubmed) and emoji before them (facets at UTF-8 byte
offsets, built as the demo builds them); ~15% are reposts, a third of them of a post that
is also in the feed. The fake (tests/fakes/bluesky.py) pages them newest first with opaque
cursors, 100 per page, in this process, as the Mastodon collect figures do.

`per_post_costs` times (in CPU time) the steps a collected page goes through, per post: the
SDK's JSON parse (pydantic_core, what `ClientRaw` does), orjson's, the SDK's typed models
(`models.get_or_create(body, AppBskyFeedGetListFeed.Response)`, what `client.app.bsky.feed
.get_list_feed` returns) and back to a dict (`get_model_as_dict`), and our normalize
(FeedPage + normalize_entry, from the dict).
"""

from __future__ import annotations

import copy
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aggregator.demo.generate_bluesky import cid, rich_text, tid
from aggregator.demo.samples import iso
from bench.generate import CHATTER, DATA, HEALTH_TAGS, LINKS, SENTENCES, START
from bench.report import median

Json = dict[str, Any]
REPOST_SHARE = 0.15
LIST_OWNER = "did:plc:benchbenchbenchbench0000"
EMOJI = ["🫀", "🦠", "💉", "🧬", "🩺", "📈", "☕", "🌡️", "é", "—"]
SKY_TAGS = ["MedSky", "IDsky", *HEALTH_TAGS]


def list_uri(i: int) -> str:
    return f"at://{LIST_OWNER}/app.bsky.graph.list/3lbench{i:06d}"


def _templates() -> list[Json]:
    """Recorded feed items (pins and reposts unwrapped: the generator adds its own)."""
    items: list[Json] = []
    for name in ("getListFeed_page.json", "getAuthorFeed_with_repost_and_reply.json"):
        with (DATA / "bluesky" / name).open(encoding="utf-8") as fh:
            items += json.load(fh)["feed"]
    return [{k: v for k, v in item.items() if k != "reason"} for item in items]


class _Factory:
    def __init__(self, seed: int, n_accounts: int) -> None:
        self.rng = random.Random(seed)
        self.templates = _templates()
        self.accounts = [self._account(i) for i in range(n_accounts)]

    def _account(self, i: int) -> Json:
        rng = self.rng
        name = f"{rng.choice(['dr', 'nurse', 'epi', 'rx', 'md', 'prof'])}{i:05d}"
        return {"did": f"did:plc:bench{i:019d}", "handle": f"{name}.bsky.social",
                "displayName": f"{rng.choice(['Dr', 'Prof', 'Nurse', ''])} "
                               f"{rng.choice(['Ada', 'Ben', 'Chen', 'Dana', 'Émeka'])} "
                               f"{rng.choice(['Lee', 'Okafor', 'Schmidt', 'García'])}".strip(),
                "viewer": {"muted": False, "blockedBy": False}, "labels": [],
                "createdAt": "2023-09-20T17:26:12.575Z"}

    def _text(self) -> tuple[str, list[Json]]:
        rng = self.rng
        sentences = [rng.choice(SENTENCES if rng.random() < 0.5 else CHATTER)
                     for _ in range(rng.randint(1, 3))]
        text = " ".join(sentences)[:200]
        if rng.random() < 0.5:
            text = f"{rng.choice(EMOJI)} {text}"
        tags = " ".join(f"#{t}" for t in rng.sample(SKY_TAGS, rng.randint(0, 3)))
        links = [rng.choice(LINKS).format(n=rng.randint(10**6, 10**8))
                 for _ in range(1 if rng.random() < 0.45 else 0)]
        return rich_text(f"{text} {tags}".strip(), links, {})

    def post(self, seq: int, when: Any) -> Json:
        rng = self.rng
        item = copy.deepcopy(rng.choice(self.templates))
        author = rng.choice(self.accounts)
        post = item["post"]
        uri = f"at://{author['did']}/app.bsky.feed.post/{tid(when, seq)}"
        text, facets = self._text()
        record = post["record"]
        record.update(text=text, createdAt=iso(when - timedelta(milliseconds=300)))
        record.pop("facets", None)
        if facets:
            record["facets"] = facets
        post.update(uri=uri, cid=cid(uri), author=author, indexedAt=iso(when), labels=[])
        return item


def generate_feed(n: int, seed: int, *, start: Any = START, n_accounts: int = 300
                  ) -> list[Json]:
    """N feed items, newest first, one second apart ending at `start` + N seconds."""
    factory = _Factory(seed, n_accounts)
    rng = factory.rng
    items: list[Json] = []
    for seq in range(n):
        when = start + timedelta(seconds=seq + 1)
        if items and rng.random() < REPOST_SHARE:
            original = (rng.choice(items)["post"] if rng.random() < 1 / 3 else
                        factory.post(seq + 10**6, when - timedelta(days=2))["post"])
            by = rng.choice(factory.accounts)
            reason_uri = f"at://{by['did']}/app.bsky.feed.repost/{tid(when, seq)}"
            items.append({"post": original, "reason": {
                "$type": "app.bsky.feed.defs#reasonRepost", "by": by, "uri": reason_uri,
                "cid": cid(reason_uri), "indexedAt": iso(when)}})
        else:
            items.append(factory.post(seq, when))
    items.reverse()
    return items


def expected_posts(items: list[Json]) -> set[str]:
    return {i["post"]["uri"] for i in items}


# --------------------------------------------------------------------------- collect


@dataclass
class SkyFake:
    server: Any
    api: Any

    @property
    def base_url(self) -> str:
        return str(self.server.base_url)

    def xrpc_requests(self) -> int:
        return len(self.server.requests("/xrpc/"))

    def stop(self) -> None:
        self.server.stop()


def start_sky_fake(n_sources: int, per_source: int, seed: int) -> tuple[SkyFake, set[str]]:
    """The fake with one synthetic list per source; the post URIs it holds."""
    from tests.fakes.bluesky import SYN_LIST, FakeBluesky
    from tests.fakes.server import LoopbackServer

    api = FakeBluesky()
    api.limit = 10**9
    expected: set[str] = set()
    for i in range(n_sources):
        # a day apart: lists share authors, and a post's URI comes from its author and time
        items = generate_feed(per_source, seed + 1000 + i, start=START + timedelta(days=i))
        expected |= expected_posts(items)
        api.lists[list_uri(i)] = {**api.lists[SYN_LIST], "uri": list_uri(i)}
        api.add_items(f"list:{list_uri(i)}", items, "ms-cid")
    server = LoopbackServer(api)
    # as for the Mastodon fake: without TCP_NODELAY every response waits a delayed ACK
    server.httpd.RequestHandlerClass.disable_nagle_algorithm = True  # type: ignore[attr-defined]
    return SkyFake(server.start(), api), expected


def sky_settings(url: str, base_url: str, n_sources: int, backfill: int) -> Any:
    from aggregator.models import Target
    from aggregator.settings import AccountSettings, Settings, SourceSettings

    account = AccountSettings(name="sky", network="bluesky", base_url=base_url)  # anonymous
    sources = tuple(SourceSettings(name=f"sky{i:02d}", account="sky",
                                   target=Target("list", list_uri(i)), backfill=backfill)
                    for i in range(n_sources))
    return Settings(path=None, database_url=url, accounts={"sky": account}, sources=sources)


def add_new_items(fake: SkyFake, n_sources: int, per_source: int, seed: int) -> int:
    later = START + timedelta(days=3650 + seed)
    for i in range(n_sources):
        fake.api.add_items(f"list:{list_uri(i)}",
                           generate_feed(per_source, seed * 100 + i,
                                         start=later + timedelta(days=i)))
    return n_sources * per_source


# --------------------------------------------------------------------------- per post


def sdk_import_seconds() -> float:
    """CPU seconds a fresh process spends importing our Bluesky API module, which imports
    the atproto SDK (its package import builds the generated pydantic models): paid once per
    `rounds collect` that reads Bluesky, so the collect figures above exclude it."""
    import subprocess
    import sys

    code = ("import time; t = time.process_time(); import aggregator.collectors.bluesky.api; "
            "print(time.process_time() - t)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    return float(proc.stdout.strip().splitlines()[-1])


def mean_item_bytes(items: list[Json]) -> float:
    import orjson

    return sum(len(orjson.dumps(i)) for i in items) / max(len(items), 1)


def _per_post_us(fn: Callable[[], Any], posts: int, runs: int) -> float:
    """CPU time (not wall time: the machine is shared, single-threaded work), median."""
    seconds = []
    for _ in range(runs):
        started = time.process_time()
        fn()
        seconds.append(time.process_time() - started)
    return median(seconds) / posts * 1e6


def per_post_costs(items: list[Json], runs: int = 3) -> dict[str, float]:
    """µs per post of each step, on pages of 100 items as the fake sends them."""
    import orjson
    from atproto_client import models
    from pydantic_core import from_json

    from aggregator.collectors.bluesky.entities import FeedPage
    from aggregator.collectors.bluesky.normalize import normalize_entry

    pages = [orjson.dumps({"feed": items[i:i + 100], "cursor": "c"})
             for i in range(0, len(items), 100)]
    bodies = [orjson.loads(p) for p in pages]
    typed = [models.get_or_create(b, models.AppBskyFeedGetListFeed.Response) for b in bodies]
    n = len(items)

    def sdk_models() -> None:
        for body in bodies:
            models.get_or_create(body, models.AppBskyFeedGetListFeed.Response)

    def normalize() -> None:
        for body in bodies:
            for entry in FeedPage.from_json(body).entries:
                normalize_entry(entry)

    return {
        "sdk_parse": _per_post_us(lambda: [from_json(p) for p in pages], n, runs),
        "orjson_parse": _per_post_us(lambda: [orjson.loads(p) for p in pages], n, runs),
        "typed_models": _per_post_us(sdk_models, n, runs),
        "models_to_dict": _per_post_us(
            lambda: [models.get_model_as_dict(t) for t in typed if t is not None], n, runs),
        "normalize": _per_post_us(normalize, n, runs),
    }
