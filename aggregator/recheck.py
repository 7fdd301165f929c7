"""Edits and deletions: re-check recent posts at a low rate.

Posts created within `settings.recheck_hours` (default 48) are fetched again a few at a
time, round-robin by id (the position is kept in app_state, so every recent post gets
its turn across runs). An edit replaces the text and keeps the earlier version in
`post_versions`; a post the server no longer has is marked deleted (`deleted_at`), which
hides it from export and the reader, out of respect for its author's choice.

Mastodon only: on X every read is billed, so X posts are not re-checked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from aggregator.clock import Clock
from aggregator.collectors.mastodon.api import MastodonApi
from aggregator.collectors.mastodon.normalize import normalize_status
from aggregator.errors import CollectorError, NotFound
from aggregator.settings import AccountSettings, Settings
from aggregator.storage.repository import Repository

logger = logging.getLogger(__name__)
CURSOR_KEY = "recheck.last_post_id"

MakeApi = Callable[[AccountSettings], MastodonApi]


@dataclass
class RecheckResult:
    checked: int = 0
    edited: int = 0
    deleted: int = 0
    errors: int = 0


def default_make_api(environ: Mapping[str, str], clock: Clock) -> MakeApi:
    def make(account: AccountSettings) -> MastodonApi:
        return MastodonApi.from_account(account, environ, clock)
    return make


def recheck_recent(settings: Settings, repo: Repository, make_api: MakeApi, *,
                   limit: int = 20) -> RecheckResult:
    """Re-check up to `limit` recent Mastodon posts; returns what changed."""
    clock = repo.clock
    since = clock.now() - timedelta(hours=settings.recheck_hours)
    accounts = {name: a for name, a in settings.accounts.items() if a.network == "mastodon"}
    result = RecheckResult()
    if not accounts:
        return result
    after = int(repo.get_app_state(CURSOR_KEY) or 0)
    batch = repo.recent_posts("mastodon", since, after, limit, list(accounts))
    if len(batch) < limit and after:  # wrap around to the oldest recent ids
        batch += repo.recent_posts("mastodon", since, 0, limit - len(batch), list(accounts))
    apis: dict[str, MastodonApi] = {}
    try:
        for post_id, remote_id, account in batch:
            api = apis.get(account) or apis.setdefault(account, make_api(accounts[account]))
            result.checked += 1
            try:
                status = api.fetch_status(remote_id)
            except NotFound:
                repo.mark_deleted(post_id)
                result.deleted += 1
                continue
            except CollectorError as exc:
                logger.warning("recheck of post %d failed: %s", post_id, exc)
                result.errors += 1
                continue
            if repo.save_edit(post_id, normalize_status(status)):
                result.edited += 1
        if batch:
            repo.set_app_state(CURSOR_KEY, str(batch[-1][0]))
    finally:
        for api in apis.values():
            api.close()
    logger.info("recheck checked=%d edited=%d deleted=%d errors=%d", result.checked,
                result.edited, result.deleted, result.errors)
    return result
