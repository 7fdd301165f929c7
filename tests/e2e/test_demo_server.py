"""The demo's API server: loopback only, its own token only, gone when the demo ends."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from aggregator.clock import SystemClock
from aggregator.demo import demo_server
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
