"""Claims: at most one process collects a source at a time.

* SQLite (one machine): a non-blocking ``fcntl.flock`` on ``<db dir>/.locks/<source>.lock``.
  The operating system releases it when the process dies, so nothing goes stale.
* PostgreSQL (any number of hosts): a row claim. ``SELECT ... FOR UPDATE SKIP LOCKED`` on the
  source's row, then ``claimed_by``/``claim_expires_at`` are set: a lease renewed between
  pages and cleared at the end. A dead worker's lease expires and another worker takes
  the source over.

Leases are set and compared on the database server's clock (``now()``), not the worker's:
a worker whose clock jumps (NTP, an operator, a restored VM), or that runs on another host
with a skewed clock, neither steals a live claim nor holds a dead one for longer.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
import socket
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import Connection, and_, func, select, update
from sqlalchemy.engine import make_url

from aggregator.clock import Clock
from aggregator.errors import StorageError
from aggregator.storage.db import Database
from aggregator.storage.schema import sources

logger = logging.getLogger(__name__)
DEFAULT_LEASE = 300.0  # seconds; renewed after every page


def worker_id() -> str:
    """host:pid:random, unique per process (and per ClaimManager)."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Claim(Protocol):
    source_id: int

    def renew(self) -> bool:
        """Extend the claim; False when it was lost (another worker took it over)."""
        ...

    def release(self) -> None: ...


def _lock_name(source: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", source)[:60].strip(".") or "source"
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()[:10]
    return f"{slug}-{digest}.lock"


class FileClaim:
    def __init__(self, source_id: int, fh: IO[bytes]) -> None:
        self.source_id = source_id
        self._fh: IO[bytes] | None = fh

    def renew(self) -> bool:
        return self._fh is not None

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


class RowClaim:
    def __init__(self, manager: ClaimManager, source_id: int) -> None:
        self.source_id = source_id
        self._manager = manager
        self._held = True

    def renew(self) -> bool:
        if not self._held:
            return False
        m = self._manager
        with m.db.engine.begin() as conn:
            done = conn.execute(update(sources).where(and_(
                sources.c.id == self.source_id, sources.c.claimed_by == m.worker,
            )).values(claim_expires_at=_db_now(conn) + m.lease)).rowcount
        if not done:
            logger.warning("lost the claim on source %d (lease expired and taken over)",
                           self.source_id)
            self._held = False
        return bool(done)

    def release(self) -> None:
        if not self._held:
            return
        self._held = False
        m = self._manager
        try:
            with m.db.engine.begin() as conn:
                conn.execute(update(sources).where(and_(
                    sources.c.id == self.source_id, sources.c.claimed_by == m.worker,
                )).values(claimed_by=None, claim_expires_at=None))
        except StorageError as exc:  # the database went away: the lease runs out by itself
            logger.warning("claim on source %d not released (%s); it expires with its lease",
                           self.source_id, exc)


class ClaimManager:
    """Hands out claims on sources for one worker process."""

    def __init__(self, db: Database, clock: Clock, *, worker: str | None = None,
                 lease_seconds: float = DEFAULT_LEASE, lock_dir: Path | None = None) -> None:
        self.db = db
        self.clock = clock
        self.worker = worker or worker_id()
        self.lease = timedelta(seconds=lease_seconds)
        self.lock_dir = lock_dir
        if db.dialect == "sqlite" and lock_dir is None:
            self.lock_dir = sqlite_lock_dir(str(db.engine.url))

    def try_claim(self, source_id: int, name: str) -> Claim | None:
        """The claim on a source, or None when another worker holds it."""
        if self.db.dialect == "postgresql":
            return self._claim_row(source_id)
        return self._claim_file(source_id, name)

    def _claim_file(self, source_id: int, name: str) -> Claim | None:
        assert self.lock_dir is not None
        path = self.lock_dir / _lock_name(name)
        try:
            self.lock_dir.mkdir(parents=True, exist_ok=True)
            fh = path.open("ab")
        except OSError as exc:  # a file where the directory goes, a directory, no access
            raise StorageError(
                f"cannot use the lock file {path}: {exc.strerror or type(exc).__name__} "
                f"(lock files hold no data: move away what is in the way under "
                f"{self.lock_dir.parent})") from None
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            return None
        except BaseException:
            fh.close()
            raise
        return FileClaim(source_id, fh)

    def _claim_row(self, source_id: int) -> Claim | None:
        with self.db.engine.begin() as conn:
            now = _db_now(conn)
            row = conn.execute(
                select(sources.c.claimed_by, sources.c.claim_expires_at)
                .where(sources.c.id == source_id).with_for_update(skip_locked=True)
            ).first()
            if row is None:  # another worker is claiming it right now
                return None
            previous = row.claimed_by
            free = (previous is None or previous == self.worker
                    or row.claim_expires_at is None or row.claim_expires_at < now
                    or _dead_here(previous))
            if not free:
                return None
            conn.execute(update(sources).where(sources.c.id == source_id).values(
                claimed_by=self.worker, claim_expires_at=now + self.lease))
        if previous and previous != self.worker:
            logger.info("took over source %d from %s (its lease expired)", source_id, previous)
        return RowClaim(self, source_id)


def _db_now(conn: Connection) -> datetime:
    """The database server's time (one clock for every worker, whatever theirs say)."""
    value = conn.execute(select(func.now())).scalar_one()
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _dead_here(worker: str) -> bool:
    """A claim by a process of this host that no longer exists (killed, crashed): free
    at once, without waiting for its lease to expire."""
    host, _, rest = worker.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname()[:80] or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


def sqlite_lock_dir(url: str) -> Path:
    """<database directory>/.locks/<database file name>/ (a per-user temp dir for in-memory
    SQLite): one lock file per source."""
    path = make_url(url).database
    if not path or path == ":memory:":
        import tempfile

        return Path(tempfile.gettempdir()) / f"grandrounds-locks-{os.getuid()}"
    db_path = Path(path).expanduser().resolve()
    return db_path.parent / ".locks" / db_path.name
