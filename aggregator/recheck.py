"""Edits and deletions: re-check recent posts at a low rate.

Posts created within `settings.recheck_hours` (default 48) are fetched again a few at a
time, round-robin by id (the position is kept in app_state, one per network, so every
recent post gets its turn across runs). An edit replaces the text and keeps the earlier
version in `post_versions`; a post the server no longer has is marked deleted
(`deleted_at`), which hides it from export and the reader, out of respect for its author's
choice.

* Mastodon: one GET /api/v1/statuses/:id per post (edits and deletions).
* Bluesky: getPosts, 25 at:// URIs per request, free; a post missing from the answer was
  deleted (or its author left or was taken down): hidden. Bluesky posts are not edited.
* X: never; every read is billed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from aggregator.clock import Clock
from aggregator.collectors.bluesky.api import GET_POSTS_MAX, BlueskyApi
from aggregator.collectors.mastodon.api import MastodonApi
from aggregator.collectors.mastodon.normalize import AuthorCache, normalize_status
from aggregator.errors import CollectorError, NotFound
from aggregator.settings import AccountSettings, Settings
from aggregator.storage.repository import Repository

logger = logging.getLogger(__name__)
CURSOR_KEY = "recheck.last_post_id"  # Mastodon's (the name it always had)
BLUESKY_CURSOR_KEY = "recheck.bluesky.last_post_id"

Api = MastodonApi | BlueskyApi
MakeApi = Callable[[AccountSettings], Api]
Batch = list[tuple[int, str, str]]  # (post id, remote id, account)


@dataclass
class RecheckResult:
    checked: int = 0
    edited: int = 0
    deleted: int = 0
    errors: int = 0


def default_make_api(environ: Mapping[str, str], clock: Clock) -> MakeApi:
    def make(account: AccountSettings) -> Api:
        if account.network == "bluesky":
            return BlueskyApi.from_account(account, environ, clock)
        return MastodonApi.from_account(account, environ, clock)
    return make


def recheck_recent(settings: Settings, repo: Repository, make_api: MakeApi, *,
                   limit: int = 20) -> RecheckResult:
    """Re-check up to `limit` recent Mastodon posts (one request each) and up to
    `limit` x 5 recent Bluesky posts (25 per request); returns what changed."""
    since = repo.clock.now() - timedelta(hours=settings.recheck_hours)
    result = RecheckResult()
    apis: dict[str, Api] = {}

    def api_of(name: str) -> Api:
        return apis.get(name) or apis.setdefault(name, make_api(settings.accounts[name]))

    try:
        for network, key, size in (("mastodon", CURSOR_KEY, limit),
                                   ("bluesky", BLUESKY_CURSOR_KEY, limit * 5)):
            accounts = {n: a for n, a in settings.accounts.items() if a.network == network}
            batch = _batch(repo, network, key, since, size, list(accounts))
            if network == "mastodon":
                _mastodon(repo, batch, api_of, result)
            else:
                _bluesky(repo, batch, api_of, result)
            if batch:
                repo.set_app_state(key, str(batch[-1][0]))
    finally:
        for api in apis.values():
            api.close()
    logger.info("recheck checked=%d edited=%d deleted=%d errors=%d", result.checked,
                result.edited, result.deleted, result.errors)
    return result


def _batch(repo: Repository, network: str, key: str, since: datetime, limit: int,
           accounts: list[str]) -> Batch:
    """The next `limit` recent posts of `network` after the saved position, wrapping
    around to the oldest recent ids."""
    if not accounts:
        return []
    after = int(repo.get_app_state(key) or 0)
    batch = repo.recent_posts(network, since, after, limit, accounts)
    if len(batch) < limit and after:
        batch += repo.recent_posts(network, since, 0, limit - len(batch), accounts)
    return batch


def _mastodon(repo: Repository, batch: Batch, api_of: Callable[[str], Api],
              result: RecheckResult) -> None:
    for post_id, remote_id, account in batch:
        api = api_of(account)
        assert isinstance(api, MastodonApi)
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
        # local accounts (a bare acct) are named after the server's own domain, as the
        # collector names them: asked of the server once per api, only when needed
        authors = AuthorCache(local_domain=api.local_domain)
        if repo.save_edit(post_id, normalize_status(status, authors)):
            result.edited += 1


def _bluesky(repo: Repository, batch: Batch, api_of: Callable[[str], Api],
             result: RecheckResult) -> None:
    by_account: dict[str, list[tuple[int, str]]] = {}
    for post_id, uri, account in batch:
        if uri.startswith("at://"):  # stored before URIs were remote ids: not askable
            by_account.setdefault(account, []).append((post_id, uri))
    for account, posts in by_account.items():
        api = api_of(account)
        assert isinstance(api, BlueskyApi)
        for start in range(0, len(posts), GET_POSTS_MAX):
            chunk = posts[start:start + GET_POSTS_MAX]
            try:
                found = {str(p.get("uri")) for p in api.get_posts([u for _, u in chunk])}
            except CollectorError as exc:
                logger.warning("recheck of %d Bluesky posts failed: %s", len(chunk), exc)
                result.errors += len(chunk)
                continue
            result.checked += len(chunk)
            for post_id, uri in chunk:
                if uri not in found:
                    repo.mark_deleted(post_id)
                    result.deleted += 1
