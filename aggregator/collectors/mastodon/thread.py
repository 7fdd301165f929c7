"""A status's conversation on Mastodon: GET /api/v1/statuses/:id/context, normalized.

The context answer lists ancestors (root first) and descendants; what the server will not
show (a deleted parent, one the account may not see) is simply missing, so a post whose
``in_reply_to_id`` names a status absent from the answer marks that parent as a gap
("unavailable": Mastodon does not say which of the two it was).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from aggregator.clock import Clock
from aggregator.collectors.base import FetchedThread, ThreadRef
from aggregator.collectors.mastodon.api import MastodonApi
from aggregator.collectors.mastodon.normalize import AuthorCache, normalize_statuses
from aggregator.collectors.retry import RateBudget, RetryPolicy
from aggregator.collectors.thread_base import ApiThreads
from aggregator.models import Network
from aggregator.settings import AccountSettings


class MastodonThreads(ApiThreads[MastodonApi]):
    network: ClassVar[Network] = "mastodon"

    def __init__(self, api: MastodonApi) -> None:
        super().__init__(api)
        self.authors = AuthorCache(local_domain=api.local_domain)

    @classmethod
    def from_account(cls, account: AccountSettings, environ: Mapping[str, str], clock: Clock,
                     *, policy: RetryPolicy | None = None, budget: RateBudget | None = None,
                     timeout: float = 30.0) -> MastodonThreads:
        return cls(MastodonApi.from_account(account, environ, clock, policy=policy,
                                            budget=budget, timeout=timeout))

    def fetch_thread(self, ref: ThreadRef) -> FetchedThread:
        before = self.api.requests
        ancestors, descendants = self.api.fetch_context(ref.remote_id)
        posts = normalize_statuses(ancestors + descendants, self.authors)
        shown = {p.remote_id for p in posts} | {ref.remote_id}
        gaps = tuple(dict.fromkeys(
            (p.reply_to_id, "unavailable") for p in posts
            if p.reply_to_id and p.reply_to_id not in shown))
        return FetchedThread(tuple(posts), gaps, requests=self.api.requests - before)
