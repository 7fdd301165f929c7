"""Bluesky lists and starter packs as curators write them, and importing one as a curated
list.

A list is linked as ``DID/RKEY`` (its at:// URI without the fixed parts): whole URIs do not
fit the 64-character remote-id column on PostgreSQL, and the DID (not a handle, which can
change) is what keeps naming the same list. A starter pack is a record pointing at a list
(``app.bsky.graph.starterpack`` -> ``list``): importing one imports that list's members.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from aggregator.collectors.bluesky.uris import LIST, check_target, is_did, parse_at_uri
from aggregator.curation.store import CurationStore
from aggregator.errors import CurationError

if TYPE_CHECKING:  # remote.py uses this module's list ids
    from aggregator.curation.remote_apis import BlueskyLists

STARTER_PACK = "app.bsky.graph.starterpack"
_WEB_HOSTS = {"bsky.app", "www.bsky.app"}


def list_uri(list_id: str) -> str:
    """A linked list id (``DID/RKEY``, or a whole at:// URI) as its at:// URI."""
    if list_id.startswith("at://"):
        return list_id
    did, _, rkey = list_id.partition("/")
    return f"at://{did}/{LIST}/{rkey}"


def link_id(uri: str) -> str:
    """The at:// URI of a list whose authority is a DID -> ``DID/RKEY``."""
    parsed = parse_at_uri(uri)
    if parsed is None or not parsed.has_did or parsed.collection != LIST:
        raise CurationError(f"{uri[:120]!r} is not the at:// URI of a Bluesky list")
    if len(parsed.authority) + len(parsed.rkey) + 1 > 64:
        raise CurationError(f"the Bluesky list {uri[:120]!r} has an identifier too long to "
                            "store (over 64 characters)")
    return f"{parsed.authority}/{parsed.rkey}"


def web_list_url(list_id: str) -> str:
    """https://bsky.app/profile/DID/lists/RKEY for a linked list id."""
    parsed = parse_at_uri(list_uri(list_id))
    if parsed is None:
        return list_id
    return f"https://bsky.app/profile/{parsed.authority}/lists/{parsed.rkey}"


@dataclass(frozen=True, slots=True)
class Target:
    kind: str  # "list" or "starter pack"
    uri: str  # at://AUTHORITY/COLLECTION/RKEY, the authority maybe still a handle


def parse_target(text: str) -> Target:
    """A list or starter pack as written: a bsky.app URL or an at:// URI."""
    value = text.strip()
    parsed = parse_at_uri(value)
    if parsed is not None and parsed.collection == STARTER_PACK:
        return Target("starter pack", str(parsed))
    parts = urlsplit(value)
    segs = [unquote(s) for s in parts.path.split("/") if s]
    if parts.scheme == "https" and (parts.hostname or "") in _WEB_HOSTS and len(segs) == 3 \
            and segs[0] == "starter-pack":
        uri = parse_at_uri(f"at://{segs[1].lstrip('@')}/{STARTER_PACK}/{segs[2]}")
        if uri is not None:
            return Target("starter pack", str(uri))
    try:
        return Target("list", check_target("list", value))
    except ValueError:
        raise CurationError(f"{value[:120]!r} is not a Bluesky list or starter pack: use "
                            "https://bsky.app/profile/HANDLE/lists/RKEY, "
                            "https://bsky.app/starter-pack/HANDLE/RKEY or an at:// URI") \
            from None


def with_did(remote: BlueskyLists, uri: str) -> str:
    """The URI with its authority resolved to a DID (a handle can move to someone else)."""
    parsed = parse_at_uri(uri)
    if parsed is None or is_did(parsed.authority):
        return uri
    did = remote.fetch_id(parsed.authority.lower())
    return f"at://{did}/{parsed.collection}/{parsed.rkey}"


def resolve_list(remote: BlueskyLists, text: str) -> tuple[str, str]:
    """(the at:// URI of the list, a name for it) for a list or starter pack as written."""
    target = parse_target(text)
    uri = with_did(remote, target.uri)
    if target.kind == "list":
        view = remote.api.get_list(uri)
        return uri, str(view.get("name") or "")
    pack = remote.api.get_starter_pack(uri)
    record = pack.get("record") if isinstance(pack.get("record"), dict) else {}
    inner = pack.get("list") if isinstance(pack.get("list"), dict) else {}
    found = (inner or {}).get("uri") or (record or {}).get("list")
    if not isinstance(found, str) or parse_at_uri(found) is None:
        raise CurationError(f"starter pack {uri} has no list of members")
    return found, str((record or {}).get("name") or "")


@dataclass
class BlueskyImport:
    list_name: str
    source: str  # "list NAME" / "starter pack NAME"
    created: bool = False
    added: list[str] = field(default_factory=list)
    already: int = 0
    skipped: list[str] = field(default_factory=list)


def import_bluesky(store: CurationStore, remote: BlueskyLists, text: str, list_name: str,
                   command: str) -> BlueskyImport:
    """Fill curated list `list_name` (created when missing) with the members of a Bluesky
    list or starter pack: each account becomes a voice (named by its display name, or its
    handle), known by its DID; each addition is recorded in the list's history."""
    kind = parse_target(text).kind
    uri, remote_name = resolve_list(remote, text)
    members = remote.fetch_members(uri)
    result = BlueskyImport(list_name, f"{kind} {remote_name}".strip())
    if list_name not in {lst.name for lst in store.list_lists()}:
        store.create_list(list_name)
        result.created = True
    for member in members:
        try:
            voice = store.voice_for_account("bluesky", member.handle, member.remote_id,
                                            member.display_name or member.handle)
        except CurationError as exc:
            result.skipped.append(f"{member.handle}: {exc}")
            continue
        if store.add_member(list_name, voice, command):
            result.added.append(member.handle)
        else:
            result.already += 1
    return result
