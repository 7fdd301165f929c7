"""Feeds end to end: a config with an RSS and an Atom source (and a broken one), `rounds
collect` twice into SQLite (and PostgreSQL when configured): the second pass is one
conditional request per source and stores nothing; a changed entry is an edit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from aggregator.cli import main
from tests.fakes.feeds import ATOM, FeedsFake, data
from tests.fakes.server import LoopbackServer, serve


@pytest.fixture
def feeds() -> Iterator[tuple[FeedsFake, LoopbackServer]]:
    fake = FeedsFake()
    fake.put("/news.rss", data("health-gov-au-news.rss.xml"), gzip=True)
    fake.put("/blog.atom", data("clinic-blog.atom.xml"), content_type=ATOM, etag=None,
             last_modified="Fri, 20 Nov 2026 09:00:00 GMT")
    fake.put("/broken.xml", b"<html><body>sorry</body></html>", content_type="text/html")
    for server in serve(fake):
        yield fake, server


def _count(db_url: str, sql: str) -> int:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar_one())
    finally:
        engine.dispose()


def test_collect_rss_and_atom_then_a_second_pass_is_one_conditional_request_each(
        tmp_path: Path, db_url: str, feeds: tuple[FeedsFake, LoopbackServer],
        capsys: pytest.CaptureFixture[str]) -> None:
    fake, server = feeds
    cfg = tmp_path / "rounds.toml"
    cfg.write_text(f"""
[database]
url = "{db_url}"
[accounts.feeds]
network = "feed"
[[sources]]
name = "health-au"
account = "feeds"
feed = "{server.base_url}/news.rss"
[[sources]]
name = "clinic"
account = "feeds"
feed = "{server.base_url}/blog.atom"
every = "2h"
[[sources]]
name = "broken"
account = "feeds"
feed = "{server.base_url}/broken.xml"
""")
    cfg.chmod(0o600)
    assert main(["--config", str(cfg), "collect"]) != 0  # the broken source failed...
    out = capsys.readouterr()
    assert "broken.xml: not a readable RSS or Atom feed" in out.out + out.err
    assert _count(db_url, "SELECT COUNT(*) FROM posts") == 5  # ...the others went on
    server.reset()
    assert main(["--config", str(cfg), "collect", "--source", "health-au",
                 "--source", "clinic"]) == 0
    assert [r.path for r in server.requests()] in (["/news.rss", "/blog.atom"],
                                                   ["/blog.atom", "/news.rss"])
    assert all(r.headers.get("if-none-match") or r.headers.get("if-modified-since")
               for r in server.requests())
    assert _count(db_url, "SELECT COUNT(*) FROM posts") == 5
    assert _count(db_url, "SELECT COUNT(*) FROM post_versions") == 0

    # the clinic edits an entry: a new <updated>, new content -> an edit, earlier text kept
    edited = data("clinic-blog.atom.xml").replace(
        b"<updated>2026-11-18T15:30:00Z</updated>", b"<updated>2026-11-19T08:00:00Z</updated>"
    ).replace(b"rose to 92%", b"rose to 94% (corrected)")
    fake.put("/blog.atom", edited, content_type=ATOM, etag=None,
             last_modified="Thu, 19 Nov 2026 08:00:00 GMT")
    assert main(["--config", str(cfg), "collect", "--source", "clinic"]) == 0
    assert _count(db_url, "SELECT COUNT(*) FROM posts") == 5
    assert _count(db_url, "SELECT COUNT(*) FROM post_versions") == 1
    capsys.readouterr()
    assert main(["--config", str(cfg), "export"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {r["network"] for r in records} == {"feed"}
    hygiene = next(r for r in records if r["key"].endswith("/posts/hand-hygiene"))
    assert "94% (corrected)" in hygiene["text"]

    # the agency corrects a title without any new date: still an edit, seen when it changed;
    # the entries that did not change get no versions
    corrected = data("health-gov-au-news.rss.xml").replace(
        b"Pfizer for 12\xe2\x80\x9315 years", b"Pfizer for 12\xe2\x80\x9317 years")
    assert corrected != data("health-gov-au-news.rss.xml")
    fake.put("/news.rss", corrected, gzip=True)
    for _ in range(2):  # the second time the document is unchanged: nothing more happens
        assert main(["--config", str(cfg), "collect", "--source", "health-au"]) == 0
        assert _count(db_url, "SELECT COUNT(*) FROM posts") == 5
        assert _count(db_url, "SELECT COUNT(*) FROM post_versions") == 2
    capsys.readouterr()
    assert main(["--config", str(cfg), "export"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    pfizer = next(r for r in records if "Pfizer for 12" in r["text"])
    assert "12–17 years" in pfizer["text"] and pfizer["edited_at"]
    assert _count(db_url, "SELECT COUNT(*) FROM post_versions WHERE text LIKE "
                          "'%12–15 years%'") == 1
