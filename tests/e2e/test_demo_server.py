"""The demo's API server: loopback only, its own token only, gone when the demo ends."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from xml.etree import ElementTree as ET

import pytest

from aggregator.clock import SystemClock
from aggregator.collectors.bluesky.api import BlueskyApi
from aggregator.demo import demo_server
from aggregator.demo.generate_bluesky import list_uri
from aggregator.demo.samples import load_spec
from aggregator.demo.samples_feeds import feed_path, load_feeds
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


# --------------------------------------------------------------------------- feeds

ATOM = "{http://www.w3.org/2005/Atom}"


def fetch(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    """A plain anonymous GET, as a feed reader sends it."""
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_the_demo_feeds_are_rss_and_atom_answered_304_when_unchanged() -> None:
    with demo_server(SystemClock()) as server:
        feeds = {f["id"]: f for f in load_feeds()}
        agency = f"{server.base_url}{feed_path(feeds['agency-news'])}"
        status, headers, body = fetch(agency)  # no token: feeds are public documents
        assert status == 200 and headers["Content-Type"].startswith("application/rss+xml")
        rss = ET.fromstring(body)
        assert rss.tag == "rss" and rss.get("version") == "2.0"
        items = rss.findall("channel/item")
        assert 4 <= len(items) <= 8
        dates = [parsedate_to_datetime(i.findtext("pubDate", "")) for i in items]
        assert dates == sorted(dates, reverse=True)  # newest first, as feeds list them
        now = datetime.now(UTC)
        assert now - timedelta(days=6) < dates[-1] < dates[0] < now  # the demo's window
        # the HTML travels as escaped text and comes back whole
        heat = next(i for i in items if "Heat-health" in i.findtext("title", ""))
        assert '<a href="https://www.agency.example/heat/checklist">' in heat.findtext(
            "description", "")
        assert heat.findtext("description", "").count("&amp;") == 1  # "&" in HTML, once
        pdf = next(i.find("enclosure") for i in items if i.find("enclosure") is not None)
        assert pdf is not None and pdf.get("type") == "application/pdf"

        etag = headers["ETag"]
        assert etag.startswith('"') and etag.endswith('"')
        status, again, body = fetch(agency, **{"If-None-Match": etag})
        assert (status, body, again["ETag"]) == (304, b"", etag)
        assert server.not_modified == 1
        status, _, _ = fetch(agency, **{"If-None-Match": '"something-else"'})
        assert status == 200

        for name in ("journal-online-first", "heart-clinic-notes"):
            status, headers, body = fetch(f"{server.base_url}{feed_path(feeds[name])}")
            assert status == 200 and headers["Content-Type"].startswith("application/atom+xml")
            atom = ET.fromstring(body)
            assert atom.tag == f"{ATOM}feed"
            entries = atom.findall(f"{ATOM}entry")
            assert 4 <= len(entries) <= 8
            assert all(e.findtext(f"{ATOM}id") and e.findall(f"{ATOM}category")
                       for e in entries)
        status, _, _ = fetch(f"{server.base_url}/feeds/nothing-here.xml")
        assert status == 404
