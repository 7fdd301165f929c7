"""Collecting from curated lists: a source may say ``curated = "LIST"``.

`expand_curated` turns each such source into sources the collectors know, on the source's
account network: the linked remote list (keeping the source's name) when the list is
linked for that account, plus an account timeline (kind ``user``, named ``NAME @handle``)
for each member the remote list does not hold according to the last sync (or for every
member when no remote list is linked). On a `feed` account it is the feed (kind ``feed``,
named ``NAME host/path``) of each member with a feed identity, their blog. The list's
default topics join the source's.

`voice_topics_of` maps a post's author to the topics of the voice it belongs to, the
weaker "voice" signal the classifier takes as `voice_topics`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from aggregator.curation.bluesky import list_uri
from aggregator.curation.remote import member_key
from aggregator.curation.store import CurationStore
from aggregator.curation.sync import get_snapshot
from aggregator.models import Post, Target
from aggregator.settings import Settings, SourceSettings
from aggregator.topics.wiring import VoiceIndex, voice_topics_from


def expand_curated(settings: Settings, store: CurationStore) -> Settings:
    """`settings` with every curated source replaced by list/user sources (unchanged when
    there are none). Raises CurationError for a source naming an unknown list."""
    if not any(s.target.kind == "curated" for s in settings.sources):
        return settings
    out: list[SourceSettings] = []
    for source in settings.sources:
        if source.target.kind != "curated":
            out.append(source)
            continue
        out += curated_sources(settings, store, source)
    return replace(settings, sources=tuple(out))


def curated_sources(settings: Settings, store: CurationStore,
                    source: SourceSettings) -> list[SourceSettings]:
    network = settings.accounts[source.account].network
    lst = store.get_list(source.target.value)
    topics = tuple(dict.fromkeys((*source.topics, *lst.topics)))
    link = lst.link(network)
    derived: list[SourceSettings] = []
    on_remote: set[str] = set()
    if link is not None and link.account == source.account:
        remote_id = list_uri(link.remote_id) if network == "bluesky" else link.remote_id
        derived.append(replace(source, target=Target("list", remote_id), topics=topics))
        on_remote = get_snapshot(store, lst.id, network)
    for voice in store.members(lst.name):
        ident = voice.on(network)
        if ident is None or member_key(network, ident.handle, ident.remote_id) in on_remote:
            continue
        if network == "feed":  # a voice's blog: its feed, named by where it lives
            where = ident.handle.split("://", 1)[-1].rstrip("/")
            derived.append(replace(source, name=f"{source.name} {where}",
                                   target=Target("feed", ident.handle), topics=topics))
            continue
        # a Bluesky author by DID once known: it outlives a change of handle
        actor = ident.remote_id if network == "bluesky" and ident.remote_id else ident.handle
        derived.append(replace(source, name=f"{source.name} @{ident.handle}",
                               target=Target("user", actor), topics=topics))
    return derived


def voice_topic_index(store: CurationStore) -> VoiceIndex:
    """(network, identity key or remote id) -> the topics of the voice it belongs to: plain
    data, so an import's worker process can classify with it (`voice_topics_from`)."""
    index: VoiceIndex = {}
    for voice in store.list_voices():
        if not voice.topics:
            continue
        for ident in voice.identities:
            index[(ident.network, ident.key)] = voice.topics
            if ident.remote_id:
                index[(ident.network, ident.remote_id)] = voice.topics
    return index


def voice_topics_of(store: CurationStore) -> Callable[[Post], tuple[str, ...]]:
    """author -> its voice's topics. Mastodon authors match by acct (user@domain), X
    authors by user id (resolved by sync) or username, Bluesky authors by DID or handle."""
    return voice_topics_from(voice_topic_index(store))
