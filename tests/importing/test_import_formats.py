"""`rounds import` end to end, one format at a time: real-shaped files built from the
recorded responses in tests/data -> the CLI -> the archive -> `rounds export`/`status`.

Each imported post must read exactly as the collector's own normalizer reads the same
post (one normalizer per network), belong to the named source, get its topics, and be
stored once however often the import runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aggregator.collectors.mastodon.normalize import normalize_status
from aggregator.collectors.twitter.entities import TweetPage
from aggregator.collectors.twitter.normalize import normalize_page
from tests.importing import builders
from tests.importing.conftest import MakeRounds, Rounds


def _v2_posts() -> dict[str, object]:
    """What the X collector makes of the same responses, by key."""
    out = {}
    for b in builders.v2_bodies():
        if isinstance(b["data"], dict):
            b = {**b, "data": [b["data"]]}
        for p in normalize_page(TweetPage.from_json(b)):
            out[p.key] = p
    return out


def test_twarc2_responses_import_as_the_collector_reads_them(rounds: Rounds,
                                                             tmp_path: Path) -> None:
    path = builders.write_jsonl(tmp_path / "medtwitter.jsonl", builders.v2_bodies())
    expected = _v2_posts()

    out = rounds.ok("import", path, "--source", "medtwitter-2020")

    assert out.strip() == (f"read {len(expected)}, stored {len(expected)}, "
                           "already present 0, bad 0")
    records = rounds.records()
    assert {r["key"] for r in records} == set(expected)
    for r in records:
        post = expected[r["key"]]
        assert (r["text"], r["author"], r["url"]) == (post.text, post.author.handle, post.url)
        assert r["sources"] == ["medtwitter-2020"]
    assert any(r["topics"] for r in records)  # classified as they are stored
    status = rounds.ok("status", "medtwitter-2020")
    assert "never (imported)" in status and "import-only" in status
    # an import-only source is a source like the others for exports and queries
    assert len(rounds.records("--source", "medtwitter-2020")) == len(expected)
    hits = rounds.ok("search", "source:medtwitter-2020", "--json", "-n", "100").splitlines()
    assert len(hits) == len(expected)


def test_a_second_import_stores_nothing(rounds: Rounds, tmp_path: Path) -> None:
    path = builders.write_jsonl(tmp_path / "t.jsonl", builders.v2_bodies())
    rounds.ok("import", path, "--source", "t")
    before = rounds.records()

    out = rounds.ok("import", path, "--source", "t")

    n = len(before)
    assert out.strip() == f"read {n}, stored 0, already present {n}, bad 0"
    assert rounds.records() == before


def test_flattened_twarc2_lines_are_the_same_posts(rounds: Rounds, tmp_path: Path) -> None:
    responses = builders.v2_bodies()
    flat = [t for r in responses for t in builders.flatten(r)]
    first = builders.write_jsonl(tmp_path / "responses.jsonl", responses)
    rounds.ok("import", first, "--source", "t")
    before = rounds.records()

    out = rounds.ok("import", builders.write_jsonl(tmp_path / "flat.jsonl", flat),
                    "--source", "t")

    assert out.strip() == f"read {len(flat)}, stored 0, already present {len(flat)}, bad 0"
    assert rounds.records() == before


def test_flattened_lines_alone_read_like_responses(fresh_rounds: MakeRounds,
                                                   tmp_path: Path) -> None:
    archive = fresh_rounds("flat")
    flat = [t for r in builders.v2_bodies() for t in builders.flatten(r)]
    archive.ok("import", builders.write_jsonl(tmp_path / "flat.jsonl", flat), "--source", "t")
    expected = _v2_posts()
    for r in archive.records():
        post = expected[r["key"]]
        assert (r["text"], r["author"], r["links"], r["media"]) == (
            post.text, post.author.handle, list(post.links),
            [{"kind": m.kind, "url": m.url, "alt_text": m.alt_text} for m in post.media])


def test_twarc1_v1_tweets(rounds: Rounds, tmp_path: Path) -> None:
    tweets = builders.v1_tweets()
    path = builders.write_jsonl(tmp_path / "twarc1.jsonl", tweets)

    out = rounds.ok("import", path, "--source", "moments")

    # the retweet is its original with a boost: one post fewer than lines
    n = len(tweets)
    assert out.strip() == f"read {n}, stored {n - 1}, already present 1, bad 0"
    records = {r["key"]: r for r in rounds.records()}
    original, retweet = tweets[0], tweets[-1]
    first = records[original["id_str"]]
    assert first["author"] == original["user"]["screen_name"]
    assert first["boosted_by"] == [retweet["user"]["screen_name"]]
    assert first["reply_to_id"] == original["in_reply_to_status_id_str"]
    assert first["created_at"] == "2019-07-13T02:26:37.000Z"
    art = next(r for r in records.values() if r["author"] == "ArtHouse")
    assert art["media"] and "#TwitterArtHouse" not in art["hashtags"]
    assert "TwitterArtHouse" in art["hashtags"]
    assert all("&amp;" not in str(r["text"]) for r in records.values())


def test_x_account_archive(rounds: Rounds, tmp_path: Path) -> None:
    path, own = builders.x_archive(tmp_path / "twitter-2026-11-01.zip")

    out = rounds.ok("import", path, "--source", "my-x")

    assert out.strip() == (f"read {len(own)}, stored {len(own)}, already present 0, bad 0; "
                           "not imported: data/like.js (not posts); "
                           "data/deleted-tweets.js (not posts)")
    records = {r["key"]: r for r in rounds.records()}
    assert set(records) == {t["id_str"] for t in own}  # both parts, nothing deleted or liked
    owner = builders.body("twitter/v1.1/lists_statuses.json")[0]["user"]["screen_name"]
    assert {r["author"] for r in records.values()} == {owner}
    long_post = records[own[0]["id_str"]]
    assert long_post["text"] == builders.LONG_TEXT  # note-tweet.js, not the cut text
    assert long_post["hashtags"] == ["HeartFailure"]
    assert "cardiology" in long_post["topics"]
    assert rounds.ok("import", path, "--source", "my-x").startswith(
        f"read {len(own)}, stored 0, already present {len(own)}")


def test_a_bad_archive_member_item_is_reported_with_its_position(
        rounds: Rounds, tmp_path: Path) -> None:
    path, own = builders.x_archive(tmp_path / "x.zip", bad_item=True)

    code, out, err = rounds("import", path, "--source", "x")

    assert code == 1
    assert err.strip().splitlines()[-1] == (
        "error: x.zip:data/tweets-part1.js item 1: not valid JSON (Expecting value)")
    half = len(own) // 2
    assert len(rounds.records()) == half  # tweets.js stored, nothing of the bad member

    code, out, err = rounds("import", path, "--source", "x", "--skip-bad")
    assert code == 0
    assert out.startswith(f"read {half}, stored 0, already present {half}, bad 1")


@pytest.mark.parametrize("name", ["archive-2026.zip", "archive-2026.tar.gz"])
def test_mastodon_account_archive(rounds: Rounds, tmp_path: Path, name: str) -> None:
    statuses = builders.mastodon_statuses()
    boosted = "https://mastodon.social/users/someone/statuses/1"
    path = builders.mastodon_archive(tmp_path / name, statuses, boost_of=boosted)

    out = rounds.ok("import", path, "--source", "my-mastodon")

    n = len(statuses)
    assert out.strip() == (f"read {n}, stored {n}, already present 0, bad 0; not imported: "
                           "a boost: the archive holds only the boosted post's address")
    records = {r["key"]: r for r in rounds.records()}
    for s in statuses:
        post = normalize_status(s)  # the collector's reading of the same post
        r = records[s["uri"]]  # keyed by federation URI, as collected posts are
        assert (r["text"], r["author"], r["spoiler"], r["lang"], r["hashtags"]) == (
            post.text, post.author.key, post.spoiler, post.lang, list(post.hashtags))
        assert r["media"] == [{"kind": m.kind, "url": m.url, "alt_text": m.alt_text}
                              for m in post.media]
        assert r["created_at"][:19] == s["created_at"][:19]
        assert r["author_name"] == s["account"]["display_name"]


def test_a_malformed_outbox_stops_with_its_position(rounds: Rounds, tmp_path: Path) -> None:
    statuses = builders.mastodon_statuses()
    box, _ = builders.outbox(statuses)
    items = [json.dumps(i) for i in box["orderedItems"]]
    broken = json.dumps({**box, "orderedItems": []}).replace(
        '"orderedItems": []', '"orderedItems": [' + ", ".join(
            [items[0], '{"id": nonsense}', *items[1:]]) + "]")
    path = builders.mastodon_archive(tmp_path / "m.zip", statuses, outbox_text=broken)

    code, _, err = rounds("import", path, "--source", "m")

    assert code == 1
    assert err.strip().splitlines()[-1].startswith(
        "error: m.zip:outbox.json item 2: not valid JSON")
    assert len(rounds.records()) == 1  # the item before it


def test_bad_lines_stop_the_import_or_are_skipped(rounds: Rounds, tmp_path: Path) -> None:
    lines = builders.v2_bodies()
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(lines[0]) + "\n" + '{"data": [{"id": "1", "text": "x"}\n'
                    + json.dumps(lines[1]) + "\n")
    first = len(lines[0]["data"])

    code, out, err = rounds("import", path, "--source", "t")
    assert code == 1
    assert err.splitlines()[-1].startswith("error: t.jsonl:2: not valid JSON")
    assert len(err.strip().splitlines()) == 2  # the summary so far, then the one-line error
    assert len(rounds.records()) == first  # what came before the bad line, nothing after

    code, out, err = rounds("import", path, "--source", "t", "--skip-bad")
    assert code == 0
    assert ", bad 1" in out
    assert len(rounds.records()) == first + len(lines[1]["data"])


CONFIGURED = """
[accounts.med]
network = "mastodon"
base_url = "https://med.example"

[accounts.x]
network = "twitter"
bearer_token_env = "ROUNDS_X_BEARER"

[[sources]]
name = "icu"
account = "med"
hashtag = "icu"

[[sources]]
name = "medtwitter"
account = "x"
search = "#MedTwitter"
every = "30m"
topics = ["public_health"]
"""


def test_source_is_required_and_must_match_a_configured_network(
        fresh_rounds: MakeRounds, tmp_path: Path) -> None:
    path = builders.write_jsonl(tmp_path / "t.jsonl", builders.v2_bodies())
    archive = fresh_rounds("cfg", extra=CONFIGURED)
    code, _, err = archive("import", path)
    assert code == 2 and "--source NAME is required" in err
    code, _, err = archive("import", path, "--source", "icu")
    assert code == 2
    assert err.strip() == ("error: source 'icu' collects mastodon posts; these are twitter "
                           "posts: import them into another source")


def test_an_export_imported_into_a_fresh_archive_exports_identically(
        rounds: Rounds, fresh_rounds: MakeRounds, tmp_path: Path) -> None:
    twarc = builders.write_jsonl(tmp_path / "t.jsonl", builders.v2_bodies())
    rounds.ok("import", twarc, "--source", "medtwitter")
    rounds.ok("import", twarc, "--source", "also-here")  # posts in two sources
    rounds.ok("import", builders.write_jsonl(tmp_path / "v1.jsonl", builders.v1_tweets()),
              "--source", "moments")
    rounds.ok("import", builders.x_archive(tmp_path / "x.zip")[0], "--source", "my-x")
    rounds.ok("import", builders.mastodon_archive(
        tmp_path / "m.zip", builders.mastodon_statuses()), "--source", "my-mastodon")
    rounds.ok("import", builders.bluesky_repo(tmp_path / "r.car")[0], "--source", "my-sky")
    exported = tmp_path / "export.jsonl"
    rounds.ok("export", "--raw", "-o", exported)

    fresh = fresh_rounds("fresh")
    out = fresh.ok("import", exported)
    again = tmp_path / "again.jsonl"
    fresh.ok("export", "--raw", "-o", again)

    n = len(exported.read_text().splitlines())
    assert out.strip() == f"read {n}, stored {n}, already present 0, bad 0"
    assert again.read_bytes() == exported.read_bytes()
    assert "never (imported)" in fresh.ok("status", "my-mastodon")


def test_help_explains_every_format(rounds: Rounds) -> None:
    out = rounds.ok("import", "--help")
    described = {line.split()[0] for line in out.splitlines()
                 if line.startswith("    ") and not line.startswith("     ")}
    assert described >= {"twarc", "x-archive", "mastodon-jsonl", "mastodon-archive", "rounds",
                         "bluesky-car"}


def test_bluesky_repository_export(rounds: Rounds, tmp_path: Path) -> None:
    from aggregator.collectors.bluesky.normalize import normalize_post_view

    path, views = builders.bluesky_repo(tmp_path / "repo.car")

    out = rounds.ok("import", path, "--source", "my-bluesky")

    n = len(views)
    assert out.strip() == f"read {n}, stored {n}, already present 0, bad 0"
    records = {r["key"]: r for r in rounds.records()}
    assert set(records) == {v["uri"] for v in views}  # keyed by at:// URI, as collected
    for view in views:
        post = normalize_post_view(view)  # the collector's reading of the AppView's view
        r = records[view["uri"]]
        assert (r["text"], r["hashtags"], r["links"], r["mentions"], r["reply_to_id"],
                r["quote_of"], r["lang"]) == (
            post.text, list(post.hashtags), list(post.links), list(post.mentions),
            post.reply_to_id, post.quote_of, post.lang)
        assert r["media"] == [{"kind": m.kind, "url": m.url, "alt_text": m.alt_text}
                              for m in post.media]
        # as the author's client wrote it: a repository has no AppView time to clamp it to
        assert r["created_at"][:23] == view["record"]["createdAt"][:23]
        assert r["author_name"] == view["author"]["displayName"]
    assert rounds.ok("import", path, "--source", "my-bluesky").startswith(
        f"read {n}, stored 0, already present {n}")


def test_a_gzipped_export_imports_too(rounds: Rounds, fresh_rounds: MakeRounds,
                                      tmp_path: Path) -> None:
    rounds.ok("import", builders.write_jsonl(tmp_path / "t.jsonl", builders.v2_bodies()),
              "--source", "medtwitter")
    gz = tmp_path / "posts.jsonl.gz"
    rounds.ok("export", "--raw", "--gzip", "-o", gz)
    plain = tmp_path / "plain.jsonl"
    rounds.ok("export", "--raw", "-o", plain)

    fresh = fresh_rounds("fresh")
    fresh.ok("import", gz)

    assert fresh.ok("export", "--raw") == plain.read_text()


def test_posts_can_join_a_configured_source_without_changing_its_schedule(
        fresh_rounds: MakeRounds, tmp_path: Path) -> None:
    archive = fresh_rounds("cfg", extra=CONFIGURED)
    path = builders.write_jsonl(tmp_path / "t.jsonl", builders.v2_bodies())

    archive.ok("import", path, "--source", "medtwitter")

    records = archive.records("--source", "medtwitter")
    assert records and all(r["sources"] == ["medtwitter"] for r in records)
    assert all("public_health" in r["topics"] for r in records)  # the source's topics
    status = archive.ok("status", "medtwitter")
    assert "next due:          now" in status  # an import is not a collection run


def test_a_file_of_no_known_format_is_one_line(rounds: Rounds, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("grand rounds, Tuesday\n")

    code, out, err = rounds("import", path, "--source", "x")

    assert (code, out) == (1, "")
    assert err.strip() == ("error: notes.txt:1: not JSON Lines, a .zip, a .tar.gz or a "
                           ".car; pass --format")


def test_a_curated_voice_gives_its_topics_to_imported_posts(
        fresh_rounds: MakeRounds, tmp_path: Path) -> None:
    archive = fresh_rounds("cfg", extra=CONFIGURED)
    archive.ok("voices", "add", "Jim Moffitt", "x:snowman", "--topic", "oncology")
    path = builders.write_jsonl(tmp_path / "t.jsonl", builders.v2_bodies())

    archive.ok("import", path, "--source", "medtwitter")

    records = archive.records()
    by_jim = [r for r in records if r["author"] == "snowman"]
    assert by_jim and all("oncology" in r["topics"] for r in by_jim)
    assert not any("oncology" in r["topics"] for r in records if r["author"] != "snowman")


def test_mastodon_api_statuses_import_as_the_collector_reads_them(
        rounds: Rounds, fresh_rounds: MakeRounds, tmp_path: Path) -> None:
    pages = [builders.body(p) for p in builders.MASTODON_FILES]
    statuses = [s for page in pages for s in page]
    expected = {p.key: p for p in map(normalize_status, statuses)}
    one_a_line = builders.write_jsonl(tmp_path / "statuses.jsonl", statuses)

    out = rounds.ok("import", one_a_line, "--source", "med-mastodon")

    assert out.strip() == (f"read {len(statuses)}, stored {len(expected)}, "
                           f"already present {len(statuses) - len(expected)}, bad 0")
    records = rounds.records()
    assert {r["key"] for r in records} == set(expected)
    for r in records:
        post = expected[r["key"]]
        assert (r["text"], r["author"], r["url"]) == (post.text, post.author.handle, post.url)
    # the same statuses saved one API page a line are the same posts
    other = fresh_rounds("pages")
    other.ok("import", builders.write_jsonl(tmp_path / "pages.jsonl", pages),
             "--source", "med-mastodon")
    assert other.records() == records


def test_a_line_that_is_no_mastodon_status_is_reported_with_its_position(
        rounds: Rounds, tmp_path: Path) -> None:
    statuses = builders.body(builders.MASTODON_FILES[0])
    path = builders.write_jsonl(tmp_path / "s.jsonl", [statuses[0], {"account": {},
                                                                     "uri": "x"}])
    code, _, err = rounds("import", path, "--source", "m", "--format", "mastodon-jsonl")
    assert code != 0
    assert err.strip().splitlines() == [
        "read 1, stored 1, already present 0, bad 1",
        "error: s.jsonl:2: not a Mastodon status (an object with account and content)"]


def test_a_record_naming_no_source_stops_the_import_and_the_summary_counts_what_stayed(
        rounds: Rounds, fresh_rounds: MakeRounds, tmp_path: Path) -> None:
    rounds.ok("import", builders.write_jsonl(tmp_path / "t.jsonl", builders.v2_bodies()),
              "--source", "medtwitter")
    records = rounds.records()
    records[-1]["sources"] = []
    exported = builders.write_jsonl(tmp_path / "export.jsonl", records)

    fresh = fresh_rounds("fresh")
    code, _, err = fresh("import", exported)

    n = len(records) - 1
    assert code == 1
    assert err.strip().splitlines() == [
        f"read {n}, stored {n}, already present 0, bad 0",
        f"error: export.jsonl:{n + 1}: the record names no source: pass --source"]
    assert len(fresh.records()) == n  # the posts before it stayed, and only they
