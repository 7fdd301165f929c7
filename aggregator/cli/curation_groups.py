"""The `lists` and `voices` command groups and what their commands share.

Both `curation` (local lists and voices) and `curation_sync` (remote lists) register
commands on these groups; owning them here lets each import this module and neither
import the other.
"""

from __future__ import annotations

from aggregator.cli.app import AppContext, rounds
from aggregator.curation.store import CurationStore
from aggregator.textutil import terminal_safe


def curation_store(app: AppContext) -> CurationStore:
    return CurationStore(app.db, app.clock)


def safe(text: str) -> str:
    return terminal_safe(text, single_line=True)


@rounds.group()
def lists() -> None:
    """Curated lists: named sets of voices, with their membership history, CSV
    import/export and sync to Mastodon, X and Bluesky lists.

    \b
    Accounts are written user@domain (Mastodon), x:name or @name (X), bsky:handle or
    did:plc:... (Bluesky), or #ID for a voice.
    """


@rounds.group()
def voices() -> None:
    """Voices: people and organizations worth hearing, each with identities on Mastodon
    (user@domain), X (x:name) and Bluesky (bsky:handle, or did:plc:...)."""
