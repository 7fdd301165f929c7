"""Ops fixtures: a fake Mastodon on loopback (real time), configs pointing at it, and a
way to run `rounds` as a separate process (daemon, overlapping cron runs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from aggregator.clock import SystemClock
from aggregator.settings import load_settings
from aggregator.storage.db import open_database
from aggregator.storage.repository import Repository
from aggregator.storage.schema import runs, sources
from tests.fakes.mastodon import (
    ACCOUNT_ACCT,
    LIST_ID,
    TAG,
    TOKEN,
    FakeMastodon,
    MastodonFake,
)
from tests.fakes.server import LoopbackServer, Reply, Request

WriteConfig = Callable[..., Path]
ROOT = Path(__file__).resolve().parents[2]
LAUNCH = "import sys; from aggregator.cli import main; sys.exit(main())"


@dataclass
class OpsFake(MastodonFake):
    delay: float = 0.0  # seconds each timeline page takes, to make runs overlap

    def fill(self, timeline_key: str, count: int) -> set[str]:
        """`count` more statuses on a timeline; their keys (uris)."""
        return {s["uri"] for s in self.api.add_new(timeline_key, count)}

    def find(self, status_id: str) -> dict[str, Any] | None:
        for timeline in self.api.timelines.values():
            for status in timeline:
                if str(status["id"]) == status_id:
                    return status
        return None

    def all_keys(self, *timeline_keys: str) -> set[str]:
        return {s["reblog"]["uri"] if s.get("reblog") else s["uri"]
                for key in timeline_keys for s in self.api.timelines[key]}


@pytest.fixture
def fake() -> Iterator[OpsFake]:
    api = FakeMastodon()
    holder: list[OpsFake] = []

    def handle(req: Request) -> Reply:
        parts = req.path.rstrip("/").split("/")
        if parts[:4] == ["", "api", "v1", "statuses"] and len(parts) == 5:
            reply = api(req)  # rate-limit headers and token check as for any call
            if reply.status in (401, 429):
                return reply
            found = holder[0].find(parts[4])  # GET /api/v1/statuses/:id (re-check)
            if found is None:
                return Reply.json({"error": "Record not found"}, 404)
            headers = {k: v for k, v in reply.headers.items() if k.startswith("X-RateLimit")}
            return Reply(200, json.dumps(found).encode(),
                         {"Content-Type": "application/json; charset=utf-8", **headers})
        reply = api(req)
        if "/timelines/" in req.path or req.path.endswith("/statuses"):
            reply.delay = holder[0].delay
        return reply

    server = LoopbackServer(handle).start()
    holder.append(OpsFake(server, api, server.base_url))
    try:
        yield holder[0]
    finally:
        server.stop()


@pytest.fixture
def write_config(tmp_path: Path, db_url: str, fake: OpsFake,
                 monkeypatch: pytest.MonkeyPatch) -> WriteConfig:
    """rounds.toml with three sources (list, hashtag, user) on the fake."""
    monkeypatch.setenv("ROUNDS_MED_TOKEN", TOKEN)

    def write(every: str = "15m", name: str = "rounds.toml", url: str | None = None,
              extra: str = "", tags: int = 0) -> Path:
        """`tags` adds that many hashtag sources (tag0, tag1, ...) on timelines ops0, ..."""
        path = tmp_path / name
        blocks = [f'[database]\nurl = "{url or db_url}"\n',
                  f'[accounts.med]\nnetwork = "mastodon"\nbase_url = "{fake.base_url}"\n'
                  'token_env = "ROUNDS_MED_TOKEN"\n']
        for source, target in (("icu-list", f'list = "{LIST_ID}"'), ("tag", f'hashtag = "{TAG}"'),
                               ("someone", f'user = "{ACCOUNT_ACCT}"')):
            blocks.append(f'[[sources]]\nname = "{source}"\naccount = "med"\n{target}\n'
                          f'every = "{every}"\n')
        for i in range(tags):
            blocks.append(f'[[sources]]\nname = "tag{i}"\naccount = "med"\nhashtag = "ops{i}"\n'
                          f'every = "{every}"\n')
        path.write_text("\n".join(blocks) + extra, encoding="utf-8")
        path.chmod(0o600)
        return path

    return write


def spawn(cfg: Path, *args: str, log: Path | None = None) -> subprocess.Popen[bytes]:
    """`rounds --config cfg ARGS` as a child process (inherits the test environment)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = log.open("wb") if log else subprocess.DEVNULL
    return subprocess.Popen([sys.executable, "-c", LAUNCH, "--config", str(cfg), *args],
                            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def run_rows(url: str) -> list[tuple[str, object, object, str]]:
    """(source name, started_at, finished_at, outcome) for every run, oldest first."""
    db = open_database(url)
    try:
        with db.engine.connect() as conn:
            return [(r.name, r.started_at, r.finished_at, r.outcome) for r in conn.execute(
                select(sources.c.name, runs.c.started_at, runs.c.finished_at, runs.c.outcome)
                .join(sources, sources.c.id == runs.c.source_id).order_by(runs.c.id))]
    finally:
        db.dispose()


def register_sources(cfg: Path, url: str) -> None:
    """The sources' rows, as the first collect makes them (`rounds sources` only reads)."""
    db = open_database(url)
    try:
        Repository(db, SystemClock()).sync_sources(load_settings(str(cfg), {}))
    finally:
        db.dispose()
