"""Storage for curation: voices, identities, curated lists, memberships and their history.

Every membership change writes the membership row and a `membership_events` row in one
transaction (when, what: added / removed / moved, by which command), so `members_on`
can replay the history and answer "who was on LIST on DATE".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import Connection, CursorResult, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from aggregator.clock import Clock
from aggregator.curation.handles import normalize_handle
from aggregator.curation.model import (
    Action,
    CuratedList,
    Identity,
    MembershipEvent,
    RemoteLink,
    Voice,
)
from aggregator.errors import CurationError
from aggregator.models import Network
from aggregator.storage.curation_schema import (
    curated_lists,
    identities,
    membership_events,
    memberships,
    remote_lists,
    voices,
)
from aggregator.storage.db import Database

_VOICE_FIELDS = ("name", "role", "specialty", "topics", "note")


def _topics(text: str) -> tuple[str, ...]:
    value = json.loads(text or "[]")
    return tuple(str(t) for t in value) if isinstance(value, list) else ()


def moment(when: date | datetime) -> datetime:
    """A date means the end of that day (UTC): who was on the list on that day's close."""
    if isinstance(when, datetime):
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    return datetime.combine(when, time.max, tzinfo=UTC)


def _new_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    if key is None:
        raise CurationError("the database did not return the new row's id")
    return int(key[0])


class CurationStore:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    # ------------------------------------------------------------------ lists

    def create_list(self, name: str, topics: Sequence[str] = ()) -> CuratedList:
        name = name.strip()
        if not name:
            raise CurationError("a list needs a name")
        try:
            with self.db.engine.begin() as conn:
                conn.execute(insert(curated_lists).values(
                    name=name, topics=json.dumps(list(topics)), created_at=self.clock.now()))
        except IntegrityError:
            raise CurationError(f"a list named {name!r} already exists") from None
        return self.get_list(name)

    def list_lists(self) -> list[CuratedList]:
        with self.db.engine.connect() as conn:
            rows = conn.execute(select(curated_lists).order_by(curated_lists.c.name)).all()
            links = conn.execute(select(remote_lists)).all()
        return [self._curated(r, [x for x in links if x.list_id == r.id]) for r in rows]

    def get_list(self, name: str) -> CuratedList:
        with self.db.engine.connect() as conn:
            row = conn.execute(select(curated_lists).where(curated_lists.c.name == name)).first()
            if row is None:
                known = [r.name for r in conn.execute(select(curated_lists.c.name))]
                raise CurationError(f"no curated list named {name!r} (known: "
                                    f"{', '.join(sorted(known)) or 'none yet'})")
            links = conn.execute(select(remote_lists).where(remote_lists.c.list_id == row.id))
            return self._curated(row, list(links))

    @staticmethod
    def _curated(row: Any, links: Iterable[Any]) -> CuratedList:
        return CuratedList(row.id, row.name, _topics(row.topics), row.created_at, tuple(
            RemoteLink(x.network, x.account, x.remote_id, x.last_synced_at) for x in links))

    def rename_list(self, old: str, new: str) -> CuratedList:
        lst, new = self.get_list(old), new.strip()
        if not new:
            raise CurationError("a list needs a name")
        try:
            with self.db.engine.begin() as conn:
                conn.execute(update(curated_lists).where(curated_lists.c.id == lst.id)
                             .values(name=new))
        except IntegrityError:
            raise CurationError(f"a list named {new!r} already exists") from None
        return self.get_list(new)

    def delete_list(self, name: str) -> None:
        lst = self.get_list(name)
        with self.db.engine.begin() as conn:
            for table in (membership_events, memberships, remote_lists):
                conn.execute(delete(table).where(table.c.list_id == lst.id))
            conn.execute(delete(curated_lists).where(curated_lists.c.id == lst.id))

    def save_link(self, name: str, link: RemoteLink) -> CuratedList:
        lst = self.get_list(name)
        with self.db.engine.begin() as conn:
            conn.execute(delete(remote_lists).where(remote_lists.c.list_id == lst.id,
                                                    remote_lists.c.network == link.network))
            conn.execute(insert(remote_lists).values(
                list_id=lst.id, network=link.network, account=link.account,
                remote_id=link.remote_id, last_synced_at=link.last_synced_at))
        return self.get_list(name)

    def mark_synced(self, list_id: int, network: Network) -> None:
        with self.db.engine.begin() as conn:
            conn.execute(update(remote_lists).where(remote_lists.c.list_id == list_id,
                                                    remote_lists.c.network == network)
                         .values(last_synced_at=self.clock.now()))

    # ------------------------------------------------------------------ voices

    def add_voice(self, name: str, handles: Sequence[tuple[Network, str]] = (), *,
                  role: str = "", specialty: str = "", topics: Sequence[str] = (),
                  note: str = "", display_names: Sequence[str] = (),
                  remote_ids: Sequence[str] = ()) -> Voice:
        """A new voice with its identities; CurationError if a handle belongs to another."""
        now = self.clock.now()
        with self.db.engine.begin() as conn:
            voice_id = _new_id(conn.execute(insert(voices).values(
                name=name.strip(), role=role, specialty=specialty, topics=json.dumps(
                    list(topics)), note=note, created_at=now, updated_at=now)))
            for i, (network, handle) in enumerate(handles):
                shown = display_names[i] if i < len(display_names) else ""
                rid = remote_ids[i] if i < len(remote_ids) and len(remote_ids[i]) <= 64 else ""
                self._add_identity(conn, voice_id, network, handle, shown, rid)
        return self.get_voice(voice_id)

    def _add_identity(self, conn: Connection, voice_id: int, network: Network, handle: str,
                      display_name: str = "", remote_id: str = "") -> None:
        handle = normalize_handle(network, handle)
        if network == "bluesky" and handle.startswith("did:"):
            remote_id = handle  # typed as its DID: already resolved
        owner = conn.execute(select(identities.c.voice_id).where(
            identities.c.network == network, identities.c.key == handle.lower())).scalar()
        if owner is not None and owner != voice_id:
            raise CurationError(f"{handle} already belongs to voice #{owner}; "
                                "use `rounds voices link` to join them")
        if owner is None:
            conn.execute(insert(identities).values(
                voice_id=voice_id, network=network, handle=handle, key=handle.lower(),
                remote_id=remote_id, display_name=display_name))

    def edit_voice(self, voice_id: int, **fields: Any) -> Voice:
        unknown = set(fields) - set(_VOICE_FIELDS)
        if unknown:
            raise CurationError(f"cannot edit {', '.join(sorted(unknown))} of a voice")
        values = {k: (json.dumps(list(v)) if k == "topics" else v)
                  for k, v in fields.items() if v is not None}
        self.get_voice(voice_id)
        with self.db.engine.begin() as conn:
            conn.execute(update(voices).where(voices.c.id == voice_id)
                         .values(updated_at=self.clock.now(), **values))
        return self.get_voice(voice_id)

    def get_voice(self, voice_id: int) -> Voice:
        found = self._voices([voice_id])
        if not found:
            raise CurationError(f"no voice #{voice_id}")
        return found[voice_id]

    def find_voice(self, network: Network, handle: str) -> Voice | None:
        """The voice with this handle; a Bluesky DID also finds the voice it was resolved
        for (whatever its handle is now)."""
        key = normalize_handle(network, handle).lower()
        match = identities.c.key == key
        if network == "bluesky" and key.startswith("did:"):
            match = match | (identities.c.remote_id == normalize_handle(network, handle))
        with self.db.engine.connect() as conn:
            voice_id = conn.execute(select(identities.c.voice_id).where(
                identities.c.network == network, match)).scalar()
        return None if voice_id is None else self.get_voice(int(voice_id))

    def find_by_remote_id(self, network: Network, remote_id: str) -> Voice | None:
        if not remote_id:
            return None
        with self.db.engine.connect() as conn:
            voice_id = conn.execute(select(identities.c.voice_id).where(
                identities.c.network == network, identities.c.remote_id == remote_id)).scalar()
        return None if voice_id is None else self.get_voice(int(voice_id))

    def voice_for_account(self, network: Network, handle: str, remote_id: str = "",
                          display_name: str = "") -> Voice:
        """The voice of a remote account seen with `handle` and `remote_id` (an X user id, a
        Bluesky DID), created if none is known. Known by its id, the account keeps its
        voice when its handle changed: the stored handle follows the new one. Raises
        CurationError for a handle we do not accept."""
        handle = normalize_handle(network, handle)
        found = self.find_by_remote_id(network, remote_id)
        if found is not None:
            self.rename_identity(network, remote_id, handle)
            return self.get_voice(found.id)
        found = self.find_voice(network, handle)
        if found is None:
            return self.add_voice(display_name, [(network, handle)],
                                  display_names=[display_name], remote_ids=[remote_id])
        ident = found.on(network)
        if ident is not None and remote_id and ident.remote_id not in ("", remote_id):
            raise CurationError(f"{handle} is now another account ({remote_id}) than the "
                                f"one voice #{found.id} follows ({ident.remote_id})")
        if remote_id and len(remote_id) <= 64:
            self.save_remote_id(network, handle, remote_id)
        return found

    def rename_identity(self, network: Network, remote_id: str, handle: str) -> bool:
        """The account `remote_id` is now called `handle`: store it (True), unless another
        identity already holds that handle (False: left for the curator to join)."""
        handle = normalize_handle(network, handle)
        with self.db.engine.begin() as conn:
            row = conn.execute(select(identities.c.id, identities.c.key).where(
                identities.c.network == network, identities.c.remote_id == remote_id)).first()
            if row is None or row.key == handle.lower():
                return False
            taken = conn.execute(select(identities.c.id).where(
                identities.c.network == network, identities.c.key == handle.lower())).first()
            if taken is not None:
                return False
            conn.execute(update(identities).where(identities.c.id == row.id)
                         .values(handle=handle, key=handle.lower()))
        return True

    def ensure_voice(self, network: Network, handle: str, display_name: str = "") -> Voice:
        """The voice that owns this handle, created (named after it) if none does."""
        found = self.find_voice(network, handle)
        if found is not None:
            return found
        return self.add_voice(display_name, [(network, handle)], display_names=[display_name])

    def list_voices(self) -> list[Voice]:
        with self.db.engine.connect() as conn:
            ids = [int(i) for i in conn.execute(select(voices.c.id)).scalars()]
        return sorted(self._voices(ids).values(), key=lambda v: (v.name.lower(), v.id))

    def _voices(self, ids: Sequence[int]) -> dict[int, Voice]:
        if not ids:
            return {}
        with self.db.engine.connect() as conn:
            rows = conn.execute(select(voices).where(voices.c.id.in_(ids))).all()
            idents = conn.execute(select(identities).where(identities.c.voice_id.in_(ids))
                                  .order_by(identities.c.network, identities.c.id)).all()
        return {r.id: Voice(r.id, r.name, r.role, r.specialty, _topics(r.topics), r.note, tuple(
            Identity(i.network, i.handle, i.remote_id, i.display_name, i.id, i.voice_id)
            for i in idents if i.voice_id == r.id)) for r in rows}

    def link(self, keep: Voice, other: Voice, command: str = "voices link") -> Voice:
        """Join two voices as one person: `other`'s identities and memberships move to
        `keep`, then `other` is gone. Each list `other` was on records a "merged" event."""
        if keep.id == other.id:
            return keep
        clash = {i.network for i in keep.identities} & {i.network for i in other.identities}
        if clash:
            raise CurationError(f"both voices have a {'/'.join(sorted(clash))} identity; "
                                "unlink one first")
        with self.db.engine.begin() as conn:
            conn.execute(update(identities).where(identities.c.voice_id == other.id)
                         .values(voice_id=keep.id))
            theirs = {r.list_id for r in conn.execute(
                select(memberships.c.list_id).where(memberships.c.voice_id == other.id))}
            mine = {r.list_id for r in conn.execute(
                select(memberships.c.list_id).where(memberships.c.voice_id == keep.id))}
            # `other`'s past events now belong to `keep` (its row goes), but still say who
            # they were about, so the history never shows the same "added" twice.
            was = f"as #{other.id} {other.label}"
            for event_id, detail in conn.execute(
                    select(membership_events.c.id, membership_events.c.detail)
                    .where(membership_events.c.voice_id == other.id)).all():
                conn.execute(update(membership_events)
                             .where(membership_events.c.id == event_id)
                             .values(voice_id=keep.id,
                                     detail=f"{detail}; {was}" if detail else was))
            for list_id in theirs - mine:
                conn.execute(update(memberships).where(memberships.c.list_id == list_id,
                                                       memberships.c.voice_id == other.id)
                             .values(voice_id=keep.id))
            conn.execute(delete(memberships).where(memberships.c.voice_id == other.id))
            conn.execute(delete(voices).where(voices.c.id == other.id))
            for list_id in sorted(theirs):
                conn.execute(insert(membership_events).values(
                    list_id=list_id, voice_id=keep.id, at=self.clock.now(), action="merged",
                    present=True, detail=f"#{other.id} {other.label} joined #{keep.id}",
                    command=command))
        return self.get_voice(keep.id)

    def unlink(self, network: Network, handle: str) -> Voice:
        """Split one identity off into a voice of its own (it keeps no list memberships)."""
        voice = self.find_voice(network, handle)
        key = normalize_handle(network, handle).lower()
        if voice is None:
            raise CurationError(f"no voice has the handle {handle!r}")
        if len(voice.identities) == 1:
            raise CurationError(f"{handle} is the only identity of voice #{voice.id}")
        now = self.clock.now()
        with self.db.engine.begin() as conn:
            new_id = _new_id(conn.execute(insert(voices).values(
                name="", role="", specialty="", topics="[]", note="", created_at=now,
                updated_at=now)))
            conn.execute(update(identities).where(identities.c.network == network,
                                                  identities.c.key == key)
                         .values(voice_id=new_id))
        return self.get_voice(new_id)

    def save_remote_id(self, network: Network, handle: str, remote_id: str,
                       display_name: str | None = None) -> None:
        values: dict[str, str] = {"remote_id": remote_id}
        if display_name:
            values["display_name"] = display_name
        with self.db.engine.begin() as conn:
            conn.execute(update(identities).where(identities.c.network == network,
                                                  identities.c.key == handle.lower())
                         .values(**values))

    # ------------------------------------------------------------------ membership

    def members(self, name: str) -> list[Voice]:
        lst = self.get_list(name)
        with self.db.engine.connect() as conn:
            ids = [int(r.voice_id) for r in conn.execute(
                select(memberships.c.voice_id).where(memberships.c.list_id == lst.id))]
        return sorted(self._voices(ids).values(), key=lambda v: (v.label.lower(), v.id))

    def added_at(self, name: str) -> dict[int, datetime]:
        """voice id -> when it (last) joined the list."""
        lst = self.get_list(name)
        with self.db.engine.connect() as conn:
            return {int(r.voice_id): r.added_at for r in conn.execute(
                select(memberships).where(memberships.c.list_id == lst.id))}

    def add_member(self, name: str, voice: Voice, command: str,
                   at: datetime | None = None) -> bool:
        """Put `voice` on the list; False (and nothing recorded) if it already was.
        `at`: when it happened, if earlier than now (an imported "Added at")."""
        lst = self.get_list(name)
        with self.db.engine.begin() as conn:
            return self._put(conn, lst.id, voice.id, True, "added", "", command, at)

    def remove_member(self, name: str, voice: Voice, command: str) -> bool:
        lst = self.get_list(name)
        with self.db.engine.begin() as conn:
            return self._put(conn, lst.id, voice.id, False, "removed", "", command)

    def move_member(self, source: str, target: str, voice: Voice, command: str) -> None:
        src, dst = self.get_list(source), self.get_list(target)
        with self.db.engine.begin() as conn:
            if not self._put(conn, src.id, voice.id, False, "moved", f"to {dst.name}", command):
                raise CurationError(f"{voice.label} is not on {src.name}")
            self._put(conn, dst.id, voice.id, True, "moved", f"from {src.name}", command)

    def _put(self, conn: Connection, list_id: int, voice_id: int, present: bool,
             action: Action, detail: str, command: str, at: datetime | None = None) -> bool:
        now = self.clock.now() if at is None else min(at, self.clock.now())
        on = conn.execute(select(memberships.c.voice_id).where(
            memberships.c.list_id == list_id, memberships.c.voice_id == voice_id)).first()
        if (on is not None) == present:
            return False
        if present:
            conn.execute(insert(memberships).values(list_id=list_id, voice_id=voice_id,
                                                    added_at=now))
        else:
            conn.execute(delete(memberships).where(memberships.c.list_id == list_id,
                                                   memberships.c.voice_id == voice_id))
        conn.execute(insert(membership_events).values(
            list_id=list_id, voice_id=voice_id, at=now, action=action, present=present,
            detail=detail, command=command))
        return True

    def history(self, name: str) -> list[MembershipEvent]:
        lst = self.get_list(name)
        with self.db.engine.connect() as conn:
            rows = conn.execute(select(membership_events)
                                .where(membership_events.c.list_id == lst.id)
                                .order_by(membership_events.c.at, membership_events.c.id)).all()
        people = self._voices(sorted({int(r.voice_id) for r in rows}))
        return [MembershipEvent(r.at, people[r.voice_id], r.action, bool(r.present), r.detail,
                                r.command) for r in rows]

    def members_on(self, name: str, when: date | datetime) -> list[Voice]:
        """Who was on the list at `when` (a date: at the end of that day, UTC)."""
        limit = moment(when)
        state: dict[int, Voice] = {}
        for event in self.history(name):
            if event.at > limit:
                break
            if event.present:
                state[event.voice.id] = event.voice
            else:
                state.pop(event.voice.id, None)
        return sorted(state.values(), key=lambda v: (v.label.lower(), v.id))
