"""Keep remote lists in step with curated lists.

`plan_sync` compares the curated membership with what the remote list holds now and
resolves what it will need (ids, and on Mastodon whether we follow each account to add).
`apply_sync` makes the changes one by one, recording each in `sync_log` and in the remote
snapshot (`remote_members`) as it happens. The plan is recomputed from the remote list
every run, so a sync interrupted by a 429 or an error, run again, does only what is left
and never repeats a change. `plan_pull`/`apply_pull` go the other way: adopt what was
added or removed on the remote list since our last snapshot of it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import delete, insert, select

from aggregator.curation.model import Identity, RemoteLink, Voice
from aggregator.curation.remote import RemoteLists, RemoteMember, member_key
from aggregator.curation.store import CurationStore
from aggregator.errors import CollectorError, CurationError, NotFound
from aggregator.models import Network
from aggregator.storage.curation_schema import remote_members, sync_log

logger = logging.getLogger(__name__)
Report = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Addition:
    identity: Identity
    voice: Voice
    remote_id: str
    needs_follow: bool = False  # Mastodon: not followed yet


@dataclass
class SyncPlan:
    network: Network
    list_name: str
    link: RemoteLink
    add: list[Addition] = field(default_factory=list)
    remove: list[RemoteMember] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)  # "handle: why"
    without_identity: list[Voice] = field(default_factory=list)
    remote_now: list[RemoteMember] = field(default_factory=list)
    twice: list[RemoteMember] = field(default_factory=list)  # a second listitem (Bluesky)

    @property
    def empty(self) -> bool:
        return not self.add and not self.remove

    def lines(self) -> list[str]:
        out = [f"+ add {a.identity.handle}" + (" (not followed yet)" if a.needs_follow else "")
               for a in self.add]
        out += [f"- remove {m.handle}" + (" (on the list twice)" if m in self.twice else "")
                for m in self.remove]
        out += [f"! cannot resolve {u}" for u in self.unresolved]
        return out


@dataclass
class SyncResult:
    applied: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    error: CollectorError | None = None  # what stopped the run early, if anything

    @property
    def complete(self) -> bool:
        return self.error is None and not self.failed


_BY_ID: tuple[Network, ...] = ("twitter", "bluesky")  # members are matched by remote id


def _key(network: Network, handle: str, remote_id: str) -> str:
    # X usernames and Bluesky handles change; the user id and the DID do not. Mastodon ids
    # differ per server; acct does not.
    return remote_id if network in _BY_ID and remote_id else handle.lower()


def plan_sync(store: CurationStore, list_name: str, network: Network,
              remote: RemoteLists) -> SyncPlan:
    lst = store.get_list(list_name)
    link = lst.link(network)
    if link is None:
        raise CurationError(f"list {list_name!r} has no {network} list linked: "
                            f"rounds lists link {list_name} --{_flag(network)} ACCOUNT:LIST")
    plan = SyncPlan(network, lst.name, link)
    plan.remote_now = remote.fetch_members(link.remote_id)
    have: dict[str, RemoteMember] = {}
    for m in plan.remote_now:
        k = _key(network, m.handle, m.remote_id)
        if k in have:  # on the list twice (two listitem records): one goes
            plan.twice.append(m)
        have.setdefault(k, m)
    wanted: dict[str, tuple[Identity, Voice]] = {}
    for voice in store.members(list_name):
        ident = voice.on(network)
        if ident is None:
            plan.without_identity.append(voice)
            continue
        remote_id = ident.remote_id if network in _BY_ID else ""
        if network in _BY_ID and not remote_id:
            try:
                remote_id = remote.fetch_id(ident.handle)
            except NotFound as exc:
                plan.unresolved.append(f"{ident.handle}: {exc.message}")
                continue
            store.save_remote_id(network, ident.handle, remote_id)
        current = have.get(_key(network, ident.handle, remote_id))
        handle = ident.handle
        if current is not None and network == "bluesky" and current.key != ident.key \
                and store.rename_identity(network, remote_id, current.handle):
            handle = current.handle  # renamed on Bluesky since: same account, new handle
        ident = Identity(ident.network, handle, remote_id, ident.display_name, ident.id,
                         ident.voice_id)
        wanted[_key(network, ident.handle, remote_id)] = (ident, voice)
    plan.remove = [have[k] for k in sorted(have.keys() - wanted.keys())] + plan.twice
    missing = sorted(wanted.keys() - have.keys(), key=lambda k: wanted[k][0].key)
    resolved: list[tuple[Identity, Voice, str]] = []
    for k in missing:
        ident, voice = wanted[k]
        if ident.remote_id and network in _BY_ID:
            resolved.append((ident, voice, ident.remote_id))
            continue
        try:
            resolved.append((ident, voice, remote.fetch_id(ident.handle)))
        except NotFound as exc:
            plan.unresolved.append(f"{ident.handle}: {exc.message}")
    following = remote.fetch_following([r for _, _, r in resolved]) if resolved else set()
    plan.add = [Addition(i, v, r, needs_follow=r not in following) for i, v, r in resolved]
    return plan


def _flag(network: Network) -> str:
    return {"twitter": "twitter", "bluesky": "bluesky"}.get(network, "mastodon")


def apply_sync(store: CurationStore, plan: SyncPlan, remote: RemoteLists, *,
               follow: bool = False, report: Report = logger.info) -> SyncResult:
    """Apply the plan change by change; stops at the first error that is not about one
    member (rate limit, auth, network) and returns what was done until then."""
    result = SyncResult()
    list_id = store.get_list(plan.list_name).id
    list_rid = plan.link.remote_id
    for handle in plan.unresolved:
        result.failed.append(f"cannot resolve {handle}")
        _log(store, list_id, plan.network, "add", handle.split(":")[0], "failed",
             "cannot be resolved")
    try:
        for item in plan.add:
            handle = item.identity.handle
            if item.needs_follow:
                if not follow:
                    msg = (f"not added {handle}: Mastodon only lets you add accounts you "
                           "follow; follow it, or run sync with --follow")
                    result.failed.append(msg)
                    _log(store, list_id, plan.network, "add", handle, "skipped", "not followed")
                    report(msg)
                    continue
                if not remote.follow(item.remote_id):
                    msg = f"not added {handle}: follow request sent, awaiting approval"
                    result.failed.append(msg)
                    _log(store, list_id, plan.network, "follow", handle, "done", "requested")
                    report(msg)
                    continue
                _log(store, list_id, plan.network, "follow", handle, "done", "")
                report(f"followed {handle}")
            try:
                remote.add_member(list_rid, item.remote_id)  # already there counts as done
            except NotFound as exc:
                result.failed.append(f"not added {handle}: {exc.message}")
                _log(store, list_id, plan.network, "add", handle, "failed", exc.message)
                report(result.failed[-1])
                continue
            _remember(store, list_id, plan.network,
                      member_key(plan.network, item.identity.handle, item.remote_id),
                      item.remote_id)
            _log(store, list_id, plan.network, "add", handle, "done", "")
            result.applied.append(f"added {handle}")
            report(result.applied[-1])
        kept = {_key(plan.network, m.handle, m.remote_id) for m in plan.remote_now
                if m not in plan.remove}
        for member in plan.remove:
            with contextlib.suppress(NotFound):  # not on the list (any more): done
                remote.remove_member(list_rid, member)
            if _key(plan.network, member.handle, member.remote_id) not in kept:
                _forget(store, list_id, plan.network, member)
            _log(store, list_id, plan.network, "remove", member.handle, "done", "")
            result.applied.append(f"removed {member.handle}")
            report(result.applied[-1])
    except CollectorError as exc:
        result.error = exc
        _log(store, list_id, plan.network, "sync", "", "failed", str(exc))
        return result
    if result.complete:
        snapshot = [m for m in plan.remote_now if m not in plan.remove] + [
            RemoteMember(a.identity.handle, a.remote_id) for a in plan.add]
        save_snapshot(store, list_id, plan.network, snapshot)
        store.mark_synced(list_id, plan.network)
    return result


def _log(store: CurationStore, list_id: int, network: Network, action: str, handle: str,
         outcome: str, detail: str) -> None:
    with store.db.engine.begin() as conn:
        conn.execute(insert(sync_log).values(list_id=list_id, network=network,
                                             at=store.clock.now(), action=action,
                                             handle=handle, outcome=outcome, detail=detail))


def _remember(store: CurationStore, list_id: int, network: Network, key: str,
              remote_id: str) -> None:
    with store.db.engine.begin() as conn:
        conn.execute(delete(remote_members).where(
            remote_members.c.list_id == list_id, remote_members.c.network == network,
            remote_members.c.key == key))
        conn.execute(insert(remote_members).values(list_id=list_id, network=network,
                                                   key=key, remote_id=_fit(remote_id)))


def _fit(remote_id: str) -> str:
    return remote_id if len(remote_id) <= 64 else ""  # the column's width on PostgreSQL


def _forget(store: CurationStore, list_id: int, network: Network, m: RemoteMember) -> None:
    with store.db.engine.begin() as conn:
        conn.execute(delete(remote_members).where(
            remote_members.c.list_id == list_id, remote_members.c.network == network,
            remote_members.c.key == member_key(network, m.handle, m.remote_id)))


def save_snapshot(store: CurationStore, list_id: int, network: Network,
                  members: list[RemoteMember]) -> None:
    with store.db.engine.begin() as conn:
        conn.execute(delete(remote_members).where(remote_members.c.list_id == list_id,
                                                  remote_members.c.network == network))
        rows = {member_key(network, m.handle, m.remote_id): _fit(m.remote_id)
                for m in members}
        if rows:
            conn.execute(insert(remote_members), [
                {"list_id": list_id, "network": network, "key": k, "remote_id": v}
                for k, v in rows.items()])


def get_snapshot(store: CurationStore, list_id: int, network: Network) -> set[str]:
    with store.db.engine.connect() as conn:
        return {r.key for r in conn.execute(select(remote_members.c.key).where(
            remote_members.c.list_id == list_id, remote_members.c.network == network))}


def list_sync_log(store: CurationStore, list_name: str, limit: int = 50) -> list[str]:
    lst = store.get_list(list_name)
    with store.db.engine.connect() as conn:
        rows = conn.execute(select(sync_log).where(sync_log.c.list_id == lst.id)
                            .order_by(sync_log.c.at.desc(), sync_log.c.id.desc())
                            .limit(limit)).all()
    return [f"{r.at:%Y-%m-%d %H:%M:%S} {r.network} {r.action} {r.handle} {r.outcome}"
            + (f" ({r.detail})" if r.detail else "") for r in rows]
