"""What curation knows of a list on Mastodon, X or Bluesky: its members (`RemoteMember`),
how a member is keyed in our snapshot of it (`member_key`), and the `RemoteLists` protocol
that sync and pull talk to. The implementations, built on the collectors' API wrappers,
are in `aggregator.curation.remote_apis`: importing this module loads no network library
(the reader and `rounds status` need only these names).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from aggregator.models import Network


@dataclass(frozen=True, slots=True)
class RemoteMember:
    handle: str  # user@domain on Mastodon (`account_identity`), username on X, handle
    remote_id: str  # account id on Mastodon and X, DID on Bluesky
    display_name: str = ""
    item_uri: str = ""  # Bluesky: the listitem record that puts it on the list

    @property
    def key(self) -> str:
        return self.handle.lower()


def member_key(network: Network, handle: str, remote_id: str) -> str:
    """What identifies an account on a remote list in our snapshot of it: the DID on
    Bluesky once known (handles change), the handle elsewhere."""
    return remote_id if network == "bluesky" and remote_id else handle.lower()


class RemoteLists(Protocol):
    network: Network

    def fetch_members(self, list_id: str) -> list[RemoteMember]: ...
    def fetch_id(self, handle: str) -> str: ...
    def fetch_following(self, ids: list[str]) -> set[str]: ...
    def follow(self, remote_id: str) -> bool: ...
    def add_member(self, list_id: str, remote_id: str) -> None: ...
    def remove_member(self, list_id: str, member: RemoteMember) -> None: ...
    def create_list(self, name: str) -> str: ...
    def close(self) -> None: ...
