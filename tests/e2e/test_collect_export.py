"""Fake server -> `rounds collect` -> database -> `rounds export`, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aggregator.cli import main
from tests.e2e.conftest import WriteConfig
from tests.fakes.mastodon import LIST_ID, TAG, MastodonFake
from tests.fakes.server import Reply

RECORD_FIELDS = {"network", "id", "url", "author", "author_name", "created_at", "text", "lang",
                 "reply_to_id", "hashtags", "links", "sources", "boosted_by", "topics"}


def export(cfg: Path, capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, object]]:
    capsys.readouterr()
    assert main(["--config", str(cfg), "export", *args]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_collect_then_export_every_post_once(write_config: WriteConfig,
                                             fake_mastodon: MastodonFake,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config()
    assert main(["--config", str(cfg), "collect"]) == 0
    out = capsys.readouterr().out
    assert "icu-list" in out and "error" not in out

    records = export(cfg, capsys)
    expected = {s["uri"] if not s.get("reblog") else s["reblog"]["uri"]
                for key in (f"list:{LIST_ID}", f"tag:{TAG}", "account:117020565966271181")
                for s in fake_mastodon.api.timelines[key]}
    assert {r["key"] for r in records} == expected
    assert len(records) == len(expected)  # once each, however many sources brought it
    for r in records:
        assert set(r) >= RECORD_FIELDS
        assert str(r["created_at"]).endswith("Z")
        assert "@" in str(r["author"])  # acct with its domain
    assert [r["created_at"] for r in records] == sorted(str(r["created_at"]) for r in records)
    listed = [r for r in records if "icu-list" in r["sources"]]  # type: ignore[operator]
    assert listed and all("pulm_critcare" in r["topics"] for r in listed)  # type: ignore[operator]


def test_second_pass_adds_nothing_with_one_request_per_source(
        write_config: WriteConfig, fake_mastodon: MastodonFake,
        capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config()
    assert main(["--config", str(cfg), "collect"]) == 0
    before = export(cfg, capsys)
    fake_mastodon.server.reset()
    assert main(["--config", str(cfg), "collect"]) == 0
    assert len(fake_mastodon.timeline_requests()) == 3
    assert not fake_mastodon.server.requests("/accounts/lookup")  # remembered
    assert not fake_mastodon.server.requests("/instance")
    assert export(cfg, capsys) == before


def test_new_posts_arrive_incrementally(write_config: WriteConfig, fake_mastodon: MastodonFake,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config()
    assert main(["--config", str(cfg), "collect"]) == 0
    first = len(export(cfg, capsys))
    fresh = fake_mastodon.api.add_new(f"tag:{TAG}", 95)  # more than two pages of 40
    assert main(["--config", str(cfg), "collect", "--source", "tag"]) == 0
    records = export(cfg, capsys, "--source", "tag")
    assert {s["uri"] for s in fresh} <= {r["key"] for r in records}
    assert len(export(cfg, capsys)) == first + 95


def test_backfill_limits_the_first_run(write_config: WriteConfig, fake_mastodon: MastodonFake,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    fake_mastodon.api.add_new(f"tag:{TAG}", 120)
    cfg = write_config(backfill=50)
    assert main(["--config", str(cfg), "collect", "--source", "tag"]) == 0
    assert len(export(cfg, capsys)) == 50


def test_failing_source_is_reported_and_the_others_still_collect(
        write_config: WriteConfig, fake_mastodon: MastodonFake,
        capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(extra='\n[[sources]]\nname = "gone"\naccount = "med"\nlist = "999"\n')
    assert main(["--config", str(cfg), "collect"]) == 1
    captured = capsys.readouterr()
    assert "gone" in captured.out and "not found" in captured.out.lower()
    assert "Traceback" not in captured.err
    assert {"icu-list", "tag", "someone"} <= {
        s for r in export(cfg, capsys) for s in r["sources"]}  # type: ignore[attr-defined]


def test_unreachable_server_is_one_clear_line(tmp_path: Path, db_url: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "rounds.toml"
    cfg.write_text(f'[database]\nurl = "{db_url}"\n[accounts.a]\nnetwork = "mastodon"\n'
                   'base_url = "http://127.0.0.1:9"\n[[sources]]\nname = "x"\naccount = "a"\n'
                   'hashtag = "cardiology"\n')
    assert main(["--config", str(cfg), "collect"]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    line = next(ln for ln in captured.out.splitlines() if ln.startswith("x"))
    assert "127.0.0.1:9" in line


def test_server_errors_are_retried_then_collected(write_config: WriteConfig,
                                                  fake_mastodon: MastodonFake,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config()
    fake_mastodon.server.faults.arm(Reply(503, b"<html>busy</html>"), "/timelines/tag/", times=1)
    assert main(["--config", str(cfg), "collect", "--source", "tag"]) == 0
    assert export(cfg, capsys, "--source", "tag")


def test_export_csv_and_raw(write_config: WriteConfig, capsys: pytest.CaptureFixture[str],
                            tmp_path: Path) -> None:
    cfg = write_config()
    assert main(["--config", str(cfg), "collect"]) == 0
    out = tmp_path / "posts.csv"
    assert main(["--config", str(cfg), "export", "--format", "csv", "-o", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0].startswith("network,id,key,url,author")
    raw = export(cfg, capsys, "--raw", "--network", "mastodon")
    assert raw and all(isinstance(r["raw"], dict) for r in raw)
