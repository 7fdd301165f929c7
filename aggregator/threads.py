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
from dataclasses import replace
from typing import cast

from aggregator.clock import Clock
from aggregator.collectors.base import ThreadRef, ThreadSource
from aggregator.collectors.registry import NO_THREADS
from aggregator.errors import BudgetExhausted, CollectorError
from aggregator.models import NETWORKS, Network
from aggregator.reader.thread import Estimate
from aggregator.settings import AccountSettings, Settings
from aggregator.storage.repository import Repository
from aggregator.storage.threads import ThreadCost, post_origin, save_context

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

    def _prepare(self, post_id: int) -> tuple[AccountSettings, ThreadSource, ThreadRef]:
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
        ref = ThreadRef(network, origin.key, origin.remote_id, origin.url, raw=origin.raw,
                        replies=origin.reply_count)
        return account, source, ref

    def _cost(self, account: AccountSettings, source: ThreadSource,
              ref: ThreadRef) -> Estimate | None:
        """What the fetch will cost; BudgetExhausted when it would pass the daily budget."""
        reads = source.estimate_reads(ref)
        if reads is None:
            return None
        today = self.repo.reads_since(account.name, self.repo.start_of_day())
        budget = account.max_reads_per_day
        if budget is not None and today + reads > budget:
            raise BudgetExhausted(
                account.network,
                f"this conversation costs about {reads} reads and account "
                f"{account.name!r} has used {today} of its max_reads_per_day ({budget}) "
                "today (UTC)")
        return Estimate(account.name, account.network, reads, today, budget)

    def estimate(self, post_id: int) -> Estimate | None:
        """What fetching post `post_id`'s conversation will cost (None: nothing billed).

        Raises:
            BudgetExhausted: it would pass the account's max_reads_per_day.
            CollectorError: no account or no conversations on the network.
            StorageError: no such post.
        """
        return self._cost(*self._prepare(post_id))

    def fetch(self, post_id: int) -> str:
        """Fetch and store the conversation of post `post_id`; one line saying what came.
        Where reads are billed (X) the daily budget is checked before any request, the
        fetch spends no more than what is left of it, and what it read is recorded.

        Raises:
            BudgetExhausted: it would pass the account's max_reads_per_day (nothing sent).
            CollectorError: the network refused, failed, or has no conversations (feeds).
            StorageError: no such post, or the archive cannot be written.
        """
        account, source, ref = self._prepare(post_id)
        cost = self._cost(account, source, ref)
        if cost is not None and cost.budget is not None:
            ref = replace(ref, read_limit=cost.budget - cost.today)
        fetched = source.fetch_thread(ref)
        others = [p for p in fetched.posts if p.key != ref.key]
        new = save_context(self.repo, post_id, others, fetched.gaps, ThreadCost(
            account.name, fetched.items_read, fetched.users_read, fetched.requests))
        logger.info("conversation of post %d via %s: %d posts (%d new), %d unavailable, "
                    "%d reads", post_id, account.name, len(others), new, len(fetched.gaps),
                    fetched.items_read + fetched.users_read)
        gone = f", {len(fetched.gaps)} unavailable" if fetched.gaps else ""
        spent = fetched.items_read + fetched.users_read
        billed = f", {spent} read{'' if spent == 1 else 's'}" if cost is not None else ""
        notes = "".join(f" · {n}" for n in fetched.notes)
        return (f"conversation fetched: {len(others)} other post"
                f"{'' if len(others) == 1 else 's'} ({new} new){gone}{billed}{notes}")

    def close(self) -> None:
        for source in self._sources.values():
            source.close()
        self._sources.clear()
