"""Remote list management on Mastodon and X: read a list's members, resolve handles,
add and remove members, follow (Mastodon), create lists.

Built on the collectors' API wrappers so requests, pacing, retries and error translation
are the same as for collection:

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
from typing import Any, Protocol
from urllib.parse import urlsplit

from aggregator.clock import Clock
from aggregator.collectors.mastodon.api import MastodonApi, link_param
from aggregator.collectors.twitter.api import XApi
from aggregator.collectors.twitter.entities import describe_error
from aggregator.errors import AuthError, CurationError, NotFound, TransientError
from aggregator.models import Network
from aggregator.settings import AccountSettings

PAGE = 80  # Mastodon's maximum for list accounts


@dataclass(frozen=True, slots=True)
class RemoteMember:
    handle: str  # user@domain on Mastodon, username on X
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
        self.domain = (urlsplit(api.base_url).hostname or "").lower()

    @classmethod
    def from_account(cls, account: AccountSettings, environ: Mapping[str, str],
                     clock: Clock) -> MastodonLists:
        if not account.token(environ):
            raise AuthError("mastodon", f"account {account.name}: managing lists needs an "
                                        "access token (set token_env or token_file)")
        return cls(MastodonApi.from_account(account, environ, clock))

    def _acct(self, account: Mapping[str, Any]) -> str:
        acct = str(account.get("acct") or account.get("username") or "")
        return acct if "@" in acct else f"{acct}@{self.domain}"

    def fetch_members(self, list_id: str) -> list[RemoteMember]:
        members: list[RemoteMember] = []
        max_id: str | None = None
        while True:
            def call(cursor: str | None = max_id) -> object:
                return self.api.client.list_accounts(list_id, max_id=cursor, limit=PAGE)

            body, response, _ = self.api.call(f"list {list_id} accounts", call)
            if not isinstance(body, list):
                raise TransientError("mastodon", f"list {list_id} accounts: not a list")
            members += [RemoteMember(self._acct(a), str(a.get("id", "")),
                                     str(a.get("display_name") or ""))
                        for a in body if isinstance(a, dict)]
            max_id = link_param(response.links, "next", "max_id") if response else None
            if not body or not max_id:
                return members

    def fetch_id(self, handle: str) -> str:
        return self.api.fetch_account_id(handle)

    def fetch_following(self, ids: list[str]) -> set[str]:
        following: set[str] = set()
        for start in range(0, len(ids), 40):
            chunk = ids[start:start + 40]

            def call(c: list[str] = chunk) -> object:
                return self.api.client.account_relationships(c)

            body, _, _ = self.api.call("relationships", call)
            following |= {str(r.get("id")) for r in body or [] if isinstance(r, dict)
                          and r.get("following")}
        return following

    def follow(self, remote_id: str) -> bool:
        """Follow; True when now following (False: a locked account got a request)."""
        body, _, _ = self.api.call(f"follow {remote_id}",
                                    lambda: self.api.client.account_follow(remote_id))
        return bool(isinstance(body, dict) and body.get("following"))

    def add_member(self, list_id: str, remote_id: str) -> None:
        self.api.call(f"add {remote_id} to list {list_id}",
                       lambda: self.api.client.list_accounts_add(list_id, [remote_id]))

    def remove_member(self, list_id: str, remote_id: str) -> None:
        self.api.call(f"remove {remote_id} from list {list_id}",
                       lambda: self.api.client.list_accounts_delete(list_id, [remote_id]))

    def create_list(self, name: str) -> str:
        body, _, _ = self.api.call("create list", lambda: self.api.client.list_create(name))
        if not isinstance(body, dict) or not body.get("id"):
            raise TransientError("mastodon", "create list: the answer has no list id")
        return str(body["id"])

    def close(self) -> None:
        self.api.close()


class XLists:
    network: Network = "twitter"

    def __init__(self, api: XApi) -> None:
        self.api = api

    @classmethod
    def from_account(cls, account: AccountSettings, environ: Mapping[str, str],
                     clock: Clock) -> XLists:
        keys = {k: account.secret(getattr(account, f"{k}_env"), environ) for k in
                ("consumer_key", "consumer_secret", "access_token", "access_token_secret")}
        missing = [f"{k}_env" for k, v in keys.items() if not v]
        if missing:
            raise AuthError("twitter", f"account {account.name}: changing X lists needs "
                                       f"user-context keys; set {', '.join(missing)}")
        api = XApi(account.token(environ) or "", clock=clock, base_url=account.base_url)
        for name, value in keys.items():  # tweepy signs user-context requests with these
            setattr(api.client, name, value)
        return cls(api)

    def fetch_members(self, list_id: str) -> list[RemoteMember]:
        members: list[RemoteMember] = []
        token: str | None = None
        while True:
            def call(cursor: str | None = token) -> Any:
                return self.api.client.get_list_members(
                    list_id, max_results=100, pagination_token=cursor,
                    user_fields=["username", "name"], user_auth=True)

            body = self.api.get_json(f"list {list_id} members", call)
            errors = body.get("errors") or []
            if not body.get("data") and errors and token is None and not members:
                raise NotFound("twitter", f"list {list_id}: {describe_error(errors[0])}")
            members += [RemoteMember(str(u.get("username", "")), str(u.get("id", "")),
                                     str(u.get("name") or "")) for u in body.get("data") or []]
            token = (body.get("meta") or {}).get("next_token")
            if not token:
                return members

    def fetch_id(self, handle: str) -> str:
        what = f"user lookup @{handle}"
        body = self.api.get_json(what, lambda: self.api.client.get_user(username=handle,
                                                                     user_auth=True))
        user = body.get("data")
        if not isinstance(user, dict) or not user.get("id"):
            errors = body.get("errors") or [{}]
            raise NotFound("twitter", f"{what}: {describe_error(errors[0]) or 'no such user'}")
        return str(user["id"])

    def fetch_following(self, ids: list[str]) -> set[str]:
        return set(ids)  # X lists take anyone

    def follow(self, remote_id: str) -> bool:
        return True

    def add_member(self, list_id: str, remote_id: str) -> None:
        self.api.get_json(f"add {remote_id} to list {list_id}",
                      lambda: self.api.client.add_list_member(list_id, remote_id))

    def remove_member(self, list_id: str, remote_id: str) -> None:
        self.api.get_json(f"remove {remote_id} from list {list_id}",
                      lambda: self.api.client.remove_list_member(list_id, remote_id))

    def create_list(self, name: str) -> str:
        body = self.api.get_json("create list", lambda: self.api.client.create_list(name[:25]))
        data = body.get("data")
        if not isinstance(data, dict) or not data.get("id"):
            raise TransientError("twitter", "create list: the answer has no list id")
        return str(data["id"])

    def close(self) -> None:
        self.api.close()


def open_remote(account: AccountSettings, environ: Mapping[str, str],
                clock: Clock) -> RemoteLists:
    if account.network == "mastodon":
        return MastodonLists.from_account(account, environ, clock)
    if account.network == "twitter":
        return XLists.from_account(account, environ, clock)
    raise CurationError(f"account {account.name}: unknown network {account.network!r}")
