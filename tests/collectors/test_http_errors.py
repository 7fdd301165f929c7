"""Errors a person reads: the cause whole and short (never cut mid-word), and which
credential to set or check (issue 12 items 5 and 6)."""

from __future__ import annotations

import socket

import pytest

from aggregator.clock import ManualClock
from aggregator.collectors.jsonval import shorten
from aggregator.collectors.mastodon.collector import MastodonCollector
from aggregator.collectors.retry import RateBudget, RetryPolicy
from aggregator.errors import AuthMissing, AuthRejected, Unreachable
from aggregator.models import SourceState, Target
from aggregator.settings import AccountSettings
from tests.collectors.conftest import MakeCollector
from tests.fakes.mastodon import LIST_ID, MastodonFake
from tests.fakes.server import Reply

ONE_TRY = RetryPolicy(attempts=1)


def collect(base_url: str, clock: ManualClock, *, timeout: float = 5.0) -> None:
    account = AccountSettings("med", "mastodon", base_url, token_env="ROUNDS_MED_TOKEN")
    collector = MastodonCollector.from_account(account, {"ROUNDS_MED_TOKEN": "t0ken-x"}, clock,
                                               policy=ONE_TRY, budget=RateBudget(clock),
                                               timeout=timeout)
    try:
        list(collector.fetch_posts(Target("hashtag", "cardio"), SourceState(), backfill=5))
    finally:
        collector.close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_refused_port_says_so_with_the_address(clock: ManualClock) -> None:
    port = closed_port()
    with pytest.raises(Unreachable) as err:
        collect(f"http://127.0.0.1:{port}", clock)
    assert err.value.message == f"hashtag #cardio: connection refused by 127.0.0.1:{port}"


def test_an_unknown_host_says_name_not_found(clock: ManualClock) -> None:
    with pytest.raises(Unreachable) as err:
        collect("https://med-mastodon.invalid", clock)
    assert err.value.message == "hashtag #cardio: cannot reach med-mastodon.invalid: " \
        "name not found"


def test_a_stalled_server_says_how_long_we_waited(
        mastodon_fake: MastodonFake, clock: ManualClock) -> None:
    mastodon_fake.server.faults.arm(Reply(200, b"[]", delay=1.0), "/timelines/")
    with pytest.raises(Unreachable) as err:
        collect(mastodon_fake.base_url, clock, timeout=0.3)
    host = mastodon_fake.base_url.removeprefix("http://")
    assert err.value.message == f"hashtag #cardio: timed out after 0.3 s waiting for {host}"


def test_long_server_messages_are_cut_at_a_word_with_an_ellipsis(
        make_collector: MakeCollector, mastodon_fake: MastodonFake) -> None:
    words = " ".join(f"word{i}" for i in range(200))
    mastodon_fake.server.faults.arm(Reply.json({"error": words}, 503), "/timelines/", 10)
    with pytest.raises(Exception) as err:
        list(make_collector(policy=ONE_TRY).fetch_posts(Target("list", LIST_ID),
                                                        SourceState(), backfill=5))
    text = str(err.value)
    assert "…" in text and len(text) < 300
    last = text.split("…")[0].split()[-1]
    assert last.startswith("word") and last in words.split()  # a whole word before the "…"
    assert shorten("a b c", 200) == "a b c"


def test_a_missing_token_names_the_variable_and_says_unset(
        mastodon_fake: MastodonFake, clock: ManualClock) -> None:
    account = AccountSettings("med", "mastodon", mastodon_fake.base_url,
                              token_env="ROUNDS_MED_TOKEN")
    collector = MastodonCollector.from_account(account, {}, clock)
    with pytest.raises(AuthMissing) as err:
        list(collector.fetch_posts(Target("list", "1"), SourceState(), backfill=5))
    collector.close()
    assert err.value.message == ("list 1 needs an access token: set the environment "
                                 "variable ROUNDS_MED_TOKEN (unset)")


def test_a_rejected_token_says_which_variable_to_check(
        mastodon_fake: MastodonFake, clock: ManualClock) -> None:
    account = AccountSettings("med", "mastodon", mastodon_fake.base_url,
                              token_env="ROUNDS_MED_TOKEN")
    collector = MastodonCollector.from_account(account, {"ROUNDS_MED_TOKEN": "revoked-s3cret"},
                                               clock)
    with pytest.raises(AuthRejected) as err:
        list(collector.fetch_posts(Target("list", "1"), SourceState(), backfill=5))
    collector.close()
    assert err.value.message.startswith("list 1 was rejected (HTTP 401")
    assert err.value.message.endswith("check ROUNDS_MED_TOKEN")
    assert "revoked-s3cret" not in str(err.value) and err.value.status == 401


def test_a_token_file_is_named_too(mastodon_fake: MastodonFake, clock: ManualClock,
                                   tmp_path: object) -> None:
    from pathlib import Path

    token_file = Path(str(tmp_path)) / "med.token"
    token_file.write_text("revoked-s3cret\n")
    token_file.chmod(0o600)
    account = AccountSettings("med", "mastodon", mastodon_fake.base_url,
                              token_file=str(token_file))
    collector = MastodonCollector.from_account(account, {}, clock)
    with pytest.raises(AuthRejected) as err:
        list(collector.fetch_posts(Target("list", "1"), SourceState(), backfill=5))
    collector.close()
    assert err.value.message.endswith(f"check {token_file}")


def collect_sky(base_url: str, clock: ManualClock, *, timeout: float = 5.0,
                environ: dict[str, str] | None = None, handle: str | None = None) -> None:
    from aggregator.collectors.bluesky.collector import BlueskyCollector

    account = AccountSettings("sky", "bluesky", base_url, handle=handle,
                              app_password_env="ROUNDS_SKY_APP_PASSWORD" if handle else None)
    collector = BlueskyCollector.from_account(account, environ or {}, clock, policy=ONE_TRY,
                                              timeout=timeout)
    try:
        list(collector.fetch_posts(Target("user", "did:plc:abc"), SourceState(), backfill=5))
    finally:
        collector.close()


def test_bluesky_transport_failures_read_as_on_the_other_networks(
        clock: ManualClock) -> None:
    """atproto sends with httpx: its errors get the same short phrases as requests'."""
    port = closed_port()
    with pytest.raises(Unreachable) as err:
        collect_sky(f"http://127.0.0.1:{port}", clock)
    assert err.value.message == f"author did:plc:abc: connection refused by 127.0.0.1:{port}"
    with pytest.raises(Unreachable) as err:
        collect_sky("https://sky-pds.invalid", clock)
    assert err.value.message == "author did:plc:abc: cannot reach sky-pds.invalid: " \
        "name not found"


def test_bluesky_stall_and_missing_app_password(clock: ManualClock) -> None:
    from tests.fakes.bluesky import FakeBluesky
    from tests.fakes.server import serve

    for server in serve(FakeBluesky(clock)):
        server.faults.arm(Reply(200, b"{}", delay=1.0), "getAuthorFeed")
        host = server.base_url.removeprefix("http://")
        with pytest.raises(Unreachable) as err:
            collect_sky(server.base_url, clock, timeout=0.3)
        assert err.value.message == f"author did:plc:abc: timed out after 0.3 s waiting for {host}"
        with pytest.raises(AuthMissing) as missing:
            collect_sky(server.base_url, clock, handle="curator.example.org")
        assert "set the environment variable ROUNDS_SKY_APP_PASSWORD" in str(missing.value)
        with pytest.raises(AuthRejected) as rejected:
            collect_sky(server.base_url, clock, handle="curator.example.org",
                        environ={"ROUNDS_SKY_APP_PASSWORD": "not-the-password"})
        assert "Invalid identifier or password" in str(rejected.value)
        assert "check ROUNDS_SKY_APP_PASSWORD" in str(rejected.value)
