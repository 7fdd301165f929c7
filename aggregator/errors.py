"""One error tree for grandrounds. Library errors are translated once, at the boundary
(each network's ``api.py``, ``storage``), with ``raise ... from``::

    AggregatorError
      ConfigError          bad configuration file, flag or environment (exit 2)
      QueryError           a query string that does not parse (.position points at it)
      CollectorError       (network, message): one source failed, the others go on
        AuthError          token missing, invalid or revoked; a private list without a token
        NotFound           list, account or hashtag gone
        RateLimited        .retry_at: the server said to wait longer than we will
        TransientError     timeouts, connection errors, 5xx, bodies that are not JSON
        BudgetExhausted    an X account reached its max_reads_per_day
      StorageError         database unreachable, corrupt, or from a newer grandrounds
      CurationError        a bad handle, list name or import row
      OutputError          an output file that cannot be written (path and reason)

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
    def __init__(self, network: str, message: str) -> None:
        super().__init__(f"{network}: {message}")
        self.network = network
        self.message = message


class AuthError(CollectorError):
    pass


class NotFound(CollectorError):
    pass


class RateLimited(CollectorError):
    def __init__(self, network: str, message: str, retry_at: datetime | None = None) -> None:
        super().__init__(network, message)
        self.retry_at = retry_at


class TransientError(CollectorError):
    pass


class BudgetExhausted(CollectorError):
    pass


class StorageError(AggregatorError):
    pass


class CurationError(AggregatorError):
    pass


class OutputError(AggregatorError):
    """An output file or directory cannot be written (the path and the reason)."""
