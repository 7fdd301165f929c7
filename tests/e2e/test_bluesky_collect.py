"""Bluesky end to end: a config file, `rounds collect` three times into SQLite (and
PostgreSQL when configured), one login, every source kind, nothing secret stored; and
`rounds recheck` finding deleted posts through getPosts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from aggregator.cli import main
from aggregator.clock import ManualClock
from tests.fakes.bluesky import (
    APP_PASSWORD,
    AUTHOR_HANDLE,
    FEED_URI,
    HANDLE,
    PASSWORD_ENV,
    SEARCH_Q,
    SYN_LIST,
    FakeBluesky,
)
from tests.fakes.server import LoopbackServer, serve


@pytest.fixture
def sky() -> Iterator[tuple[FakeBluesky, LoopbackServer]]:
    fake = FakeBluesky(ManualClock())
    for server in serve(fake):
        yield fake, server


def test_collect_every_source_kind_three_times_with_one_login(
        tmp_path: Path, db_url: str, sky: tuple[FakeBluesky, LoopbackServer],
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    fake, server = sky
    fake.add_new(f"list:{SYN_LIST}", 30)
    fake.add_new("search:#MedSky", 4)
    monkeypatch.setenv(PASSWORD_ENV, APP_PASSWORD)
    rkey = SYN_LIST.rsplit("/", 1)[1]
    cfg = tmp_path / "rounds.toml"
    cfg.write_text(f"""
[database]
url = "{db_url}"
[accounts.sky]
network = "bluesky"
handle = "{HANDLE}"
app_password_env = "{PASSWORD_ENV}"
base_url = "{server.base_url}"
[[sources]]
name = "medsky"
account = "sky"
list = "https://bsky.app/profile/{HANDLE}/lists/{rkey}"
[[sources]]
name = "author"
account = "sky"
user = "{AUTHOR_HANDLE}"
backfill = 20
[[sources]]
name = "team"
account = "sky"
feed = "{FEED_URI}"
[[sources]]
name = "tag"
account = "sky"
hashtag = "#MedSky"
[[sources]]
name = "search"
account = "sky"
search = "{SEARCH_Q}"
""")
    cfg.chmod(0o600)
    assert main(["--config", str(cfg), "collect"]) == 0
    fresh = fake.add_new(f"list:{SYN_LIST}", 5)
    assert main(["--config", str(cfg), "collect"]) == 0
    assert main(["--config", str(cfg), "collect"]) == 0
    assert fake.logins == 1
    capsys.readouterr()
    assert main(["--config", str(cfg), "export"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {r["network"] for r in records} == {"bluesky"}
    by_source: dict[str, int] = {}
    for r in records:
        for s in r["sources"]:
            by_source[s] = by_source.get(s, 0) + 1
    assert by_source == {"medsky": 35, "author": 20, "team": 7, "tag": 4, "search": 25}
    one = next(r for r in records if r["key"] == fresh[0]["uri"])
    assert one["id"] == one["key"] == fresh[0]["uri"] and len(one["id"]) > 64
    rkey = fresh[0]["uri"].rsplit("/", 1)[1]
    assert one["url"] == f"https://bsky.app/profile/doc.example.org/post/{rkey}"
    assert one["author"] == "doc.example.org"
    assert all(r["id"] == r["key"] and r["id"].startswith("at://") for r in records)
    replies = [r for r in records if r["reply_to_id"]]
    assert replies and all(r["reply_to_id"].startswith("at://") for r in replies)
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            dump = "\n".join(str(row) for table in ("posts", "accounts", "sources")
                             for row in conn.execute(text(f"SELECT * FROM {table}")))
    finally:
        engine.dispose()
    assert fake.access and not [s for s in [APP_PASSWORD, *fake.access, *fake.refresh,
                                            *fake.revoked] if s in dump]


def test_recheck_hides_deleted_bluesky_posts_25_uris_a_request(
        tmp_path: Path, sky: tuple[FakeBluesky, LoopbackServer],
        capsys: pytest.CaptureFixture[str]) -> None:
    fake, server = sky
    added = fake.add_new(f"list:{SYN_LIST}", 30)
    cfg = tmp_path / "rounds.toml"
    cfg.write_text(f"""
recheck_hours = 87600  # the fake's posts are from 2026-11-27: all recent
[database]
url = "sqlite:///{tmp_path / 'rounds.db'}"
[accounts.sky]
network = "bluesky"
base_url = "{server.base_url}"
[[sources]]
name = "medsky"
account = "sky"
list = "{SYN_LIST}"
""")
    cfg.chmod(0o600)
    assert main(["--config", str(cfg), "collect"]) == 0
    gone = [added[3]["uri"], added[27]["uri"]]
    for uri in gone:
        del fake.posts[uri]

    capsys.readouterr()
    server.reset()
    assert main(["--config", str(cfg), "recheck"]) == 0
    assert "checked 30: 0 edited, 2 deleted, 0 errors" in capsys.readouterr().out
    asked = server.requests("getPosts")
    assert [len(r.query["uris"]) for r in asked] == [25, 5]
    assert {u for r in asked for u in r.query["uris"]} == {p["uri"] for p in added}

    assert main(["--config", str(cfg), "export"]) == 0
    keys = {json.loads(line)["key"] for line in capsys.readouterr().out.splitlines()}
    assert keys == {p["uri"] for p in added} - set(gone)

    assert main(["--config", str(cfg), "recheck"]) == 0  # the next round: nothing new
    assert "checked 28: 0 edited, 0 deleted, 0 errors" in capsys.readouterr().out
