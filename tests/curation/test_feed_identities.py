"""A voice's blog: feed identities on curated lists, collected by `curated = "LIST"` sources
on a feed account, and `rounds feeds import/export --list` (OPML)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.curation.handles import parse_handle
from aggregator.errors import CurationError
from aggregator.feeds_opml import OpmlFeed, read_opml, write_opml
from tests.curation.conftest import Run, runner
from tests.fakes.feeds import ATOM, BASE_DATE, FeedsFake, data, rfc822, rss
from tests.fakes.server import LoopbackServer, serve


@pytest.mark.parametrize(("given", "expected"), [
    ("https://Blog.Example.org/feed.xml#top", "https://blog.example.org/feed.xml"),
    ("feed:https://blog.example.org/atom?lang=en", "https://blog.example.org/atom?lang=en"),
    ("HTTP://127.0.0.1:8080/News.rss", "http://127.0.0.1:8080/News.rss"),  # path keeps case
    ("https://blog.example.org", "https://blog.example.org/"),
])
def test_a_feed_url_is_a_feed_identity(given: str, expected: str) -> None:
    assert parse_handle(given) == ("feed", expected)


@pytest.mark.parametrize(("given", "says"), [
    ("https://me:secret@blog.example.org/feed", "with a user or password is refused"),
    ("https://x.com/DrAlice", "is a profile page, not a feed: write x:name"),
    ("https://bsky.app/profile/alice.example.org", "write bsky:handle"),
    ("https://mastodon.social/@alice", "write alice@mastodon.social, or "
                                       "feed:https://mastodon.social/@alice.rss"),
    ("feed:ftp://blog.example.org/feed", "expected https://"),
    ("https://blog.example.org/" + "a" * 600, "longer than 512 characters"),
])
def test_urls_that_cannot_be_a_voice_s_feed_say_why(given: str, says: str) -> None:
    with pytest.raises(CurationError) as err:
        parse_handle(given)
    assert says in str(err.value) and "secret" not in str(err.value)


@pytest.fixture
def blogs() -> Iterator[LoopbackServer]:
    fake = FeedsFake()
    fake.put("/heart.rss", rss("Dr Heart's notes", [
        {"guid": "https://heart.example/p/1", "title": "Statins after 75: what the trials say",
         "link": "https://heart.example/p/1", "pubDate": rfc822(BASE_DATE),
         "description": "Lipid lowering in older adults with atrial fibrillation."}]))
    fake.put("/clinic.atom", data("clinic-blog.atom.xml"), content_type=ATOM)
    yield from serve(fake)


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str],
        blogs: LoopbackServer) -> tuple[Run, LoopbackServer]:
    cfg = tmp_path / "rounds.toml"
    cfg.write_text(f"""
[database]
url = "sqlite:///{tmp_path / 'a.db'}"
[accounts.feeds]
network = "feed"
[[sources]]
name = "Cardio"
account = "feeds"
curated = "Cardio"
""")
    cfg.chmod(0o600)
    return runner(capsys, "--config", str(cfg)), blogs


def test_a_curated_list_collects_its_voices_blogs(cli: tuple[Run, LoopbackServer]) -> None:
    rounds, server = cli
    rounds("lists", "create", "Cardio", "--topic", "cardiology")
    rounds("voices", "add", "Dr Heart", "heart@med.example", f"{server.base_url}/heart.rss")
    out, _ = rounds("lists", "add", "Cardio", "heart@med.example")
    assert f"Dr Heart (@heart@med.example, {server.base_url}/heart.rss)" in out
    rounds("collect")
    assert [r.path for r in server.requests()] == ["/heart.rss"]  # only members' feeds
    for args in (["status"], ["status", "Cardio"], ["sources"]):  # as collection runs them
        out, _ = rounds(*args)
        assert "Cardio 127.0.0.1" in out and "never" not in out
    out, _ = rounds("export")
    records = [json.loads(line) for line in out.splitlines()]
    assert [(r["network"], r["author_name"]) for r in records] == [
        ("feed", "Dr Heart's notes")]
    assert "cardiology" in records[0]["topics"]  # the list's topic joins the source's

    rounds("lists", "remove", "Cardio", f"feed:{server.base_url}/heart.rss")
    server.reset()
    rounds("collect")
    assert server.requests() == []  # no member has a feed any more


def test_opml_into_a_list_and_back(cli: tuple[Run, LoopbackServer], tmp_path: Path) -> None:
    rounds, server = cli
    opml = tmp_path / "blogs.opml"
    opml.write_text(write_opml([OpmlFeed("Dr Heart's notes", f"{server.base_url}/heart.rss"),
                                OpmlFeed("A clinic blog", f"{server.base_url}/clinic.atom")],
                               "colleague's blogs", BASE_DATE))
    _, err = rounds("feeds", "import", str(opml), "--list", "Cardio")
    assert "created list Cardio" in err and "2 feeds added to list Cardio" in err
    assert 'curated = "Cardio"' not in err  # the config has that source already
    _, err = rounds("feeds", "import", str(opml), "--list", "Cardio")
    assert "0 feeds added to list Cardio, 2 already on it" in err
    out, _ = rounds("lists", "show", "Cardio")
    assert "Dr Heart's notes" in out and "A clinic blog" in out
    rounds("collect")
    assert sorted(r.path for r in server.requests()) == ["/clinic.atom", "/heart.rss"]
    out, _ = rounds("feeds", "export", "--list", "Cardio")
    assert read_opml(out.encode()) == [
        OpmlFeed("A clinic blog", f"{server.base_url}/clinic.atom"),
        OpmlFeed("Dr Heart's notes", f"{server.base_url}/heart.rss")]


def test_a_bad_feed_in_opml_adds_nothing_unless_skipped(cli: tuple[Run, LoopbackServer],
                                                         tmp_path: Path) -> None:
    rounds, server = cli
    opml = tmp_path / "mixed.opml"
    opml.write_text(write_opml([OpmlFeed("good", f"{server.base_url}/heart.rss"),
                                OpmlFeed("leaky", "https://me:pw@blog.example.org/feed")],
                               "mixed", BASE_DATE))
    _, err = rounds("feeds", "import", str(opml), "--list", "Cardio", code=1)
    assert "1 of 2 feeds cannot be a voice's feed, nothing added" in err and "pw" not in err
    _, err = rounds("lists", "show", code=1)
    assert "no archive yet" in err  # nothing written at all
    _, err = rounds("feeds", "import", str(opml), "--list", "Cardio", "--skip-bad")
    assert "skipped:" in err and "1 feeds added to list Cardio" in err


def test_the_printed_source_for_a_list_is_toml_whatever_its_name(rounds: Run,
                                                                 tmp_path: Path) -> None:
    """Without a source collecting the list, import prints one to paste: valid TOML even
    when the list's name holds quotes or backslashes."""
    import tomllib

    opml = tmp_path / "blogs.opml"
    opml.write_text(write_opml([OpmlFeed("Dr Heart's notes", "https://heart.example/rss")],
                               "blogs", BASE_DATE))
    name = 'Cardio "blogs" \\ 2026'
    _, err = rounds("feeds", "import", str(opml), "--list", name)
    pasted = tomllib.loads(err.split("to collect them, add to rounds.toml:\n", 1)[1])
    assert pasted["accounts"]["feeds"] == {"network": "feed"}
    assert pasted["sources"] == [{"name": f"{name} feeds", "account": "feeds",
                                  "curated": name}]
