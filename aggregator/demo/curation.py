"""The demo's curated lists (data/demo/curation.toml): voices with their Mastodon and X
identities, roles and topics, and a membership history replayed at past times.

The history goes through the real CurationStore, on a clock set back to when each change
happened, so `c` in the reader shows what `rounds lists history` would.
"""

from __future__ import annotations

import tomllib
from datetime import timedelta
from typing import Any

from aggregator.clock import Clock, ManualClock
from aggregator.curation.model import Voice
from aggregator.curation.store import CurationStore
from aggregator.demo.samples import DATA, load_spec
from aggregator.models import Network
from aggregator.storage.db import Database

COMMAND = "demo"  # how the demo's changes show in the history


def load_curation() -> dict[str, Any]:
    with (DATA / "curation.toml").open("rb") as fh:
        return tomllib.load(fh)


def seed_curation(db: Database, clock: Clock) -> CurationStore:
    """Create the demo's voices and lists (once: an archive that has lists keeps them)."""
    now = clock.now()
    past = ManualClock(now - timedelta(days=90))  # moved to each event's time below
    store = CurationStore(db, past)
    if store.list_lists():
        return CurationStore(db, clock)
    data = load_curation()
    people = {p["id"]: p for p in load_spec()["people"]}
    voices: dict[str, Voice] = {}
    for entry in data["voices"]:
        person = people[entry["person"]]
        handles: list[tuple[Network, str]] = []
        if person.get("mastodon"):
            handles.append(("mastodon", person["mastodon"]))
        if person.get("x"):
            handles.append(("twitter", person["x"]))
        voices[entry["person"]] = store.add_voice(
            person["name"], handles, role=entry.get("role", ""),
            specialty=entry.get("specialty", ""), topics=entry.get("topics", ()),
            display_names=[person["name"]] * len(handles))
    for lst in data["lists"]:
        store.create_list(lst["name"], lst.get("topics", ()))
    events = sorted(((e["days"], i, lst["name"], e) for lst in data["lists"]
                     for i, e in enumerate(lst["events"])), key=lambda x: (-x[0], x[1]))
    for days, _, name, event in events:
        past.advance((now - timedelta(days=days) - past.now()).total_seconds())
        if "add" in event:
            store.add_member(name, voices[event["add"]], COMMAND)
        elif "remove" in event:
            store.remove_member(name, voices[event["remove"]], COMMAND)
        elif "move" in event:
            store.move_member(name, event["to"], voices[event["move"]], COMMAND)
    return CurationStore(db, clock)
