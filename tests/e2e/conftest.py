"""End-to-end fixtures: a fake Mastodon on loopback and a config file pointing at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fakes.mastodon import (
    ACCOUNT_ACCT,
    LIST_ID,
    TAG,
    TOKEN,
    MastodonFake,
    serve_fake_mastodon,
)

WriteConfig = Callable[..., Path]


@pytest.fixture
def fake_mastodon() -> Iterator[MastodonFake]:
    yield from serve_fake_mastodon()


@pytest.fixture
def write_config(tmp_path: Path, db_url: str, fake_mastodon: MastodonFake,
                 monkeypatch: pytest.MonkeyPatch) -> WriteConfig:
    """Write a rounds.toml with three sources (list, hashtag, user) on the fake."""
    monkeypatch.setenv("ROUNDS_MED_TOKEN", TOKEN)

    def write(extra: str = "", backfill: int = 200) -> Path:
        path = tmp_path / "rounds.toml"
        path.write_text(f"""
[database]
url = "{db_url}"

[accounts.med]
network = "mastodon"
base_url = "{fake_mastodon.base_url}"
token_env = "ROUNDS_MED_TOKEN"

[[sources]]
name = "icu-list"
account = "med"
list = "{LIST_ID}"
backfill = {backfill}
topics = ["pulm_critcare"]

[[sources]]
name = "tag"
account = "med"
hashtag = "{TAG}"
backfill = {backfill}

[[sources]]
name = "someone"
account = "med"
user = "{ACCOUNT_ACCT}"
backfill = {backfill}
{extra}
""")
        path.chmod(0o600)
        return path

    return write
