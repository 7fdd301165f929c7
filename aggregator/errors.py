"""One error tree for grandrounds. Library errors are translated once, at the boundary
(each network's ``api.py``, ``storage``), with ``raise ... from``::

    AggregatorError
      ConfigError          bad configuration file, flag or environment (exit 2)
      QueryError           a query string that does not parse (.position points at it)
      CollectorError       (network, message, status=, endpoint=, retry_after=): one source
        |                  failed, the others go on. Code decides on the TYPE, never the text.
        AuthError          a credential problem
          AuthMissing      no token/key configured (the message names the variable or file)
          AuthRejected     the server refused the credential (401/403)
        NotFound           list, account or hashtag gone (404/410, or a 200 saying so)
        RateLimited        .retry_at: the server said to wait longer than we will (429)
        CursorTooOld       the saved cursor is outside what the server accepts (X since_id)
        TransientError     5xx, bodies that are not JSON: worth a retry
          Unreachable      DNS failure, refused or reset connection, timeout
        BudgetExhausted    an X account reached its max_reads_per_day
      StorageError         database unreachable, corrupt, or from a newer grandrounds
        DatabaseUnavailable  the server cannot be reached or dropped the connection
        DatabaseBusy       SQLite: another process held the lock past the busy timeout
        DiskFull           no space left where the database lives
      CurationError        a bad handle, list name or import row
      OutputError          an output file that cannot be written (path and reason)
      InputError           an import file that cannot be read, or a malformed line or member
                           in it (.position: FILE:LINE or ARCHIVE:MEMBER)
      MediaError           an image that cannot be fetched, is too large or does not decode

Messages never contain secrets: tokens are not formatted into them anywhere.
"""

from __future__ import annotations

from datetime import datetime


class AggregatorError(Exception):
    """Base of every error grandrounds raises on purpose."""


class ConfigError(AggregatorError):
    """The configuration is wrong. The message names the file, the key and the problem."""


class QueryError(AggregatorError):
    def __init__(self, message: str, position: int = 0, token: str = "") -> None:
        super().__init__(message)
        self.position = position
        self.token = token


class CollectorError(AggregatorError):
    """One source failed. `status` is the HTTP status when there was an answer, `endpoint`
    the request path (no query: ids, never tokens), `retry_after` seconds when the server
    said. Raised by each network's ``api.py``; callers branch on the subclass."""

    def __init__(self, network: str, message: str, *, status: int | None = None,
                 endpoint: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(f"{network}: {message}")
        self.network = network
        self.message = message
        self.status = status
        self.endpoint = endpoint
        self.retry_after = retry_after


class AuthError(CollectorError):
    pass


class AuthMissing(AuthError):
    """No credential configured: the fix is to set the named variable or file."""


class AuthRejected(AuthError):
    """The server refused the credential we sent (wrong, revoked, not enough scope)."""


class NotFound(CollectorError):
    pass


class RateLimited(CollectorError):
    def __init__(self, network: str, message: str, retry_at: datetime | None = None, *,
                 status: int | None = 429, endpoint: str | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(network, message, status=status, endpoint=endpoint,
                         retry_after=retry_after)
        self.retry_at = retry_at


class CursorTooOld(CollectorError):
    """The server refuses the saved cursor as too old; read back to it without one."""


class TransientError(CollectorError):
    pass


class Unreachable(TransientError):
    """No HTTP answer at all: name not found, connection refused or reset, timeout."""


class BudgetExhausted(CollectorError):
    pass


class StorageError(AggregatorError):
    pass


class DatabaseUnavailable(StorageError):
    """The database server cannot be reached, or it dropped the connection (restart,
    failover, network): worth trying again later; nothing of the failed page was kept.
    `reason` is the driver's own words ("connection refused")."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason or message


class DatabaseBusy(StorageError):
    """SQLite: another process held the write lock longer than the busy timeout."""


class DiskFull(StorageError):
    """No space left for the database (SQLITE_FULL, ENOSPC, PostgreSQL's disk_full): the
    transaction in flight was rolled back; the message names the path."""


class ArchiveMissing(StorageError):
    """A command that only reads found no archive (no file, or an empty database)."""


class ArchiveOutdated(StorageError):
    """A command that only reads found an archive at an older schema; it never migrates."""


class CurationError(AggregatorError):
    pass


class OutputError(AggregatorError):
    """An output file or directory cannot be written (the path and the reason)."""


class InputError(AggregatorError):
    """An import input that cannot be read or holds a malformed item. The message starts
    with `position` (``posts.jsonl:17``, ``archive.zip:data/tweets.js item 3``)."""

    def __init__(self, position: str, reason: str) -> None:
        super().__init__(f"{position}: {reason}")
        self.position = position
        self.reason = reason

    def __reduce__(self) -> tuple[type[InputError], tuple[str, str]]:
        return type(self), (self.position, self.reason)  # it crosses from import workers


class MediaError(AggregatorError):
    """A post's image could not be shown: refused URL, too large, HTTP failure, not an
    image, or one that does not decode. The message is one line naming the reason."""
