"""Adopt changes made on a remote list (in a Mastodon, X or Bluesky app) into the
curated list.

What changed remotely is what differs from our snapshot of the remote list, taken at the
last complete sync or pull: accounts added there since are added here, accounts removed
there since are removed here. Members we never synced are left alone. On Bluesky members
are matched by DID, so an account that changed its handle is the same voice (whose stored
handle follows the new one).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aggregator.curation.model import RemoteLink, Voice
from aggregator.curation.remote import RemoteLists, RemoteMember, member_key
from aggregator.curation.store import CurationStore
from aggregator.curation.sync import get_snapshot, save_snapshot
from aggregator.errors import CurationError
from aggregator.models import Network


@dataclass
class PullPlan:
    network: Network
    list_name: str
    link: RemoteLink
    added: list[RemoteMember] = field(default_factory=list)
    removed: list[Voice] = field(default_factory=list)
    remote_now: list[RemoteMember] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.added and not self.removed

    def lines(self) -> list[str]:
        return ([f"+ {m.handle}" + (f" ({m.display_name})" if m.display_name else "")
                 for m in self.added] + [f"- {v.label}" for v in self.removed])


def plan_pull(store: CurationStore, list_name: str, network: Network,
              remote: RemoteLists) -> PullPlan:
    lst = store.get_list(list_name)
    link = lst.link(network)
    if link is None:
        raise CurationError(f"list {list_name!r} has no {network} list linked")
    plan = PullPlan(network, lst.name, link, remote_now=remote.fetch_members(link.remote_id))
    base = get_snapshot(store, lst.id, network)
    curated: dict[str, Voice] = {}
    by_handle: set[str] = set()  # a Bluesky member whose DID we have not resolved yet
    for voice in store.members(list_name):
        ident = voice.on(network)
        if ident is not None:
            curated[member_key(network, ident.handle, ident.remote_id)] = voice
            by_handle.add(ident.key)
    now = {member_key(network, m.handle, m.remote_id): m for m in plan.remote_now}
    plan.added = [m for k, m in sorted(now.items())
                  if k not in base and k not in curated and m.key not in by_handle]
    if network == "bluesky":  # the same accounts under new handles: follow the renames
        for k, m in now.items():
            if k in curated:
                store.rename_identity(network, m.remote_id, m.handle)
    plan.removed = [curated[k] for k in sorted(base - now.keys()) if k in curated]
    return plan


def apply_pull(store: CurationStore, plan: PullPlan, command: str) -> list[str]:
    """Apply the pulled diff; returns one line per change (bad remote handles included)."""
    done: list[str] = []
    for member in plan.added:
        remote_id = member.remote_id if plan.network != "mastodon" else ""
        try:
            voice = store.voice_for_account(plan.network, member.handle, remote_id,
                                            member.display_name)
        except CurationError as exc:
            done.append(f"skipped {member.handle}: {exc}")
            continue
        if store.add_member(plan.list_name, voice, command):
            done.append(f"added {member.handle}")
    for voice in plan.removed:
        if store.remove_member(plan.list_name, voice, command):
            done.append(f"removed {voice.label}")
    save_snapshot(store, store.get_list(plan.list_name).id, plan.network, plan.remote_now)
    return done
