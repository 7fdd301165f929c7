"""Curated lists on Bluesky: `rounds lists link/sync/pull --network bluesky` and
`rounds lists import-bluesky`, against the loopback XRPC fake (`tests/fakes/bluesky_lists`)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from aggregator.curation.handles import parse_handle
from aggregator.errors import CurationError
from tests.curation.conftest import Run, runner
from tests.fakes.bluesky import ACCOUNT_DID, APP_PASSWORD, HANDLE, PASSWORD_ENV, FakeBluesky
from tests.fakes.bluesky_lists import PACK_OWNER, BlueskyListsFake
from tests.fakes.server import LoopbackServer, Reply


@dataclass
class Sky:
    fake: BlueskyListsFake
    server: LoopbackServer
    run: Run
    db: Path

    def writes(self) -> list[dict[str, object]]:
        return [r.json() for r in self.server.log
                if r.path.endswith(("createRecord", "deleteRecord"))]


@pytest.fixture
def sky(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> Iterator[Sky]:
    fake = BlueskyListsFake(FakeBluesky())
    server = LoopbackServer(fake).start()
    db = tmp_path / "rounds.db"
    config = tmp_path / "rounds.toml"
    config.write_text(f"""
[database]
url = "sqlite:///{db}"
[accounts.sky]
network = "bluesky"
base_url = "{server.base_url}"
handle = "{HANDLE}"
app_password_env = "{PASSWORD_ENV}"
[accounts.reader]
network = "bluesky"
base_url = "{server.base_url}"
""")
    config.chmod(0o600)
    monkeypatch.setenv(PASSWORD_ENV, APP_PASSWORD)
    try:
        yield Sky(fake, server, runner(capsys, "--config", str(config)), db)
    finally:
        server.stop()


def curate(sky: Sky) -> tuple[str, dict[str, str]]:
    """A curated list of three voices and a Bluesky list of the curator that differs from
    it: alice is on both, bob and carol are to add, a stranger is to remove."""
    f = sky.fake
    did = {h: f.make_account(f"{h}.example.org") for h in ("alice", "bob", "carol", "stranger")}
    uri = f.make_list("Cardiology", [did["alice"], did["stranger"]])
    sky.run("lists", "create", "Cardio")
    sky.run("lists", "add", "Cardio", "bsky:Alice.example.org", "bsky:@bob.example.org",
            did["carol"])
    rkey = uri.rsplit("/", 1)[1]
    out, _ = sky.run("lists", "link", "Cardio", "--bluesky",
                     f"sky:https://bsky.app/profile/{HANDLE}/lists/{rkey}")
    assert f"linked Cardio to bluesky list {ACCOUNT_DID}/{rkey} on account sky" in out
    return uri, did


# ---------------------------------------------------------------- handles


@pytest.mark.parametrize(("given", "expected"), [
    ("bsky:cdc.gov", "cdc.gov"),
    ("bsky:@Alice.BSKY.social", "alice.bsky.social"),
    ("bluesky:alice.bsky.social", "alice.bsky.social"),
    ("did:plc:ragtjsm2j2vknwkz3zp4oxrd", "did:plc:ragtjsm2j2vknwkz3zp4oxrd"),
    ("did:web:clinic.example.org", "did:web:clinic.example.org"),
    ("bsky:did:plc:ragtjsm2j2vknwkz3zp4oxrd", "did:plc:ragtjsm2j2vknwkz3zp4oxrd"),
])
def test_bluesky_handle_forms(given: str, expected: str) -> None:
    assert parse_handle(given) == ("bluesky", expected)


@pytest.mark.parametrize(("given", "reason"), [
    ("bsky:alice", "is not a Bluesky handle: expected a domain name"),
    ("bsky:al ice.bsky.social", "is not a Bluesky handle"),
    ("did:key:z6MkhaXgBZDvotDkL5257", "is not a Bluesky DID: expected did:plc:"),
    ("did:plc:", "is not a Bluesky DID"),
])
def test_bad_bluesky_handles_say_what_is_expected(given: str, reason: str) -> None:
    with pytest.raises(CurationError, match=reason):
        parse_handle(given)


def test_other_networks_keep_their_forms() -> None:
    assert parse_handle("@alice@example.social") == ("mastodon", "alice@example.social")
    assert parse_handle("x:DrBob") == ("twitter", "DrBob")
    with pytest.raises(CurationError, match=r"bsky:handle or did:plc:\.\.\. \(Bluesky\)"):
        parse_handle("alice.bsky.social")  # a bare handle: which network? Refused


# ---------------------------------------------------------------- sync and pull


def test_a_curated_list_syncs_to_bluesky_and_back(sky: Sky) -> None:
    uri, did = curate(sky)
    out, _ = sky.run("lists", "sync", "Cardio", "--network", "bluesky", "--dry-run")
    assert "2 to add, 1 to remove" in out
    assert "+ add bob.example.org" in out and "+ add carol.example.org" not in out
    assert f"+ add {did['carol']}" in out and "- remove stranger.example.org" in out
    assert sky.writes() == []

    out, _ = sky.run("lists", "sync", "Cardio", "--network", "bluesky")
    assert "in sync" in out
    assert sky.fake.members(uri) == ["alice.example.org", "bob.example.org",
                                     "carol.example.org"]
    creates = [w for w in sky.writes() if "record" in w]
    assert creates[0]["repo"] == ACCOUNT_DID
    record = creates[0]["record"]
    assert isinstance(record, dict) and record["$type"] == "app.bsky.graph.listitem"
    assert record["list"] == uri and str(record["subject"]).startswith("did:plc:")
    assert str(record["createdAt"]).endswith("Z")

    before = len(sky.writes())
    out, _ = sky.run("lists", "sync", "Cardio")
    assert "0 to add, 0 to remove" in out and len(sky.writes()) == before

    # changes made in the Bluesky app come back with pull
    dana = sky.fake.make_account("dana.example.org", display_name="Dr Dana")
    sky.fake.put_item(uri, dana)
    sky.fake.remove_item(uri, did["alice"])
    out, _ = sky.run("lists", "pull", "Cardio", "--network", "bluesky", "--yes")
    assert "1 added and 1 removed remotely" in out
    assert "+ dana.example.org (Dr Dana)" in out and "- bsky:@alice.example.org" in out
    out, _ = sky.run("lists", "show", "Cardio")
    assert "Dr Dana (bsky:@dana.example.org)" in out and "alice" not in out
    assert f"https://bsky.app/profile/{ACCOUNT_DID}/lists/" in out
    out, _ = sky.run("lists", "history", "Cardio")
    assert "by `rounds lists pull Cardio`" in out
    out, _ = sky.run("lists", "pull", "Cardio", "--yes")
    assert "0 added and 0 removed remotely" in out
    out, _ = sky.run("lists", "sync", "Cardio")
    assert "0 to add, 0 to remove" in out
    assert sky.fake.inner.logins == 1  # the session is kept between runs


def test_an_interrupted_sync_rerun_finishes_and_repeats_nothing(sky: Sky) -> None:
    uri, _did = curate(sky)
    for h in ("erin", "fay"):
        sky.fake.make_account(f"{h}.example.org")
        sky.run("lists", "add", "Cardio", f"bsky:{h}.example.org")
    sky.fake.fail_write(1, Reply.json({"error": "InternalServerError",
                                       "message": "Internal Server Error"}, 502))
    _, err = sky.run("lists", "sync", "Cardio", code=1)
    assert "stopped: bluesky: create app.bsky.graph.listitem: server error (HTTP 502" in err
    assert "run the same command again to finish the rest" in err
    assert len(sky.fake.members(uri)) == 3  # alice, stranger and the one added

    # the next write is applied but its answer never arrives: not sent again
    sky.fake.fail_write(0, Reply(reset=True), applied=True)
    _, err = sky.run("lists", "sync", "Cardio", code=1)
    assert "stopped: bluesky:" in err and len(sky.fake.members(uri)) == 4

    out, _ = sky.run("lists", "sync", "Cardio")
    assert "in sync" in out
    assert sky.fake.members(uri) == ["alice.example.org", "bob.example.org",
                                     "carol.example.org", "erin.example.org",
                                     "fay.example.org"]
    subjects = [w["record"]["subject"] for w in sky.writes()  # type: ignore[index]
                if "record" in w]
    assert len(subjects) == 5 and len(set(subjects)) == 4  # only the 502 was sent again
    assert len([w for w in sky.writes() if "rkey" in w]) == 1  # the stranger, once
    out, _ = sky.run("lists", "sync", "Cardio", "--dry-run")
    assert "0 to add, 0 to remove" in out


def test_a_member_on_the_list_twice_is_left_once(sky: Sky) -> None:
    uri, did = curate(sky)
    sky.fake.put_item(uri, did["alice"])  # another app added alice again
    out, _ = sky.run("lists", "sync", "Cardio")
    assert "- remove alice.example.org (on the list twice)" in out
    assert sky.fake.members(uri).count("alice.example.org") == 1


def test_a_renamed_handle_stays_one_voice(sky: Sky) -> None:
    _uri, did = curate(sky)
    sky.run("lists", "sync", "Cardio")
    sky.fake.rename(did["alice"], "alice-md.example.org")  # between two runs
    out, _ = sky.run("lists", "pull", "Cardio", "--yes")
    assert "0 added and 0 removed remotely" in out
    out, _ = sky.run("voices", "show")
    assert "bsky:@alice-md.example.org" in out and "bsky:@alice.example.org" not in out
    assert len(out.splitlines()) == 3
    out, _ = sky.run("lists", "sync", "Cardio")
    assert "0 to add, 0 to remove" in out
    out, _ = sky.run("voices", "show", did["alice"])  # a DID finds its voice, renamed
    assert "bsky:@alice-md.example.org" in out and f"(id {did['alice']})" in out

    sky.fake.rename(did["bob"], "robert.example.org")  # renamed, then seen by sync first
    out, _ = sky.run("lists", "sync", "Cardio")
    assert "0 to add, 0 to remove" in out
    out, _ = sky.run("lists", "show", "Cardio")
    assert "bsky:@robert.example.org" in out and "bob" not in out


def test_an_unknown_handle_is_reported_and_the_rest_synced(sky: Sky) -> None:
    uri, _ = curate(sky)
    sky.run("lists", "add", "Cardio", "bsky:ghost.example.org")
    out, err = sky.run("lists", "sync", "Cardio", code=1)
    assert "! cannot resolve ghost.example.org: handle ghost.example.org: not found" in out
    assert "member(s) not synced" in err
    assert "bob.example.org" in sky.fake.members(uri)


def test_link_create_makes_a_curate_list(sky: Sky) -> None:
    sky.run("lists", "create", "Infectious disease")
    out, _ = sky.run("lists", "link", "Infectious disease", "--bluesky", "sky", "--create")
    assert f"created bluesky list {ACCOUNT_DID}/" in out
    (record,) = [w["record"] for w in sky.writes()]
    assert record == {"$type": "app.bsky.graph.list", "name": "Infectious disease",
                      "purpose": "app.bsky.graph.defs#curatelist",
                      "createdAt": record["createdAt"]}  # type: ignore[index]
    sky.fake.make_account("hope.example.org")
    sky.run("lists", "add", "Infectious disease", "bsky:hope.example.org")
    sky.run("lists", "sync", "Infectious disease")
    (uri,) = [u for u, v in sky.fake.inner.lists.items() if v["name"] == "Infectious disease"]
    assert sky.fake.members(uri) == ["hope.example.org"]


def test_someone_elses_list_can_be_pulled_but_not_synced(sky: Sky) -> None:
    sky.run("lists", "create", "Theirs")
    out, _ = sky.run("lists", "link", "Theirs", "--bluesky",
                     "reader:https://bsky.app/profile/pfrazee.com/lists/3kmokjyuflk2g")
    assert "linked Theirs to bluesky list did:plc:ragtjsm2j2vknwkz3zp4oxrd/3kmokjyuflk2g" in out
    out, _ = sky.run("lists", "pull", "Theirs", "--yes")
    assert "8 added and 0 removed remotely" in out  # the recorded list, over two pages
    sky.run("lists", "add", "Theirs", "bsky:curator.example.org")
    sky.run("lists", "link", "Theirs", "--bluesky",
            "sky:at://did:plc:ragtjsm2j2vknwkz3zp4oxrd/app.bsky.graph.list/3kmokjyuflk2g")
    _, err = sky.run("lists", "sync", "Theirs", code=1)
    assert "only its owner can change it" in err and sky.writes() == []


def test_writes_without_an_app_password_say_what_to_set(
        sky: Sky, monkeypatch: pytest.MonkeyPatch) -> None:
    curate(sky)
    monkeypatch.delenv(PASSWORD_ENV)
    _, err = sky.run("lists", "sync", "Cardio", "--network", "bluesky", code=1)
    assert err == ("error: bluesky: account sky: changing Bluesky lists needs an app "
                   f"password; set the environment variable {PASSWORD_ENV} "
                   "(app_password_env)\n")
    sky.run("lists", "create", "Anon")
    _, err = sky.run("lists", "link", "Anon", "--bluesky", "reader", "--create", code=1)
    assert err == ("error: bluesky: account reader: changing Bluesky lists needs a login; "
                   "set handle and app_password_env\n")
    assert sky.writes() == []


def test_link_refuses_what_is_not_a_list(sky: Sky) -> None:
    sky.run("lists", "create", "L")
    _, err = sky.run("lists", "link", "L", "--bluesky",
                     "sky:https://bsky.app/profile/cdc.gov/feed/health", code=1)
    assert "is not a Bluesky list or starter pack" in err
    _, err = sky.run("lists", "link", "L", "--bluesky",
                     f"reader:at://{ACCOUNT_DID}/app.bsky.graph.list/3knosuchlist", code=1)
    assert "not found" in err and len(err.splitlines()) == 1


# ---------------------------------------------------------------- import-bluesky


def test_a_starter_pack_becomes_a_curated_list_with_history(sky: Sky) -> None:
    url = f"https://bsky.app/starter-pack/{PACK_OWNER}/3lb3g5veo2z2r"
    out, _ = sky.run("lists", "import-bluesky", url, "--list", "Methods", "--account",
                     "reader")
    assert "created list Methods" in out
    assert ("imported 12 member(s) of Bluesky starter pack Political Methodologists into "
            "Methods, 0 already there") in out
    out, _ = sky.run("lists", "show", "Methods")
    assert "#1 Jake Grumbach (bsky:@jakemgrumbach.bsky.social)" in out
    assert "Methods: 12 members" in out
    out, _ = sky.run("lists", "history", "Methods")
    assert out.count("by `rounds lists import-bluesky Methods`") == 12
    out, _ = sky.run("voices", "show", "bsky:paulgp.com")
    assert "(id did:plc:" in out
    out, _ = sky.run("lists", "import-bluesky", url, "--list", "Methods", "--account",
                     "reader")
    assert "imported 0 member(s)" in out and "12 already there" in out
    assert not any("authorization" in r.headers for r in sky.server.log)  # anonymous


def test_a_list_url_imports_its_members(sky: Sky) -> None:
    out, _ = sky.run("lists", "import-bluesky",
                     "https://bsky.app/profile/pfrazee.com/lists/3kmokjyuflk2g",
                     "--list", "Software", "--account", "reader")
    assert "imported 8 member(s) of Bluesky list Software curate into Software" in out
    out, _ = sky.run("voices", "show")
    assert len(out.splitlines()) == 8
    _, err = sky.run("lists", "import-bluesky", "https://bsky.app/profile/x/post/1",
                     "--list", "Nope", code=1)
    assert "is not a Bluesky list or starter pack" in err
    out, _ = sky.run("lists", "show")
    assert "Nope" not in out


# ---------------------------------------------------------------- CSV and secrets


def test_bluesky_members_round_trip_through_the_rich_csv(sky: Sky, rounds: Run,
                                                         tmp_path: Path) -> None:
    _uri, did = curate(sky)
    sky.run("lists", "sync", "Cardio")  # resolves the DIDs
    out, _ = sky.run("voices", "show", did["carol"])
    assert did["carol"] in out  # added by its DID, the handle is not known yet...
    out, _ = sky.run("lists", "pull", "Cardio", "--yes")
    assert "0 added and 0 removed remotely" in out
    out, _ = sky.run("voices", "show", did["carol"])
    assert "bsky:@carol.example.org" in out  # ...until the list showed it
    out, _ = sky.run("lists", "export", "--format", "rich")
    assert f"Cardio,alice.example.org,bluesky,{did['alice']}," in out
    assert f"Cardio,carol.example.org,bluesky,{did['carol']}," in out
    out_mastodon, _ = sky.run("lists", "export")
    assert out_mastodon == ""  # Mastodon's format holds fediverse accounts only
    path = tmp_path / "rich.csv"
    path.write_text(out)
    got, _ = rounds("lists", "import", str(path))
    assert "imported 3 membership(s)" in got
    again, _ = rounds("lists", "export", "--format", "rich")
    assert again == out
    got, _ = rounds("voices", "show", did["bob"])
    assert "bsky:@bob.example.org" in got


def test_the_app_password_and_tokens_are_nowhere(sky: Sky,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    curate(sky)
    outputs = [sky.run("lists", "sync", "Cardio")]
    outputs.append(sky.run("lists", "export", "--format", "rich"))
    outputs.append(sky.run("lists", "synclog", "Cardio"))
    sky.fake.fail_write(0, Reply.json({"error": "InvalidRequest",
                                       "message": f"bad token {APP_PASSWORD}"}, 400))
    sky.fake.make_account("zed.example.org")
    sky.run("lists", "add", "Cardio", "bsky:zed.example.org")
    outputs.append(sky.run("lists", "sync", "Cardio", code=1))
    tokens = list(sky.fake.inner.access) + list(sky.fake.inner.refresh)
    assert tokens
    secrets = [APP_PASSWORD, *tokens]
    text = "\n".join(o + e for o, e in outputs) + caplog.text
    stored = sky.db.read_bytes()
    for secret in secrets:
        assert secret not in text and secret.encode() not in stored
    assert "***" in text  # the server's echo of the password was scrubbed
    assert json.dumps(secrets)  # (the check above ran over every secret)
