"""The demo's API server: loopback only, its own token only, gone when the demo ends."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from aggregator.clock import SystemClock
from aggregator.collectors.bluesky.api import BlueskyApi
from aggregator.demo import demo_server
from aggregator.demo.generate_bluesky import list_uri
from aggregator.demo.samples import load_spec
from aggregator.demo.server import DEMO_TOKEN


def get(url: str, token: str | None = DEMO_TOKEN) -> tuple[int, dict[str, str], object]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.load(exc)


def test_binds_loopback_pages_like_mastodon_and_stops() -> None:
    with demo_server(SystemClock()) as server:
        assert server.host == "127.0.0.1"
        assert server.base_url.startswith("http://127.0.0.1:")
        status, _, _ = get(f"{server.base_url}/api/v1/timelines/list/1", token="other")
        assert status == 401
        status, headers, first = get(f"{server.base_url}/api/v1/timelines/list/1?limit=5")
        assert status == 200 and isinstance(first, list) and len(first) == 5
        assert 'rel="next"' in headers["Link"] and "max_id=" in headers["Link"]
        _, _, older = get(f"{server.base_url}/api/v1/timelines/list/1?limit=5"
                          f"&max_id={first[-1]['id']}")
        assert isinstance(older, list) and older[0]["id"] < first[-1]["id"]
        newest = first[0]["id"]
        _, _, none_yet = get(f"{server.base_url}/api/v1/timelines/list/1?min_id={newest}")
        assert none_yet == []
        assert server.publish_later() > 0
        _, _, fresh = get(f"{server.base_url}/api/v1/timelines/list/1?min_id={newest}")
        assert isinstance(fresh, list) and fresh
        _, _, tweets = get(f"{server.base_url}/2/lists/1/tweets?max_results=5")
        assert isinstance(tweets, dict) and tweets["meta"]["next_token"]
        assert tweets["includes"]["users"]
        base = server.base_url
    with pytest.raises(urllib.error.URLError):
        get(f"{base}/api/v1/timelines/list/1")


def test_the_bluesky_appview_answers_anonymously_as_the_public_one_does() -> None:
    with demo_server(SystemClock()) as server:
        xrpc = f"{server.base_url}/xrpc"
        status, _, _ = get(f"{server.base_url}/api/v1/timelines/list/1", token=None)
        assert status == 401  # Mastodon and X still need the demo token
        status, headers, body = get(f"{xrpc}/app.bsky.feed.getListFeed?limit=100&list="
                                    f"{list_uri(load_spec())}", token=None)
        assert status == 200 and isinstance(body, dict)
        assert "cursor" not in body and len(body["feed"]) >= 18  # one page: no cursor key
        assert int(headers["RateLimit-Reset"]) > 1_700_000_000  # epoch seconds
        assert headers["RateLimit-Policy"] == "3000;w=300"
        status, _, body = get(f"{xrpc}/app.bsky.graph.getList?list=at://did:plc:nobody/"
                              f"app.bsky.graph.list/3kx", token=None)
        assert (status, body) == (400, {"error": "InvalidRequest",
                                        "message": "List not found"})
        status, _, body = get(f"{xrpc}/app.bsky.feed.getTimeline", token=None)
        assert status == 501 and isinstance(body, dict) and body["error"]


def test_the_demo_appview_pages_with_opaque_cursors_and_reads_anonymously() -> None:
    clock = SystemClock()
    with demo_server(clock) as server:
        api = BlueskyApi(server.base_url, clock=clock)  # no handle, no token: anonymous
        uri = list_uri(load_spec())
        assert api.get_list(uri)["purpose"] == "app.bsky.graph.defs#curatelist"
        seen: list[str] = []
        cursor = None
        cursors = []
        while True:
            page = api.get_list_feed(uri, limit=4, cursor=cursor)
            seen += [e.identity for e in page.entries]
            if page.cursor is None:
                break
            assert "|" not in page.cursor and ":" not in page.cursor  # opaque, URL-safe
            cursors.append(cursor := page.cursor)
        assert len(seen) == len(set(seen)) >= 18 and len(cursors) >= 4
        assert api.get_list_feed(uri, limit=4, cursor="bm90LWEtY3Vyc29y").entries == []
        did = api.resolve_handle("tom.epi.example")
        author = api.get_author_feed(did, limit=50, cursor=None)
        assert author.entries and all(
            (e.reason.get("by") or e.post["author"])["did"] == did for e in author.entries)
        assert any(e.is_repost for e in author.entries)
        api.close()
