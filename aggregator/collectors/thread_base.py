"""What the networks' conversation sources share: an api of their own, closed with them.

`ApiThreads[A]` holds the network's api wrapper (built by each sub-package's
`from_account`), closes it, and says reads are not billed (`estimate_reads` None); X, which
bills every read, overrides that. See `aggregator.collectors.base.ThreadSource`.
"""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar

from aggregator.collectors.base import ThreadRef


class _Closable(Protocol):
    def close(self) -> None: ...


A = TypeVar("A", bound=_Closable)


class ApiThreads(Generic[A]):
    def __init__(self, api: A) -> None:
        self.api = api

    def close(self) -> None:
        self.api.close()

    def estimate_reads(self, ref: ThreadRef) -> int | None:
        return None  # reads are not billed
