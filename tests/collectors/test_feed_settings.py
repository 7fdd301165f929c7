"""The feed account and source keys of rounds.toml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from aggregator.errors import ConfigError
from aggregator.models import Target
from aggregator.settings import Settings, parse_settings

FEEDS = {"network": "feed"}


def settings(account: dict[str, Any], **source: Any) -> Settings:
    data = {"accounts": {"feeds": account},
            "sources": [{"name": "s", "account": "feeds", **source}] if source else []}
    return parse_settings(data, Path("rounds.toml"), {})


def test_a_feed_source_needs_no_login_and_polls_hourly_by_default() -> None:
    loaded = settings(FEEDS, feed="https://www.health.gov.au/news/rss.xml")
    assert loaded.accounts["feeds"].base_url == ""
    source = loaded.sources[0]
    assert source.target == Target("feed", "https://www.health.gov.au/news/rss.xml")
    assert source.every == 3600
    assert settings(FEEDS, feed="https://x.org/a.xml", every="6h").sources[0].every == 21600


def test_plain_http_is_allowed_on_loopback_or_when_asked() -> None:
    assert settings(FEEDS, feed="http://127.0.0.1:8080/feed.xml").sources
    assert settings({**FEEDS, "allow_insecure": True}, feed="http://blog.lan/feed").sources


@pytest.mark.parametrize(("account", "source", "problem"), [
    (FEEDS, {"feed": "https://x.org/a.xml", "every": "15m"},
     "sources.s.every: must be at least 1h for feeds"),
    (FEEDS, {"feed": "http://blog.example.org/feed"}, "sources.s.feed: must use https"),
    (FEEDS, {"feed": "ftp://x.org/a.xml"}, "sources.s.feed: must be an http(s) URL"),
    (FEEDS, {"hashtag": "MedTwitter"}, "sources.s.hashtag: feed accounts read feeds (feed = "),
    ({**FEEDS, "token_env": "X"}, {}, "accounts.feeds.token_env: feed accounts log in nowhere"),
])
def test_mistakes_name_the_key_and_the_problem(account: dict[str, Any], source: dict[str, Any],
                                               problem: str) -> None:
    with pytest.raises(ConfigError) as err:
        settings(account, **source)
    assert problem in str(err.value) and "\n" not in str(err.value)
