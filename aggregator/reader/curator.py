"""What the reader's curator screen needs: the `Curator` protocol, the dataclasses it
answers with, and its implementation over `CurationStore` and the recorded sync log.

The reader never builds API clients, so nothing here talks to Mastodon or X: the sync
status is what the database recorded (last complete sync per linked list, the sync log,
and the difference between the curated members and the snapshot of the remote list taken
at the last sync), and the screen tells the user which `rounds lists sync` to run.

Every method may block on the database: the screen calls them from thread workers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from aggregator.curation.handles import parse_handle
from aggregator.curation.model import MembershipEvent, RemoteLink, Voice
from aggregator.curation.store import CurationStore
from aggregator.curation.sync import get_snapshot, list_sync_log
from aggregator.errors import CurationError
from aggregator.storage import queries

COMMAND = "reader"  # how the reader's changes show in `rounds lists history`


@dataclass(frozen=True, slots=True)
class LinkStatus:
    """One remote list linked to a curated list, as far as the database knows."""

    link: RemoteLink
    outcome: str  # "never synced", "in sync at last sync", "incomplete: ..."
    to_add: tuple[str, ...] = ()  # curated, not on the remote list at the last sync
    to_remove: tuple[str, ...] = ()  # on the remote list at the last sync, not curated

    @property
    def pending(self) -> bool:
        return bool(self.to_add or self.to_remove)


@dataclass(frozen=True, slots=True)
class ListSummary:
    name: str
    members: int
    links: tuple[LinkStatus, ...] = ()

    @property
    def last_synced_at(self) -> datetime | None:
        times = [x.link.last_synced_at for x in self.links if x.link.last_synced_at]
        return max(times) if times else None


@dataclass(frozen=True, slots=True)
class Member:
    voice: Voice
    added_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SyncStatus:
    list_name: str
    links: tuple[LinkStatus, ...]
    log: tuple[str, ...]  # the recorded sync log, newest first
    history: tuple[MembershipEvent, ...]  # the latest membership changes, newest first


class Curator(Protocol):
    def now(self) -> datetime: ...

    def list_lists(self) -> list[ListSummary]:
        """Every curated list with its size and linked remote lists, by name."""
        ...

    def members(self, name: str) -> list[Member]: ...

    def sync_status(self, name: str) -> SyncStatus: ...

    def check_ref(self, text: str) -> None:
        """Raises CurationError unless `text` is a handle (user@domain, x:name, @name)
        or a voice id (#12). Pure: no database."""
        ...

    def add(self, name: str, ref: str) -> str:
        """Put the voice `ref` names on list `name` (a new handle becomes a new voice);
        returns what happened, one line. Raises CurationError."""
        ...

    def remove(self, name: str, voice_id: int) -> str: ...

    def move(self, source: str, target: str, voice_id: int) -> str: ...


def check_ref(text: str) -> None:
    raw = text.strip()
    if not raw:
        raise CurationError("type a handle (user@domain, x:name) or a voice id (#12)")
    if raw.startswith("#"):
        if not raw[1:].isdigit():
            raise CurationError(f"{raw[:40]!r}: a voice id is # followed by digits (like #12)")
        return
    parse_handle(raw)


class StorageCurator:
    def __init__(self, store: CurationStore, log_limit: int = 20,
                 history_limit: int = 10) -> None:
        self.store = store
        self.log_limit = log_limit
        self.history_limit = history_limit

    def now(self) -> datetime:
        return self.store.clock.now()

    def list_lists(self) -> list[ListSummary]:
        return [ListSummary(lst.name, len(self.store.members(lst.name)),
                            tuple(self._status(lst.id, lst.name, x) for x in lst.links))
                for lst in self.store.list_lists()]

    def members(self, name: str) -> list[Member]:
        added = self.store.added_at(name)
        return [Member(v, added.get(v.id)) for v in self.store.members(name)]

    def sync_status(self, name: str) -> SyncStatus:
        lst = self.store.get_list(name)
        links = tuple(self._status(lst.id, lst.name, x) for x in lst.links)
        history = self.store.history(name)[-self.history_limit:]
        return SyncStatus(lst.name, links, tuple(list_sync_log(self.store, name,
                                                               self.log_limit)),
                          tuple(reversed(history)))

    def _status(self, list_id: int, name: str, link: RemoteLink) -> LinkStatus:
        since = link.last_synced_at
        trouble = queries.sync_trouble(self.store.db, list_id, link.network, since)
        if trouble:
            stopped = [detail for action, detail in trouble if action == "sync"]
            outcome = (f"incomplete: stopped ({stopped[-1]})" if stopped else
                       f"incomplete: {len(trouble)} member(s) not synced")
        elif since is None:
            outcome = "never synced"
        else:
            outcome = "complete"
        if since is None and not trouble:
            return LinkStatus(link, outcome)
        remote = get_snapshot(self.store, list_id, link.network)
        curated = {}
        for voice in self.store.members(name):
            ident = voice.on(link.network)
            if ident is not None:
                curated[ident.key] = ident.handle
        return LinkStatus(link, outcome,
                          tuple(curated[k] for k in sorted(curated.keys() - remote)),
                          tuple(sorted(remote - curated.keys())))

    def _voice(self, ref: str, create: bool) -> Voice:
        check_ref(ref)
        raw = ref.strip()
        if raw.startswith("#"):
            return self.store.get_voice(int(raw[1:]))
        network, handle = parse_handle(raw)
        found = self.store.find_voice(network, handle)
        if found is None:
            if not create:
                raise CurationError(f"no voice has the handle {handle}")
            found = self.store.ensure_voice(network, handle)
        return found

    def check_ref(self, text: str) -> None:
        check_ref(text)

    def add(self, name: str, ref: str) -> str:
        self.store.get_list(name)
        voice = self._voice(ref, create=True)
        if self.store.add_member(name, voice, COMMAND):
            return f"added {voice.label} to {name}"
        return f"{voice.label} is already on {name}"

    def remove(self, name: str, voice_id: int) -> str:
        voice = self.store.get_voice(voice_id)
        if self.store.remove_member(name, voice, COMMAND):
            return f"removed {voice.label} from {name}"
        return f"{voice.label} was not on {name}"

    def move(self, source: str, target: str, voice_id: int) -> str:
        if source == target:
            raise CurationError(f"pick another list than {source} to move to")
        voice = self.store.get_voice(voice_id)
        self.store.move_member(source, target, voice, COMMAND)
        return f"moved {voice.label} from {source} to {target}"
