"""Remote list management on Mastodon and X: read a list's members, resolve handles,
add and remove members, follow (Mastodon), create lists.

Built on the methods of the collectors' API wrappers (only each network's ``api.py``
touches its library), so requests, pacing, retries, error translation and account
identities (`account_identity`) are the same as for collection:

* Mastodon (https://docs.joinmastodon.org/methods/lists/): GET/POST/DELETE
  /api/v1/lists/:id/accounts, POST /api/v1/lists, GET /api/v1/accounts/lookup,
  GET /api/v1/accounts/relationships, POST /api/v1/accounts/:id/follow. Mastodon only
  lets you put accounts you follow on a list.
* X (https://docs.x.com/x-api/lists/): GET /2/lists/:id/members, POST /2/lists/:id/members,
  DELETE /2/lists/:id/members/:user_id, POST /2/lists, GET /2/users/by/username/:username,
  all with user-context OAuth 1.0a (the account's consumer and access keys).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from aggregator.clock import Clock
from aggregator.collectors.mastodon.api import MastodonApi
from aggregator.collectors.mastodon.normalize import account_identity
from aggregator.collectors.twitter.api import TwitterApi, UserKeys
from aggregator.errors import AuthMissing, CurationError
from aggregator.models import Network
from aggregator.settings import AccountSettings

PAGE = 80  # Mastodon's maximum for list accounts


@dataclass(frozen=True, slots=True)
class RemoteMember:
    handle: str  # user@domain on Mastodon (`account_identity`), username on X
    remote_id: str
    display_name: str = ""

    @property
    def key(self) -> str:
        return self.handle.lower()


class RemoteLists(Protocol):
    network: Network

    def fetch_members(self, list_id: str) -> list[RemoteMember]: ...
    def fetch_id(self, handle: str) -> str: ...
    def fetch_following(self, ids: list[str]) -> set[str]: ...
    def follow(self, remote_id: str) -> bool: ...
    def add_member(self, list_id: str, remote_id: str) -> None: ...
    def remove_member(self, list_id: str, remote_id: str) -> None: ...
    def create_list(self, name: str) -> str: ...
    def close(self) -> None: ...


class MastodonLists:
    network: Network = "mastodon"

    def __init__(self, api: MastodonApi) -> None:
        self.api = api

    @classmethod
    def from_account(cls, account: AccountSettings, environ: Mapping[str, str],
                     clock: Clock) -> MastodonLists:
        api = MastodonApi.from_account(account, environ, clock)
        if api.missing_credential:
            api.close()
            raise AuthMissing("mastodon", f"account {account.name}: managing lists needs "
                                          f"{api.missing_credential}")
        return cls(api)

    def fetch_members(self, list_id: str) -> list[RemoteMember]:
        members: list[RemoteMember] = []
        max_id: str | None = None
        while True:
            accounts, max_id = self.api.fetch_list_accounts(list_id, max_id=max_id, limit=PAGE)
            members += [RemoteMember(account_identity(a, self.api.local_domain),
                                     str(a.get("id", "")), str(a.get("display_name") or ""))
                        for a in accounts]
            if not accounts or not max_id:
                return members

    def fetch_id(self, handle: str) -> str:
        return self.api.fetch_account_id(handle)

    def fetch_following(self, ids: list[str]) -> set[str]:
        following: set[str] = set()
        for start in range(0, len(ids), 40):
            following |= {str(r.get("id")) for r in self.api.fetch_relationships(
                ids[start:start + 40]) if r.get("following")}
        return following

    def follow(self, remote_id: str) -> bool:
        """Follow; True when now following (False: a locked account got a request)."""
        return self.api.follow_account(remote_id)

    def add_member(self, list_id: str, remote_id: str) -> None:
        self.api.add_list_member(list_id, remote_id)  # already there counts as done

    def remove_member(self, list_id: str, remote_id: str) -> None:
        self.api.remove_list_member(list_id, remote_id)

    def create_list(self, name: str) -> str:
        return self.api.create_list(name)

    def close(self) -> None:
        self.api.close()


class TwitterLists:
    network: Network = "twitter"

    def __init__(self, api: TwitterApi) -> None:
        self.api = api

    @classmethod
    def from_account(cls, account: AccountSettings, environ: Mapping[str, str],
                     clock: Clock) -> TwitterLists:
        keys = {k: account.secret(getattr(account, f"{k}_env"), environ) for k in
                ("consumer_key", "consumer_secret", "access_token", "access_token_secret")}
        missing = [f"{k}_env" for k, v in keys.items() if not v]
        if missing:
            raise AuthMissing("twitter", f"account {account.name}: changing X lists needs "
                                         f"user-context keys; set {', '.join(missing)}")
        api = TwitterApi(account.token(environ) or "", clock=clock, base_url=account.base_url,
                         keys=UserKeys(**{k: v or "" for k, v in keys.items()}),
                         credential="the user-context keys")
        return cls(api)

    def fetch_members(self, list_id: str) -> list[RemoteMember]:
        members: list[RemoteMember] = []
        token: str | None = None
        while True:
            body = self.api.fetch_list_members(list_id, pagination_token=token)
            members += [RemoteMember(str(u.get("username", "")), str(u.get("id", "")),
                                     str(u.get("name") or "")) for u in body.get("data") or []
                        if isinstance(u, dict)]
            token = (body.get("meta") or {}).get("next_token")
            if not token:
                return members

    def fetch_id(self, handle: str) -> str:
        return str(self.api.fetch_user_by_username(handle, user_auth=True)["id"])

    def fetch_following(self, ids: list[str]) -> set[str]:
        return set(ids)  # X lists take anyone

    def follow(self, remote_id: str) -> bool:
        return True

    def add_member(self, list_id: str, remote_id: str) -> None:
        self.api.add_list_member(list_id, remote_id)

    def remove_member(self, list_id: str, remote_id: str) -> None:
        self.api.remove_list_member(list_id, remote_id)

    def create_list(self, name: str) -> str:
        return self.api.create_list(name)

    def close(self) -> None:
        self.api.close()


def open_remote(account: AccountSettings, environ: Mapping[str, str],
                clock: Clock) -> RemoteLists:
    if account.network == "mastodon":
        return MastodonLists.from_account(account, environ, clock)
    if account.network == "twitter":
        return TwitterLists.from_account(account, environ, clock)
    raise CurationError(f"account {account.name}: unknown network {account.network!r}")
