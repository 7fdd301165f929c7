"""`rounds status`: health per source, JSON for monitoring, exit 1 after 3 failures."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from aggregator.cli import main
from tests.fakes.server import Reply
from tests.ops.conftest import OpsFake, WriteConfig


def _status(cfg: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, object]]:
    capsys.readouterr()
    code = main(["--config", cfg, "status", "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_status_reports_health_and_fails_after_three_errors_in_a_row(
        write_config: WriteConfig, fake: OpsFake, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = str(write_config(every="15m"))
    code, doc = _status(cfg, capsys)
    assert code == 0
    never = {s["name"]: s for s in doc["sources"]}  # type: ignore[attr-defined]
    assert never["tag"]["last_run_at"] is None and never["tag"]["next_due"] is None

    assert main(["--config", cfg, "collect"]) == 0
    code, doc = _status(cfg, capsys)
    by_name = {s["name"]: s for s in doc["sources"]}  # type: ignore[attr-defined]
    assert code == 0 and doc["failing"] == []
    tag = by_name["tag"]
    assert tag["consecutive_failures"] == 0 and tag["last_error"] is None
    assert tag["posts_24h"] > 0 and tag["x_reads_today"] is None
    success = datetime.fromisoformat(tag["last_success_at"])
    due = datetime.fromisoformat(tag["next_due"])
    assert timedelta(minutes=14) < due - success <= timedelta(minutes=15)

    fake.server.faults.arm(Reply.json({"error": "Record not found"}, 404),
                           path_contains="/timelines/list", times=3)
    for attempt in range(3):
        assert main(["--config", cfg, "collect", "--source", "icu-list"]) == 1
        code, doc = _status(cfg, capsys)
        assert code == (1 if attempt == 2 else 0)
    icu = {s["name"]: s for s in doc["sources"]}["icu-list"]  # type: ignore[attr-defined]
    assert icu["consecutive_failures"] == 3 and icu["failing"] is True
    assert icu["last_error"] and doc["failing"] == ["icu-list"]
    raw = json.dumps(doc)
    assert "fake-mastodon-token" not in raw and "ROUNDS_MED_TOKEN" not in raw

    capsys.readouterr()
    assert main(["--config", cfg, "status"]) == 1  # the table too
    assert "icu-list" in capsys.readouterr().out

    assert main(["--config", cfg, "collect", "--source", "icu-list"]) == 0
    code, doc = _status(cfg, capsys)
    assert code == 0 and doc["failing"] == []
