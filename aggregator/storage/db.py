"""Open a database: make the engine, set SQLite pragmas, migrate, refuse what we can't read.

SQLite runs in WAL mode with a busy timeout (30 s; `?timeout=SECONDS` in the URL changes
it) so the reader can read while a collector writes. A fresh database is migrated on first
use; a database written by a newer grandrounds, or a file that is not ours, is refused
before anything is changed.

Commands that only read open with `open_existing`: it never creates a file, a directory
or a table, and never migrates (a read against a shared PostgreSQL database once created
18 tables in it); a missing or older archive is a one-line error that says what to run.

Every engine translates, at this boundary, the database failures an operator must act on
into our error tree (aggregator.errors): a full disk (SQLITE_FULL, PostgreSQL's disk_full)
is DiskFull naming the path, a SQLite lock held past the busy timeout is DatabaseBusy, a
server that refuses or drops connections is DatabaseUnavailable. Each is one readable
line; the transaction in flight was rolled back. The pool's pre-ping is left alone, so a
PostgreSQL connection dropped while idle is replaced without anyone noticing.
"""

from __future__ import annotations

import fcntl
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, ExceptionContext, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from aggregator.errors import (
    ArchiveMissing,
    ArchiveOutdated,
    DatabaseBusy,
    DatabaseUnavailable,
    DiskFull,
    StorageError,
)

logger = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"
BUSY_TIMEOUT_MS = 30_000
_PG_LOCK = 0x67726E64  # "grnd": the advisory lock held while migrating


@dataclass(frozen=True, slots=True)
class Database:
    engine: Engine
    url: str  # with any password masked, safe to print

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def dispose(self) -> None:
        self.engine.dispose()


PAGE_SIZE = 8192


def _sqlite_pragmas(create: bool, busy_ms: int) -> Callable[[Any, Any], None]:
    def pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {busy_ms}")
        # Switching to WAL rewrites the file header: only in one of ours, or an empty one we
        # may create, so that a foreign or an empty file is left without a byte changed.
        tables = {r[0] for r in
                  cur.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if create and not tables:
            # Before the first write fixes it: rows of ~1 KB (a post with its compressed raw
            # JSON) left 12% of each 4 KB page empty; 8 KB pages leave 6% (bench archive:
            # -75 bytes a post). An existing archive keeps its page size.
            cur.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        if "alembic_version" in tables or (create and not tables):
            _enter_wal(cur, busy_ms)
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()
    return pragmas


def _enter_wal(cur: Any, busy_ms: int) -> None:
    """Switch to WAL, waiting out another process that is switching the same new file:
    SQLite answers that race with SQLITE_BUSY at once, without calling the busy handler
    (four processes opening a new archive together failed one time in fifteen)."""
    deadline = time.monotonic() + busy_ms / 1000
    while True:
        try:
            cur.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
            if code not in (_SQLITE_BUSY, _SQLITE_LOCKED) or time.monotonic() >= deadline:
                raise
            time.sleep(0.005)


def _sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for other databases and in-memory ones."""
    parsed = make_url(url)
    path = parsed.database
    if parsed.get_backend_name() != "sqlite" or not path or path == ":memory:":
        return None
    return Path(path).expanduser()


_PG_DRIVER = "postgresql+psycopg"
_PG_SCHEMES = ("postgres", "postgresql")  # as libpq, Heroku and most tools write them


def parse_database_url(url: str) -> URL:
    """The URL as SQLAlchemy should load it: `postgres://` and `postgresql://` mean
    PostgreSQL through psycopg 3 (SQLAlchemy would look for a `postgres` plugin, or
    psycopg2, which we do not install)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StorageError(
            f"not a database URL: {url!r} (expected sqlite:///PATH or postgresql://...)"
        ) from None
    if parsed.drivername in _PG_SCHEMES:
        parsed = parsed.set(drivername=_PG_DRIVER)
    return parsed


def _busy_ms(parsed: URL) -> int:
    """SQLite's busy timeout: `?timeout=SECONDS` in the URL, else BUSY_TIMEOUT_MS."""
    value = parsed.query.get("timeout")
    if value is None:
        return BUSY_TIMEOUT_MS
    try:
        seconds = float(value if isinstance(value, str) else value[-1])
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 86_400:
        raise StorageError(f"timeout={value!r} in the SQLite URL: expected seconds (0-86400)")
    return round(seconds * 1000)


# SQLite's primary result codes (the low byte of an extended code) and PostgreSQL's SQLSTATE
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_FULL = 5, 6, 13
_PG_DISK_FULL = "53100"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _translate_errors(url: str, busy_ms: int) -> Callable[[ExceptionContext], Exception | None]:
    """A `handle_error` hook: the failures an operator must act on, as our errors."""
    path = _sqlite_path(url)
    where = str(path) if path else make_url(url).render_as_string(hide_password=True)

    def translate(ctx: ExceptionContext) -> Exception | None:
        if ctx.is_pre_ping:  # a dead pooled connection: the pool replaces it by itself
            return None
        orig = ctx.original_exception
        if not isinstance(orig, Exception):  # Ctrl-C, SIGTERM, exit: not the database's
            # SQLAlchemy closes the connection next; a statement left open by the interrupt
            # would keep a SQLite connection (and its write lock) alive until the
            # traceback is gone: the interrupted import then waited 30 s on its own lock
            # to record the run.
            cursor = getattr(ctx.execution_context, "cursor", None)
            if cursor is not None and ctx.dialect.name == "sqlite":
                with suppress(Exception):
                    cursor.close()
            return None
        reason = _first_line(orig)
        code = getattr(orig, "sqlite_errorcode", None)
        if isinstance(code, int):
            if code & 0xFF == _SQLITE_FULL:
                return DiskFull(f"disk full at {where} ({reason}): the change in progress "
                                "was rolled back; free some space")
            if code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED):
                return DatabaseBusy(
                    f"database {where} is locked by another process (waited "
                    f"{busy_ms / 1000:g} s); the change in progress was rolled back")
            return None
        if getattr(orig, "sqlstate", None) == _PG_DISK_FULL:
            return DiskFull(f"disk full at the database server ({where}): {reason}")
        dbapi = ctx.dialect.loaded_dbapi
        if ctx.is_disconnect or (ctx.connection is None
                                 and isinstance(orig, dbapi.OperationalError)):
            return DatabaseUnavailable(f"database {where} unreachable: {reason}", reason)
        return None

    return translate


def make_engine(url: str, *, create: bool = True) -> Engine:
    """The engine for `url`; `create=False` leaves a missing SQLite directory uncreated."""
    parsed = parse_database_url(url)
    kwargs: dict[str, Any] = {}
    busy_ms = BUSY_TIMEOUT_MS
    if parsed.get_backend_name() == "sqlite":
        path = _sqlite_path(url)
        if path is not None and create:
            path.parent.mkdir(parents=True, exist_ok=True)
        busy_ms = _busy_ms(parsed)
        kwargs["connect_args"] = {"timeout": busy_ms / 1000}
    elif parsed.get_backend_name() == "postgresql":
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(parsed, **kwargs)
    except ImportError:
        if parsed.get_backend_name() == "postgresql":
            raise StorageError("PostgreSQL needs the psycopg driver: "
                               "pip install 'grandrounds[postgres]'") from None
        raise StorageError(f"unsupported database URL {parsed!r}: missing driver") from None
    except NoSuchModuleError as exc:
        raise StorageError(f"unsupported database URL {parsed!r}: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas(create, busy_ms))
    event.listen(engine, "handle_error", _translate_errors(url, busy_ms))
    return engine


def _alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def schema_revisions(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def schema_revision(engine: Engine) -> str | None:
    """The database's schema revision(s), comma-separated; None for an empty database."""
    return ",".join(sorted(schema_revisions(engine))) or None


def head_revisions() -> set[str]:
    return set(ScriptDirectory(str(MIGRATIONS)).get_heads())


def head_revision() -> str:
    return ",".join(sorted(head_revisions()))


def open_database(url: str, *, migrate: bool = True) -> Database:
    """Connect, check that the database is ours and not from the future, and migrate.

    Raises:
        StorageError: unreachable server, not a database, a foreign database, or a schema
            newer than this version of grandrounds knows.
    """
    engine = make_engine(url)
    shown = make_url(url).render_as_string(hide_password=True)
    try:
        current = _check(engine, shown)
        if migrate and current != head_revisions():
            # Several processes may open a new database at once (cron's first minute,
            # daemons on several hosts): one migrates, the others wait, then re-check.
            with _migration_lock(engine):
                if _check(engine, shown, locked=True) != head_revisions():
                    upgrade(engine)
    except DBAPIError as exc:
        engine.dispose()
        raise StorageError(f"cannot open database {shown}: {_reason(exc)}") from None
    except DatabaseUnavailable as exc:
        engine.dispose()
        raise DatabaseUnavailable(f"cannot open database {shown}: {exc.reason}",
                                  exc.reason) from None
    except StorageError:
        engine.dispose()
        raise
    return Database(engine, shown)


def open_existing(url: str) -> Database:
    """Open an archive that already exists at the schema this grandrounds writes, for
    commands that only read: nothing is created (no file, directory or table) or migrated.

    Raises:
        StorageError: no archive there yet (run `rounds collect`), an older schema (run
            `rounds db upgrade`), or whatever `open_database` refuses.
    """
    engine = make_engine(url, create=False)  # refuses what is not a URL; connects later
    path = _sqlite_path(url)
    shown = make_url(url).render_as_string(hide_password=True)
    missing = f"no archive yet at {path or shown} — run `rounds collect`"
    try:
        if path is not None and not path.is_file():
            raise ArchiveMissing(missing)
        current = _check(engine, shown)
    except DBAPIError as exc:
        engine.dispose()
        raise StorageError(f"cannot open database {shown}: {_reason(exc)}") from None
    except DatabaseUnavailable as exc:
        engine.dispose()
        raise DatabaseUnavailable(f"cannot open database {shown}: {exc.reason}",
                                  exc.reason) from None
    except StorageError:
        engine.dispose()
        raise
    if current != head_revisions():
        engine.dispose()
        if not current:
            raise ArchiveMissing(missing)
        raise ArchiveOutdated(f"the archive at {path or shown} needs an upgrade "
                           "— run `rounds db upgrade`")
    return Database(engine, shown)


def _reason(exc: DBAPIError) -> str:
    return str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__


def _check(engine: Engine, shown: str, *, locked: bool = False) -> set[str]:
    """The database's revisions, after refusing a newer or a foreign schema."""
    current = schema_revisions(engine)
    known = {s.revision for s in ScriptDirectory(str(MIGRATIONS)).walk_revisions()}
    if current - known:
        raise StorageError(
            f"database {shown} was written by a newer grandrounds "
            f"(schema {', '.join(sorted(current - known))}); "
            "upgrade grandrounds to use it. Nothing was changed."
        )
    if not current:
        tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
        if tables and not locked:
            # Tables but no revision: another process may be migrating it right now.
            with _migration_lock(engine):
                current = schema_revisions(engine)
        if tables and not current:
            raise StorageError(
                f"database {shown} holds tables that are not grandrounds' "
                f"({', '.join(sorted(tables)[:5])}); refusing to touch it"
            )
    return current


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """Held while migrating: an advisory lock on PostgreSQL, a lock file beside SQLite's."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK})
                conn.commit()
        return
    path = engine.url.database
    if engine.dialect.name != "sqlite" or not path or path == ":memory:":
        yield
        return
    with open(f"{path}.migrate.lock", "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def upgrade(engine: Engine, revision: str = "heads") -> None:
    try:
        command.upgrade(_alembic_config(engine), revision)
    except SQLAlchemyError as exc:
        raise StorageError(f"migration failed: {exc}") from exc
