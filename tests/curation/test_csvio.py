"""CSV import/export in Mastodon's formats and ours."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.clock import ManualClock
from aggregator.curation.csvio import export_csv, import_csv
from aggregator.curation.store import CurationStore
from aggregator.errors import CurationError
from aggregator.storage.db import Database, open_database

# As Mastodon writes it (Export#to_lists_csv): no header, list title then acct.
MASTODON_LISTS = (
    "Nurses,alice@example.social\n"
    "Nurses,carol@nurses.example\n"
    "Public health,dana@who.example\n"
    "Nurses,Bob@Med.Example\n"
)
MASTODON_FOLLOWING = (
    "Account address,Show boosts,Notify on new posts,Languages\n"
    "alice@example.social,true,false,\n"
    "erin@pharm.example,false,false,\"en, de\"\n"
)


def test_a_mastodon_export_imports(db: Database, clock: ManualClock) -> None:
    store = CurationStore(db, clock)
    report = import_csv(store, MASTODON_LISTS)
    assert (report.added, report.bad, report.lists_created) == (4, [], ["Nurses",
                                                                        "Public health"])
    assert sorted(v.identities[0].handle for v in store.members("Nurses")) == [
        "Bob@med.example", "alice@example.social", "carol@nurses.example"]
    again = import_csv(store, MASTODON_LISTS)
    assert (again.added, again.already) == (0, 4)


def test_mastodon_format_round_trips_identically(tmp_path: Path, clock: ManualClock) -> None:
    first = open_database(f"sqlite:///{tmp_path / 'a.db'}")
    second = open_database(f"sqlite:///{tmp_path / 'b.db'}")
    a, b = CurationStore(first, clock), CurationStore(second, clock)
    import_csv(a, MASTODON_LISTS)
    a.add_member("Nurses", a.ensure_voice("twitter", "DrXOnly"), "lists add")
    exported = export_csv(a)
    assert "DrXOnly" not in exported  # Mastodon-format files hold fediverse accounts only
    assert exported.splitlines()[0] == "Nurses,alice@example.social"
    import_csv(b, exported)
    assert export_csv(b) == exported
    for name in ("Nurses", "Public health"):
        assert ({v.identities[0].handle for v in b.members(name)}
                == {i.handle for v in a.members(name) for i in v.identities
                    if i.network == "mastodon"})
    first.dispose()
    second.dispose()


def test_rich_format_keeps_everything(db: Database, clock: ManualClock, tmp_path: Path) -> None:
    store = CurationStore(db, clock)
    store.create_list("Nurses")
    voice = store.add_voice("=HYPERLINK(\"evil\")", [("mastodon", "alice@example.social"),
                                                     ("twitter", "DrAlice"),
                                                     ("feed", "https://alice.example/rss")],
                            role="nurse", topics=["oncology", "vaccines"], note="ICU, night")
    store.add_member("Nurses", voice, "lists add")
    store.save_remote_id("twitter", "DrAlice", "1234567890123456789")
    text = export_csv(store, fmt="rich")
    lines = text.splitlines()
    assert lines[0] == ("List name,Account address,Platform,Account ID,Display name,Role,"
                        "Topics,Note,Added at")
    # a display name that a spreadsheet would run as a formula is quoted
    assert lines[2].startswith("Nurses,DrAlice,x,1234567890123456789,\"'=HYPERLINK")
    assert lines[3].startswith("Nurses,https://alice.example/rss,feed,,")  # her blog
    other = open_database(f"sqlite:///{tmp_path / 'c.db'}")
    copy = CurationStore(other, clock)
    import_csv(copy, text)
    assert export_csv(copy, fmt="rich").splitlines()[1:] == lines[1:]
    assert {v.name for v in copy.members("Nurses")} == {'=HYPERLINK("evil")'}
    other.dispose()


def test_a_following_export_imports_into_a_named_list(db: Database, clock: ManualClock) -> None:
    store = CurationStore(db, clock)
    with pytest.raises(CurationError, match="--list NAME"):
        import_csv(store, MASTODON_FOLLOWING)
    report = import_csv(store, MASTODON_FOLLOWING, into_list="Follows")
    assert report.added == 2
    assert len(store.members("Follows")) == 2


BAD = (
    "Nurses,alice@example.social\n"
    "Nurses,not-an-address\n"
    "Nurses\n"
    ",carol@nurses.example\n"
    "Nurses,dana@who.example\n"
)


def test_bad_rows_are_reported_by_number_and_nothing_is_imported(db: Database,
                                                                  clock: ManualClock) -> None:
    store = CurationStore(db, clock)
    with pytest.raises(CurationError) as caught:
        import_csv(store, BAD)
    message = str(caught.value)
    assert "3 bad row(s), nothing imported" in message
    assert "row 2: 'not-an-address' is not a Mastodon address" in message
    assert "row 3: expected 2 columns" in message
    assert "row 4: List name is empty" in message
    assert store.list_lists() == []


def test_skip_bad_imports_the_good_rows(db: Database, clock: ManualClock) -> None:
    store = CurationStore(db, clock)
    report = import_csv(store, BAD, skip_bad=True)
    assert [b.row for b in report.bad] == [2, 3, 4]
    assert sorted(v.identities[0].handle for v in store.members("Nurses")) == [
        "alice@example.social", "dana@who.example"]


def test_rich_rows_are_checked_too(db: Database, clock: ManualClock) -> None:
    text = ("List name,Account address,Platform,Account ID,Display name,Role,Topics,Note,"
            "Added at\n"
            "L,dr-bob,x,,,,,,\n"
            "L,a@b.example,myspace,,,,,,\n"
            "L,a@b.example,mastodon,,,,,,yesterday\n")
    with pytest.raises(CurationError) as caught:
        import_csv(CurationStore(db, clock), text)
    assert "row 2: 'dr-bob' is not an X username" in str(caught.value)
    assert "row 3: unknown platform 'myspace'" in str(caught.value)
    assert "row 4: Added at 'yesterday' is not an ISO date" in str(caught.value)
