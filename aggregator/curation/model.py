"""Curation dataclasses: what the store returns and the CLI shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from aggregator.models import Network

Action = Literal["added", "removed", "moved", "merged"]
ROLES = ("physician", "nurse", "researcher", "pharmacist", "agency", "journal", "patient",
         "organization", "other")


@dataclass(frozen=True, slots=True)
class Identity:
    """One account of a voice on one network."""

    network: Network
    handle: str  # user@domain on Mastodon (domain lowercased), username on X, Bluesky
    # handle, a feed's URL
    remote_id: str = ""  # the X user id or Bluesky DID once resolved ("" until then)
    display_name: str = ""
    id: int = 0
    voice_id: int = 0

    @property
    def key(self) -> str:
        return self.handle.lower()


@dataclass(frozen=True, slots=True)
class Voice:
    """A person or organization worth hearing, with its identities."""

    id: int
    name: str
    role: str = ""
    specialty: str = ""
    topics: tuple[str, ...] = ()
    note: str = ""
    identities: tuple[Identity, ...] = ()

    def on(self, network: Network) -> Identity | None:
        return next((i for i in self.identities if i.network == network), None)

    @property
    def label(self) -> str:
        ordered = sorted(self.identities, key=lambda i: i.network == "feed")  # blogs last
        handles = ", ".join(shown_handle(i) for i in ordered)
        return f"{self.name} ({handles})" if self.name and handles else self.name or handles


def shown_handle(identity: Identity) -> str:
    """`@alice@example.social` for Mastodon, `x:@alice` for X, `bsky:@alice.bsky.social`
    for Bluesky (a bare `did:...` until the handle is known), the URL for a feed."""
    if identity.network == "feed":
        return identity.handle
    if identity.network == "bluesky":
        handle = identity.handle
        return handle if handle.startswith("did:") else f"bsky:@{handle}"
    return f"@{identity.handle}" if identity.network == "mastodon" else f"x:@{identity.handle}"


@dataclass(frozen=True, slots=True)
class RemoteLink:
    network: Network
    account: str  # account name in the settings
    remote_id: str
    last_synced_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CuratedList:
    id: int
    name: str
    topics: tuple[str, ...] = ()
    created_at: datetime | None = None
    links: tuple[RemoteLink, ...] = field(default=())

    def link(self, network: Network) -> RemoteLink | None:
        return next((x for x in self.links if x.network == network), None)


@dataclass(frozen=True, slots=True)
class MembershipEvent:
    at: datetime
    voice: Voice
    action: Action
    present: bool  # on the list after this event
    detail: str = ""  # "to LIST" / "from LIST" / "as #ID ..." / "#ID ... joined #ID"
    command: str = ""
