"""The Bluesky account and source keys of rounds.toml (the issue's exact contract)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from aggregator.cli import main
from aggregator.errors import ConfigError
from aggregator.models import Target
from aggregator.settings import Settings, parse_settings

LOGIN = {"network": "bluesky", "handle": "curator.example.org",
         "app_password_env": "ROUNDS_SKY_APP_PASSWORD"}


def settings(account: dict[str, Any], **source: str) -> Settings:
    data = {"accounts": {"sky": account},
            "sources": [{"name": "s", "account": "sky", **source}] if source else []}
    return parse_settings(data, Path("rounds.toml"), {})


def test_base_url_defaults_to_the_entryway_with_a_login_and_the_appview_without() -> None:
    assert settings(LOGIN).accounts["sky"].base_url == "https://bsky.social"
    anon = settings({"network": "bluesky"}).accounts["sky"]
    assert anon.base_url == "https://public.api.bsky.app" and anon.handle is None


def test_every_source_kind_is_normalized() -> None:
    def target(**source: str) -> Target:
        return settings(LOGIN, **source).sources[0].target

    assert target(list="https://bsky.app/profile/curator.example.org/lists/3kabc") == \
        Target("list", "at://curator.example.org/app.bsky.graph.list/3kabc")
    assert target(feed="https://bsky.app/profile/did:plc:abc/feed/medsky") == \
        Target("feed", "at://did:plc:abc/app.bsky.feed.generator/medsky")
    assert target(user="@cdc.gov") == Target("user", "cdc.gov")
    assert target(hashtag="#MedSky") == Target("hashtag", "MedSky")
    assert target(search="heart failure") == Target("search", "heart failure")


@pytest.mark.parametrize(("account", "source", "problem"), [
    ({"network": "bluesky", "handle": "a.example.org"}, {},
     "accounts.sky.app_password_env: missing (required with handle)"),
    ({"network": "bluesky", "app_password_env": "X"}, {}, "accounts.sky.handle: missing"),
    ({"network": "mastodon", "base_url": "https://m.example", "handle": "a.b"}, {},
     "accounts.sky.handle: is for Bluesky accounts only"),
    ({"network": "bluesky"}, {"hashtag": "MedSky"}, "sources.s.hashtag: Bluesky hashtag "
                                                    "sources need a login"),
    ({"network": "bluesky"}, {"search": "x"}, "sources.s.search: Bluesky search sources need"),
    (LOGIN, {"list": "https://bsky.app/profile/x.org/feed/abc"}, "sources.s.list: "),
    ({**LOGIN, "base_url": "http://bsky.example.org"}, {}, "must use https"),
    ({"network": "twitter"}, {"feed": "at://did:plc:a/app.bsky.feed.generator/x"},
     "sources.s.feed: feed sources are for Bluesky accounts (a custom feed) or"),
])
def test_mistakes_name_the_file_the_key_and_the_problem(
        account: dict[str, Any], source: dict[str, str], problem: str) -> None:
    with pytest.raises(ConfigError) as err:
        settings(account, **source)
    assert str(err.value).startswith("rounds.toml: ") and problem in str(err.value)
    assert "\n" not in str(err.value)


def test_plain_http_is_allowed_on_loopback_or_when_asked() -> None:
    assert settings({**LOGIN, "base_url": "http://127.0.0.1:8080"}).accounts["sky"]
    assert settings({**LOGIN, "base_url": "http://sky.lan", "allow_insecure": True})


def test_the_cli_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                       ) -> None:
    cfg = tmp_path / "rounds.toml"
    cfg.write_text('[accounts.sky]\nnetwork = "bluesky"\n[[sources]]\nname = "t"\n'
                   'account = "sky"\nhashtag = "MedSky"\n')
    cfg.chmod(0o600)
    assert main(["--config", str(cfg), "--database-url", f"sqlite:///{tmp_path}/d.db",
                 "collect"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "sources.t.hashtag" in err
