"""`rounds lists link/sync/pull` against loopback fakes of Mastodon and X."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.curation.conftest import runner
from tests.fakes.mastodon import LOCAL_DOMAIN, FakeMastodon
from tests.fakes.mastodon import TOKEN as MASTODON_TOKEN
from tests.fakes.mastodon_lists import MastodonListsFake
from tests.fakes.server import LoopbackServer, Reply, Request
from tests.fakes.twitter import TOKEN as X_TOKEN
from tests.fakes.twitter import FakeX
from tests.fakes.twitter_lists import CREDENTIALS, XListsFake


@dataclass
class World:
    masto: MastodonListsFake
    x: XListsFake
    masto_server: LoopbackServer
    x_server: LoopbackServer
    run: Callable[..., tuple[str, str]]

    def writes(self) -> list[str]:
        return [f"{r.method} {r.path}" for s in (self.masto_server, self.x_server)
                for r in s.log if r.method in ("POST", "DELETE")]


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
          capsys: pytest.CaptureFixture[str]) -> Iterator[World]:
    masto = MastodonListsFake(FakeMastodon())
    x = XListsFake(FakeX())
    masto_server, x_server = LoopbackServer(masto).start(), LoopbackServer(x.handle).start()
    config = tmp_path / "rounds.toml"
    config.write_text(f"""
[database]
url = "sqlite:///{tmp_path / 'rounds.db'}"
[accounts.work]
network = "mastodon"
base_url = "{masto_server.base_url}"
token_env = "T_MASTO"
[accounts.me]
network = "twitter"
base_url = "{x_server.base_url}"
bearer_token_env = "T_BEARER"
consumer_key_env = "T_CK"
consumer_secret_env = "T_CS"
access_token_env = "T_AT"
access_token_secret_env = "T_ATS"
""")
    config.chmod(0o600)
    for key, value in {"T_MASTO": MASTODON_TOKEN, "T_BEARER": X_TOKEN,
                       "T_CK": CREDENTIALS["consumer_key"],
                       "T_CS": CREDENTIALS["consumer_secret"],
                       "T_AT": CREDENTIALS["access_token"],
                       "T_ATS": CREDENTIALS["access_token_secret"]}.items():
        monkeypatch.setenv(key, value)

    try:
        yield World(masto, x, masto_server, x_server, runner(capsys, "--config", str(config)))
    finally:
        masto_server.stop()
        x_server.stop()


def curate(world: World) -> tuple[str, str]:
    """A curated list of three voices and remote lists that differ from it."""
    m, x = world.masto, world.x
    alice = m.make_account("alice@example.social")
    m.make_account("bob@med.example")
    stranger = m.make_account("stranger@spam.example")
    x.make_user("DrBob")
    x.make_user("CarolRN")
    old = x.make_user("OldMember")
    masto_list = m.make_list("Nurses", [alice, stranger])
    x_list = x.make_list("Nurses", [old])
    world.run("lists", "create", "Nurses")
    world.run("lists", "add", "Nurses", "alice@example.social", "bob@med.example",
              "x:CarolRN")
    world.run("voices", "link", "bob@med.example", "x:DrBob")
    world.run("lists", "link", "Nurses", "--mastodon", f"work:{masto_list}",
              "--twitter", f"me:{x_list}")
    return masto_list, x_list


def test_dry_run_then_sync_brings_both_lists_to_the_curated_membership(world: World) -> None:
    masto_list, x_list = curate(world)
    out, _ = world.run("lists", "sync", "Nurses", "--dry-run")
    assert "+ add bob@med.example" in out and "- remove stranger@spam.example" in out
    assert "+ add CarolRN" in out and "+ add DrBob" in out and "- remove OldMember" in out
    assert "dry run: nothing changed" in out
    assert world.writes() == []
    assert world.masto.accts(masto_list) == ["alice@example.social", "stranger@spam.example"]

    out, _ = world.run("lists", "sync", "Nurses")
    assert out.count("in sync") == 2
    assert world.masto.accts(masto_list) == ["alice@example.social", "bob@med.example"]
    assert world.x.usernames(x_list) == ["CarolRN", "DrBob"]

    before = len(world.writes())
    out, _ = world.run("lists", "sync", "Nurses")
    assert "0 to add, 0 to remove" in out and len(world.writes()) == before
    out, _ = world.run("lists", "synclog", "Nurses")
    assert "mastodon add bob@med.example done" in out


def test_a_rate_limit_in_the_middle_then_a_rerun_finishes_without_repeating(
        world: World) -> None:
    masto_list, x_list = curate(world)
    for name in ("dana@n.example", "erin@n.example", "fay@n.example"):
        world.masto.make_account(name)
        world.run("lists", "add", "Nurses", name)
    world.masto.throttle_after_writes = 2
    world.x.throttle_after_writes = 1
    _, err = world.run("lists", "sync", "Nurses", code=1)
    assert "stopped: mastodon:" in err and "rate limited" in err
    assert "stopped: twitter:" in err
    assert "run the same command again to finish the rest" in err
    assert len(world.masto.accts(masto_list)) < 5

    out, _ = world.run("lists", "sync", "Nurses")
    assert out.count("in sync") == 2
    assert world.masto.accts(masto_list) == [
        "alice@example.social", "bob@med.example", "dana@n.example", "erin@n.example",
        "fay@n.example"]
    assert world.x.usernames(x_list) == ["CarolRN", "DrBob"]
    adds = [w for w in world.writes() if w.startswith("POST") and "/lists/" in w]
    added_masto = [r.body for r in world.masto_server.log
                   if r.method == "POST" and r.path.endswith("/accounts")]
    # 4 accounts added once each; only the add refused with the 429 was sent again
    assert (len(added_masto), len(set(added_masto))) == (5, 4)
    assert len(adds) == len(added_masto) + 2 + 1  # X: 2 adds, and the one refused with 429
    assert len([w for w in world.writes() if w.startswith("DELETE")]) == 2  # one per network


def test_a_member_who_cannot_be_resolved_is_reported(world: World) -> None:
    masto_list, _ = curate(world)
    world.run("lists", "add", "Nurses", "ghost@gone.example", "x:NoSuchUser")
    out, err = world.run("lists", "sync", "Nurses", code=1)
    assert "! cannot resolve ghost@gone.example: account lookup ghost@gone.example: not found" \
        in out
    assert "! cannot resolve NoSuchUser" in out
    assert "member(s) not synced" in err
    assert "bob@med.example" in world.masto.accts(masto_list)


def test_mastodon_only_lists_followed_accounts(world: World) -> None:
    masto_list, _ = curate(world)
    world.masto.make_account("shy@n.example", followed=False)
    world.masto.make_account("locked@n.example", followed=False, locked=True)
    world.run("lists", "add", "Nurses", "shy@n.example", "locked@n.example")
    out, _ = world.run("lists", "sync", "Nurses", "--network", "mastodon", code=1)
    assert "not added shy@n.example: Mastodon only lets you add accounts you follow" in out
    assert "shy@n.example" not in world.masto.accts(masto_list)
    out, _ = world.run("lists", "sync", "Nurses", "--network", "mastodon", "--follow",
                       code=1)
    assert "followed shy@n.example" in out and "added shy@n.example" in out
    assert "not added locked@n.example: follow request sent, awaiting approval" in out
    assert "shy@n.example" in world.masto.accts(masto_list)


def test_pull_adopts_remote_changes_after_showing_them(world: World) -> None:
    masto_list, _ = curate(world)
    world.run("lists", "sync", "Nurses")
    newcomer = world.masto.make_account("newcomer@n.example")
    lst = world.masto.lists[masto_list]
    lst["members"] = [m for m in lst["members"]
                      if m != world.masto.inner.accounts["alice@example.social"]["id"]]
    lst["members"].append(newcomer)
    out, _ = world.run("lists", "pull", "Nurses", "--network", "mastodon", "--yes")
    assert "1 added and 1 removed remotely" in out
    assert "+ newcomer@n.example" in out and "- " in out
    out, _ = world.run("lists", "show", "Nurses")
    assert "newcomer@n.example" in out and "alice@example.social" not in out
    out, _ = world.run("lists", "history", "Nurses")
    assert "by `rounds lists pull Nurses`" in out
    out, _ = world.run("lists", "pull", "Nurses", "--yes")
    assert "0 added and 0 removed remotely" in out


def test_link_create_makes_remote_lists(world: World) -> None:
    world.run("lists", "create", "Pharmacists")
    out, _ = world.run("lists", "link", "Pharmacists", "--mastodon", "work", "--twitter", "me",
                       "--create")
    assert "created mastodon list" in out and "created twitter list" in out
    assert [v["title"] for v in world.masto.lists.values()] == ["Pharmacists"]
    assert [v["name"] for v in world.x.lists.values()] == ["Pharmacists"]
    _, err = world.run("lists", "link", "Pharmacists", "--mastodon", "work", code=2)
    assert "--create" in err


def test_x_writes_need_user_context_keys(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    curate(world)
    monkeypatch.delenv("T_ATS")
    _, err = world.run("lists", "sync", "Nurses", "--network", "twitter", code=1)
    assert "needs user-context keys; set access_token_secret_env" in err


# ---------------------------------------------------------------- local accounts (issue 12)


def local_world(world: World) -> str:
    """A remote list already holding exactly the curated members, two of them the
    server's own accounts (bare acct, profile on the web domain, local domain elsewhere)."""
    m = world.masto
    members = [m.make_account("voice1"), m.make_account("voice2"),
               m.make_account("alice@example.social")]
    masto_list = m.make_list("Local", members)
    world.run("lists", "create", "Local")
    world.run("lists", "add", "Local", f"voice1@{LOCAL_DOMAIN}", f"voice2@{LOCAL_DOMAIN}",
              "alice@example.social")
    world.run("lists", "link", "Local", "--mastodon", f"work:{masto_list}")
    return masto_list


def test_local_members_already_on_the_remote_list_need_no_change(world: World) -> None:
    local_world(world)
    out, _ = world.run("lists", "sync", "Local", "--dry-run")
    assert "0 to add, 0 to remove" in out, out
    assert "127.0.0.1" not in out and "social.clinic.example" not in out
    out, _ = world.run("lists", "sync", "Local")
    assert world.writes() == []


def test_pull_of_local_members_creates_no_duplicate_voice(world: World) -> None:
    masto_list = local_world(world)
    world.run("lists", "sync", "Local")
    world.masto.lists[masto_list]["members"].append(world.masto.make_account("voice3"))
    out, _ = world.run("lists", "pull", "Local", "--yes")
    assert "1 added and 0 removed remotely" in out and f"+ voice3@{LOCAL_DOMAIN}" in out
    out, _ = world.run("voices", "show")
    assert out.count(f"voice1@{LOCAL_DOMAIN}") == 1 and "127.0.0.1" not in out
    assert len(out.splitlines()) == 4, out  # voice1..3 and alice: one voice each


def test_a_sync_whose_answer_was_lost_finishes_when_run_again(world: World) -> None:
    """The server added the member but the answer never arrived: the retry (and any
    rerun) meets Mastodon's 422 "already been taken", which means done."""
    masto_list = local_world(world)
    newcomer = world.masto.make_account("voice4")
    world.run("lists", "add", "Local", f"voice4@{LOCAL_DOMAIN}")
    lost: list[Request] = []

    def lose_first_add(req: Request) -> Reply:
        reply = world.masto(req)
        if req.method == "POST" and req.path.endswith("/accounts") and not lost:
            lost.append(req)
            return Reply(reset=True)  # applied, but the connection dies before the answer
        return reply

    world.masto_server.handler = lose_first_add
    out, _ = world.run("lists", "sync", "Local")
    assert lost and "in sync" in out, out
    assert world.masto.lists[masto_list]["members"].count(newcomer) == 1
    out, _ = world.run("lists", "sync", "Local", "--dry-run")
    assert "0 to add, 0 to remove" in out
