"""Remote list management on Mastodon, X and Bluesky (the `RemoteLists` of
`aggregator.curation.remote`): read a list's members, resolve
handles, add and remove members, follow (Mastodon), create lists.

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
* Bluesky (AT Protocol): app.bsky.graph.getList (paged, opaque cursor; each item is the
  listitem record's URI and the member's profile), com.atproto.identity.resolveHandle; a
  member is an ``app.bsky.graph.listitem`` record in the list owner's repo, so adding is
  com.atproto.repo.createRecord and removing is deleteRecord of that record (logged in
  with an app password); a list is an ``app.bsky.graph.list`` record with purpose
  curatelist. Lists take anyone. Members are keyed by DID: handles change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Generic, Protocol, TypeVar

from aggregator.clock import Clock
from aggregator.collectors.bluesky.api import BlueskyApi
from aggregator.collectors.bluesky.uris import LIST, parse_at_uri, rkey_of
from aggregator.collectors.mastodon.api import MastodonApi
from aggregator.collectors.mastodon.normalize import account_identity
from aggregator.collectors.twitter.api import TwitterApi, UserKeys
from aggregator.curation.bluesky import link_id, list_uri
from aggregator.curation.remote import RemoteLists, RemoteMember
from aggregator.errors import AuthMissing, AuthRejected, CurationError
from aggregator.models import Network
from aggregator.settings import AccountSettings

PAGE = 80  # Mastodon's maximum for list accounts
LISTITEM = "app.bsky.graph.listitem"
PUBLIC_APPVIEW = "https://public.api.bsky.app"  # anonymous Bluesky reads
INVALID_HANDLE = "handle.invalid"  # what the AppView shows when a handle fails to verify


class _ListApi(Protocol):
    def add_list_member(self, list_id: str, remote_id: str, /) -> object: ...
    def remove_list_member(self, list_id: str, remote_id: str, /) -> None: ...
    def create_list(self, name: str, /) -> str: ...
    def close(self) -> None: ...


A = TypeVar("A", bound=_ListApi)


class _ListsById(Generic[A]):
    """Mastodon and X change a list by the member's account id, through the api's own
    `add_list_member`/`remove_list_member` (on Mastodon "already on the list" and "not on
    the list" answers count as done there)."""

    def __init__(self, api: A) -> None:
        self.api = api

    def add_member(self, list_id: str, remote_id: str) -> None:
        self.api.add_list_member(list_id, remote_id)

    def remove_member(self, list_id: str, member: RemoteMember) -> None:
        self.api.remove_list_member(list_id, member.remote_id)

    def create_list(self, name: str) -> str:
        return self.api.create_list(name)

    def close(self) -> None:
        self.api.close()


class MastodonLists(_ListsById[MastodonApi]):
    network: Network = "mastodon"

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



class TwitterLists(_ListsById[TwitterApi]):
    network: Network = "twitter"

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



class BlueskyLists:
    network: Network = "bluesky"

    def __init__(self, api: BlueskyApi) -> None:
        self.api = api

    @classmethod
    def from_account(cls, account: AccountSettings, environ: Mapping[str, str],
                     clock: Clock, *, write: bool = True) -> BlueskyLists:
        """Writes need a login: refused up front (naming what to set) when there is none."""
        if write and not account.handle:
            raise AuthMissing("bluesky", f"account {account.name}: changing Bluesky lists "
                                         "needs a login; set handle and app_password_env")
        if write and not account.secret(account.app_password_env, environ):
            raise AuthMissing("bluesky", f"account {account.name}: changing Bluesky lists "
                                         "needs an app password; set the environment "
                                         f"variable {account.app_password_env} "
                                         "(app_password_env)")
        return cls(BlueskyApi.from_account(account, environ, clock))

    @classmethod
    def anonymous(cls, clock: Clock, base_url: str = PUBLIC_APPVIEW) -> BlueskyLists:
        return cls(BlueskyApi(base_url, clock=clock))

    def fetch_members(self, list_id: str) -> list[RemoteMember]:
        """Every member, page by page until a page without a cursor or an empty page."""
        members: list[RemoteMember] = []
        cursor: str | None = None
        while True:
            body = self.api.get_list_page(list_uri(list_id), cursor=cursor)
            items = [i for i in body.get("items") or [] if isinstance(i, dict)]
            for item in items:
                subject = item.get("subject")
                if not isinstance(subject, dict) or not isinstance(subject.get("did"), str):
                    continue
                did, handle = str(subject["did"]), subject.get("handle")
                if not isinstance(handle, str) or not handle or handle == INVALID_HANDLE:
                    handle = did  # no verified handle: the DID stands in for it
                members.append(RemoteMember(handle, did, str(subject.get("displayName") or ""),
                                            str(item.get("uri") or "")))
            cursor = body.get("cursor") if isinstance(body.get("cursor"), str) else None
            if not items or not cursor:
                return members

    def fetch_id(self, handle: str) -> str:
        return handle if handle.startswith("did:") else self.api.resolve_handle(handle)

    def fetch_following(self, ids: list[str]) -> set[str]:
        return set(ids)  # Bluesky lists take anyone

    def follow(self, remote_id: str) -> bool:
        return True

    def add_member(self, list_id: str, remote_id: str) -> None:
        uri = self._own(list_id)
        self.api.create_record(LISTITEM, {"$type": LISTITEM, "subject": remote_id,
                                          "list": uri, "createdAt": self._now()})

    def remove_member(self, list_id: str, member: RemoteMember) -> None:
        """Delete the listitem record (an already deleted one counts as done)."""
        self._own(list_id)
        if rkey_of(member.item_uri):
            self.api.delete_record(LISTITEM, rkey_of(member.item_uri))

    def create_list(self, name: str) -> str:
        """A new curate list (name cut to the lexicon's 64 characters); its link id."""
        return link_id(self.api.create_record(LIST, {
            "$type": LIST, "purpose": "app.bsky.graph.defs#curatelist", "name": name[:64],
            "createdAt": self._now()}))

    def _own(self, list_id: str) -> str:
        """The list's URI. Only the owner's listitem records count: refuse to write to
        another account's list."""
        uri = list_uri(list_id)
        parsed, own = parse_at_uri(uri), self.api.own_did()
        if parsed is None or parsed.authority != own:
            raise AuthRejected("bluesky", f"list {uri} is not a list of {self.api.handle} "
                                          f"({own}): only its owner can change it")
        return uri

    def _now(self) -> str:
        return self.api.clock.now().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    def close(self) -> None:
        self.api.close()


def open_remote(account: AccountSettings, environ: Mapping[str, str],
                clock: Clock, *, write: bool = True) -> RemoteLists:
    """The lists of `account`; `write` False when only reading (Bluesky reads need no
    login)."""
    if account.network == "mastodon":
        return MastodonLists.from_account(account, environ, clock)
    if account.network == "twitter":
        return TwitterLists.from_account(account, environ, clock)
    if account.network == "bluesky":
        return BlueskyLists.from_account(account, environ, clock, write=write)
    raise CurationError(f"account {account.name}: unknown network {account.network!r}")
