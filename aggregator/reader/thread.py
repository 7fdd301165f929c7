"""Fetching a post's conversation for the reader (`T`): the ThreadFetcher protocol and its
implementation over the ThreadService. Reading a stored conversation is the FeedReader's
`thread`; this is only the network side, built by the composition root (`rounds read`,
the demo) and handed to the reader like the Refresher."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from aggregator.threads import ThreadService


class ThreadFetcher(Protocol):
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

    def fetch(self, post_id: int) -> str:
        return self.service.fetch(post_id)
