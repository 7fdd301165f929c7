"""Fetching a post's conversation for the reader (`T`): the ThreadFetcher protocol and its
implementation over the ThreadService. Reading a stored conversation is the FeedReader's
`thread`; this is only the network side, built by the composition root (`rounds read`,
the demo) and handed to the reader like the Refresher.

A network that bills reads (X) is asked about first: `estimate` says what the fetch will
cost against the account's daily budget, and the reader asks the person before `fetch`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from aggregator.threads import ThreadService


@dataclass(frozen=True, slots=True)
class Estimate:
    """What fetching one conversation will cost, about, in billed reads."""

    account: str
    network: str
    reads: int
    today: int  # reads the account has spent today (UTC)
    budget: int | None  # its max_reads_per_day (None: no budget)

    def question(self) -> str:
        """One line to ask before fetching."""
        used = f"{self.today} of {self.budget}" if self.budget is not None else \
            f"{self.today}, no daily budget"
        where = "X" if self.network == "twitter" else self.network
        return (f"Fetch this conversation from {where}? About {self.reads} read"
                f"{'' if self.reads == 1 else 's'} ({used} used today by "
                f"{self.account}). y/n")


class ThreadFetcher(Protocol):
    def estimate(self, post_id: int) -> Estimate | None:
        """What fetching the post's conversation will cost; None: nothing billed, no need
        to ask. Reads the archive only, never the network.

        Raises:
            AggregatorError: one whole line: the fetch is refused (the daily budget would
                be exceeded, no account, no token) before any request.
        """
        ...

    def fetch(self, post_id: int) -> str:
        """Fetch the post's conversation and store it; one line saying what came.
        May block (network): the reader calls it from a thread worker.

        Raises:
            AggregatorError: one whole line a person can read (network, storage).
        """
        ...


class ServiceThreadFetcher:
    def __init__(self, service: ThreadService) -> None:
        self.service = service

    def estimate(self, post_id: int) -> Estimate | None:
        return self.service.estimate(post_id)

    def fetch(self, post_id: int) -> str:
        return self.service.fetch(post_id)
