"""`rounds db copy` SQLite -> PostgreSQL, and claims between workers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update

from aggregator.cli import main
from aggregator.clock import ManualClock
from aggregator.locking import ClaimManager
from aggregator.storage.db import Database, open_database
from aggregator.storage.schema import metadata, posts, sources
from tests.conftest import _pg_schema_url
from tests.fakes.mastodon import TAG
from tests.ops.conftest import OpsFake, WriteConfig


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from _pg_schema_url()


def _counts(url: str) -> dict[str, int]:
    db = open_database(url)
    try:
        with db.engine.connect() as conn:
            return {t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                    for t in metadata.sorted_tables}
    finally:
        db.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_db_copy_sqlite_to_postgresql(write_config: WriteConfig, fake: OpsFake, db_url: str,
                                      pg_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = str(write_config())
    assert main(["--config", cfg, "collect"]) == 0
    before = _counts(db_url)
    assert before["posts"] > 0 and before["runs"] == 3
    capsys.readouterr()
    assert main(["--config", cfg, "db", "copy", "--to", pg_url, "--batch", "4"]) == 0
    assert "MISMATCH" not in capsys.readouterr().out
    assert _counts(pg_url) == before

    # the copy is a working archive: search works, and collection goes on from the cursors
    assert main(["--config", cfg, "--database-url", pg_url, "export", "-o",
                 str(Path(cfg).parent / "pg.jsonl")]) == 0
    fresh = fake.fill(f"tag:{TAG}", 3)
    assert main(["--config", cfg, "--database-url", pg_url, "collect"]) == 0
    db = open_database(pg_url)
    with db.engine.connect() as conn:
        keys = {r[0] for r in conn.execute(select(posts.c.key))}
    db.dispose()
    assert fresh <= keys and len(keys) == before["posts"] + 3

    capsys.readouterr()  # a second copy into the same, now full, database is refused
    assert main(["--config", cfg, "db", "copy", "--to", pg_url]) == 1
    assert "not empty" in capsys.readouterr().err


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_db_copy_into_sqlite_indexes_every_post_for_full_text(
        write_config: WriteConfig, db_url: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    cfg = str(write_config())
    assert main(["--config", cfg, "collect"]) == 0
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    assert main(["--config", cfg, "db", "copy", "--to", target, "--batch", "4"]) == 0
    assert "MISMATCH" not in capsys.readouterr().out

    def indexed(url: str) -> list[tuple[int, int]]:  # (rowid, matches of its first word)
        db = open_database(url)
        try:
            with db.engine.connect() as conn:
                rows = conn.execute(select(posts.c.id, posts.c.text)).all()
                return [(pid, len(conn.execute(
                    text("SELECT rowid FROM posts_fts WHERE posts_fts MATCH :w"),
                    {"w": '"' + body.split()[0].replace('"', '""') + '"'}).all()))
                    for pid, body in rows if body.split()]
        finally:
            db.dispose()

    assert indexed(target) == indexed(db_url) and len(indexed(target)) > 1


@pytest.fixture
def registered(db: Database) -> int:
    with db.engine.begin() as conn:
        return int(conn.execute(sources.insert().values(
            name="a/b source", network="mastodon", account="med", kind="hashtag", value="x",
            consecutive_failures=0)).inserted_primary_key[0])  # type: ignore[index]


def test_one_claim_at_a_time_then_free_again(db: Database, registered: int,
                                             tmp_path: Path) -> None:
    clock = ManualClock()
    one = ClaimManager(db, clock, worker="one", lease_seconds=60)
    two = ClaimManager(db, clock, worker="two", lease_seconds=60)
    held = one.try_claim(registered, "a/b source")
    assert held is not None
    assert two.try_claim(registered, "a/b source") is None
    assert held.renew()
    held.release()
    again = two.try_claim(registered, "a/b source")
    assert again is not None
    again.release()


def _expire_lease_by(db: Database, source_id: int, seconds: float) -> None:
    """The lease runs out on the database's clock (as if `seconds` passed there)."""
    with db.engine.begin() as conn:
        expires = conn.execute(select(sources.c.claim_expires_at)
                               .where(sources.c.id == source_id)).scalar_one()
        conn.execute(update(sources).where(sources.c.id == source_id).values(
            claim_expires_at=expires - timedelta(seconds=seconds)))


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # SQLite: OS file locks
def test_an_expired_lease_is_taken_over_and_the_old_holder_notices(
        db: Database, registered: int) -> None:
    clock = ManualClock()
    dead = ClaimManager(db, clock, worker="dead", lease_seconds=60)
    alive = ClaimManager(db, clock, worker="alive", lease_seconds=60)
    stale = dead.try_claim(registered, "s")
    assert stale is not None
    _expire_lease_by(db, registered, 30)
    assert alive.try_claim(registered, "s") is None  # lease still running
    _expire_lease_by(db, registered, 31)
    taken = alive.try_claim(registered, "s")
    assert taken is not None
    assert not stale.renew()  # the old holder learns it lost the source and stops
    stale.release()  # and cannot release the new holder's claim
    with db.engine.connect() as conn:
        row = conn.execute(select(sources).where(sources.c.id == registered)).one()
        db_now = conn.execute(select(func.now())).scalar_one()
    assert row.claimed_by == "alive"
    lease = (row.claim_expires_at - db_now).total_seconds()
    assert 55 <= lease <= 61, lease  # the database's now + the lease
    taken.release()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_workers_clock_jump_neither_steals_a_live_lease_nor_shortens_its_own(
        db: Database, registered: int) -> None:
    """Issue 18 item 4: leases are on the database's clock. A worker whose clock runs a
    day ahead does not take over a claim renewed a moment ago; a holder whose clock went
    back an hour still holds a full lease (it used to be 'expired' to everyone else)."""
    holder_clock, ahead = ManualClock(), ManualClock()
    holder = ClaimManager(db, holder_clock, worker="holder", lease_seconds=60)
    other = ClaimManager(db, ahead, worker="other", lease_seconds=60)
    held = holder.try_claim(registered, "s")
    assert held is not None
    ahead.jump(86400)
    assert other.try_claim(registered, "s") is None
    holder_clock.jump(-3600)
    assert held.renew()
    assert other.try_claim(registered, "s") is None
    held.release()
    taken = other.try_claim(registered, "s")
    assert taken is not None
    taken.release()
