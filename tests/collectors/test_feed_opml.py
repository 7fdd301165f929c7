"""OPML in and out: `rounds feeds import` prints sources to paste, `rounds feeds export`
writes what is configured; the two round-trip, and hostile files are refused."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.cli import main
from aggregator.feeds_opml import OpmlError, OpmlFeed, read_opml, write_opml
from aggregator.settings import parse_settings

# the shape feed readers export: folders, mixed attribute case, a duplicate, a non-feed
READER_OPML = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>My subscriptions</title></head>
  <body>
    <outline text="Journals" title="Journals">
      <outline text="Cardiology" title="Cardiology">
        <outline type="rss" text="JACC &quot;Online First&quot;"
                 xmlUrl="https://journals.example.org/jacc/rss"
                 htmlUrl="https://journals.example.org/jacc"/>
      </outline>
    </outline>
    <outline type="rss" text="Agency news" xmlurl="https://agency.example.gov/news.xml"/>
    <outline type="rss" text="Again" xmlUrl="https://agency.example.gov/news.xml"/>
    <outline type="link" text="Not a feed" url="https://example.org/"/>
    <outline type="rss" text="Local file" xmlUrl="file:///etc/passwd"/>
  </body>
</opml>
"""


def test_reader_opml_gives_each_feed_once_with_its_folder() -> None:
    feeds = read_opml(READER_OPML.encode())
    assert feeds == [
        OpmlFeed('JACC "Online First"', "https://journals.example.org/jacc/rss",
                 "https://journals.example.org/jacc", "Journals/Cardiology"),
        OpmlFeed("Agency news", "https://agency.example.gov/news.xml"),
    ]


def test_write_then_read_round_trips() -> None:
    feeds = [OpmlFeed("Rounds & <Notes>", "https://clinic.example.org/atom.xml",
                      "https://clinic.example.org/", "Blogs"),
             OpmlFeed("Agency", "https://agency.example.gov/news.xml?a=1&b=2")]
    document = write_opml(feeds, "grandrounds feeds", datetime(2026, 11, 30, tzinfo=UTC))
    assert read_opml(document.encode()) == feeds


@pytest.mark.parametrize("body", [
    b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<opml><body><outline text="&x;" xmlUrl="https://a.org/f"/></body></opml>',
    b"<opml><body><outline",
    b"<html><body/></html>",
], ids=["entities", "broken", "not-opml"])
def test_unreadable_or_hostile_opml_is_one_clear_error(body: bytes) -> None:
    with pytest.raises(OpmlError, match=r"refused: the file declares XML entities|"
                                        r"not well-formed|not an OPML file"):
        read_opml(body, "subs.opml")


def test_cli_import_prints_pasteable_sources_and_export_round_trips(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "rounds.toml"
    cfg.write_text(f'[database]\nurl = "sqlite:///{tmp_path}/r.db"\n'
                   '[accounts.blogs]\nnetwork = "feed"\n'
                   '[[sources]]\nname = "agency-news"\naccount = "blogs"\n'
                   'feed = "https://agency.example.gov/news.xml"\n')
    cfg.chmod(0o600)
    opml = tmp_path / "subs.opml"
    opml.write_text(READER_OPML)
    assert main(["--config", str(cfg), "feeds", "import", str(opml)]) == 0
    out = capsys.readouterr()
    assert "1 feeds to add, 1 already configured" in out.err
    assert 'account = "blogs"' in out.out and "[accounts." not in out.out
    cfg.write_text(cfg.read_text() + out.out)
    settings = parse_settings(tomllib.loads(cfg.read_text()), cfg, {})
    added = settings.source("jacc-online-first")
    assert added.target.value == "https://journals.example.org/jacc/rss" and added.every == 3600
    assert main(["--config", str(cfg), "feeds", "export", "-o", str(tmp_path / "out.opml")]) == 0
    assert [f.xml_url for f in read_opml((tmp_path / "out.opml").read_bytes())] == [
        "https://agency.example.gov/news.xml", "https://journals.example.org/jacc/rss"]


def test_cli_import_without_a_feed_account_prints_one(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "rounds.toml"
    cfg.write_text(f'[database]\nurl = "sqlite:///{tmp_path}/r.db"\n')
    cfg.chmod(0o600)
    opml = tmp_path / "subs.opml"
    opml.write_text(READER_OPML)
    assert main(["--config", str(cfg), "feeds", "import", str(opml)]) == 0
    pasted = tomllib.loads(cfg.read_text() + capsys.readouterr().out)
    settings = parse_settings(pasted, cfg, {})
    assert settings.accounts["feeds"].network == "feed" and len(settings.sources) == 2
