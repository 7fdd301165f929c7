"""Edits and deletions: recent posts re-checked; edits keep earlier versions, deletions hide."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from aggregator.cli import main
from aggregator.storage.archive_schema import post_versions
from aggregator.storage.db import open_database
from aggregator.storage.schema import posts
from tests.fakes.mastodon import TAG
from tests.ops.conftest import OpsFake, WriteConfig


def test_recheck_keeps_edits_and_hides_deletions(write_config: WriteConfig, fake: OpsFake,
                                                 db_url: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    statuses = fake.api.add_new(f"tag:{TAG}", 3)
    cfg = str(write_config())
    assert main(["--config", cfg, "collect"]) == 0
    edited, deleted, same = statuses
    edited["content"] = "<p>Correction: the dose is 5 mg, not 50 mg.</p>"
    edited["edited_at"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    timeline = fake.api.timelines[f"tag:{TAG}"]
    timeline.remove(deleted)

    capsys.readouterr()
    assert main(["--config", cfg, "recheck", "--limit", "10"]) == 0
    out = capsys.readouterr().out
    assert "checked 3: 1 edited, 1 deleted, 0 errors" in out  # only the recent ones
    assert len(fake.server.requests("/api/v1/statuses/")) == 3

    db = open_database(db_url)
    with db.engine.connect() as conn:
        rows = {r.key: r for r in conn.execute(select(posts))}
        versions = conn.execute(select(post_versions)).all()
    db.dispose()
    assert "5 mg" in rows[edited["uri"]].text and rows[edited["uri"]].edited_at is not None
    assert len(versions) == 1 and "Synthetic post" in versions[0].text  # the earlier text
    assert rows[deleted["uri"]].deleted_at is not None
    assert rows[same["uri"]].deleted_at is None and rows[same["uri"]].edited_at is None

    capsys.readouterr()
    assert main(["--config", cfg, "export"]) == 0
    keys = {json.loads(line)["key"] for line in capsys.readouterr().out.splitlines()}
    assert deleted["uri"] not in keys and edited["uri"] in keys  # deleted: hidden

    capsys.readouterr()  # a second round changes nothing more
    assert main(["--config", cfg, "recheck", "--limit", "10"]) == 0
    assert "0 edited, 0 deleted" in capsys.readouterr().out
