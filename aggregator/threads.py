"""The thread service: fetch one post's conversation on demand and store it as context.

Like the collect service it sits between a network's ThreadSource (a pure producer, built
per account by the registry) and storage: the fetched posts are stored with
`posts.context` set (searchable, exported with --context, in no view or unread count), and
the fetch is remembered, so the conversation opens from the archive next time, offline.

The account used is one whose source brought the post (its server knows the post's
remote id: Mastodon ids are per server); a post no source brought falls back to the first
configured account of its network.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import cast

from aggregator.clock import Clock
from aggregator.collectors.base import ThreadRef, ThreadSource
from aggregator.collectors.registry import NO_THREADS
from aggregator.errors import CollectorError
from aggregator.models import NETWORKS, Network
from aggregator.settings import AccountSettings, Settings
from aggregator.storage.repository import Repository
from aggregator.storage.threads import post_origin, save_context

logger = logging.getLogger(__name__)

ThreadSourceFactory = Callable[[AccountSettings], ThreadSource]


class ThreadService:
    def __init__(self, settings: Settings, repo: Repository, make_source: ThreadSourceFactory,
                 clock: Clock) -> None:
        self.settings = settings
        self.repo = repo
        self.make_source = make_source
        self.clock = clock
        self._sources: dict[str, ThreadSource] = {}

    def _account(self, network: str, brought_by: tuple[str, ...]) -> AccountSettings:
        for name in brought_by:
            account = self.settings.accounts.get(name)
            if account is not None and account.network == network:
                return account
        for account in self.settings.accounts.values():
            if account.network == network:
                return account
        raise CollectorError(network, f"no {network} account is configured to fetch the "
                                      "conversation with")

    def fetch(self, post_id: int) -> str:
        """Fetch and store the conversation of post `post_id`; one line saying what came.

        Raises:
            CollectorError: the network refused, failed, or has no conversations (X).
            StorageError: no such post, or the archive cannot be written.
        """
        origin = post_origin(self.repo.db, post_id)
        if origin.network in NO_THREADS:
            raise CollectorError(origin.network, NO_THREADS[cast(Network, origin.network)])
        if origin.network not in NETWORKS:
            raise CollectorError(origin.network, "no conversations on this network")
        network = cast(Network, origin.network)
        account = self._account(network, origin.accounts)
        source = self._sources.get(account.name)
        if source is None:
            source = self._sources[account.name] = self.make_source(account)
        fetched = source.fetch_thread(ThreadRef(network, origin.key, origin.remote_id,
                                                origin.url))
        others = [p for p in fetched.posts if p.key != origin.key]
        new = save_context(self.repo, post_id, others, fetched.gaps)
        logger.info("conversation of post %d via %s: %d posts (%d new), %d unavailable",
                    post_id, account.name, len(others), new, len(fetched.gaps))
        gone = f", {len(fetched.gaps)} unavailable" if fetched.gaps else ""
        return (f"conversation fetched: {len(others)} other post"
                f"{'' if len(others) == 1 else 's'} ({new} new){gone}")

    def close(self) -> None:
        for source in self._sources.values():
            source.close()
        self._sources.clear()
