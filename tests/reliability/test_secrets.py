"""Secrets: tokens never show up in logs (any level, urllib3 and requests included),
error messages, command output, exports or the database files; loose file permissions
are warned about on stderr; plain http to a non-loopback server needs allow_insecure.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from aggregator.clock import ManualClock
from aggregator.collectors.registry import build_collector
from aggregator.models import Target
from aggregator.service import CollectService
from aggregator.settings import AccountSettings, Settings, SourceSettings
from aggregator.storage.db import open_database
from aggregator.storage.repository import Repository
from tests.fakes.both import BothNetworks
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.server import LoopbackServer, Reply
from tests.fakes.twitter import FakeX, problem
from tests.reliability.conftest import POLICY

M_TOKEN = "mtok-Zq7SECRETmastodon4711"
X_TOKEN = "xbearer-Kp9SECRETtwitter0815"
WRONG = "wrong-Yy3SECRETrevoked2222"
SECRETS = (M_TOKEN, X_TOKEN, WRONG)

REPORT_NETWORK = "both"  # for the `make reliability` table


def assert_secret_free(data: str | bytes, what: str) -> None:
    for secret in SECRETS:
        needle = secret.encode() if isinstance(data, bytes) else secret
        assert needle not in data, f"a token leaked into {what}"


@dataclass
class Servers:
    mastodon: FakeMastodon
    x: FakeX
    server: LoopbackServer


@pytest.fixture
def servers() -> Iterator[Servers]:
    mastodon, x = FakeMastodon(tokens=(M_TOKEN,)), FakeX(token=X_TOKEN)
    mastodon.add_statuses("tag:ok", [mastodon.make_status() for _ in range(5)])
    mastodon.add_statuses("tag:flaky", [mastodon.make_status() for _ in range(5)])
    x.add_tweets("list:100", [x.make_tweet("snowman", f"t{i}") for i in range(5)])
    server = LoopbackServer(BothNetworks(mastodon, x)).start()
    yield Servers(mastodon, x, server)
    server.stop()


def arm_failures(s: Servers, rate_reset: Reply, x_reset: Reply) -> None:
    """401s, a 500 and a 429 on some requests (faults answer before the fakes)."""
    s.server.faults.arm(Reply.json({"error": "The access token is invalid"}, 401),
                        "/timelines/list/", 99)
    s.server.faults.arm(Reply.json({"error": "boom"}, 500), "/timelines/tag/flaky", 1)
    s.server.faults.arm(rate_reset, "/timelines/tag/ok", 1)
    s.server.faults.arm(x_reset, "/2/lists/100/", 1)
    s.server.faults.arm(problem(401, "Unauthorized", "Unauthorized"), "/2/lists/200/", 99)


def x_429(reset_epoch: int) -> Reply:
    reply = problem(429, "Too Many Requests", "Too Many Requests")
    reply.headers.update({"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset_epoch)})
    return reply


def test_tokens_never_reach_logs_errors_or_the_database(
        servers: Servers, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Tokens stay out of logs at every level, error messages and the database"""
    clock = ManualClock()
    servers.mastodon.clock = servers.x.clock = clock
    base = servers.server.base_url
    arm_failures(servers, servers.mastodon.rate_limited(30),
                 x_429(int((clock.now() + timedelta(seconds=30)).timestamp())))
    accounts = {
        "med": AccountSettings("med", "mastodon", base, token_env="M"),
        "bad": AccountSettings("bad", "mastodon", base, token_env="W"),
        "x": AccountSettings("x", "twitter", base, bearer_token_env="X"),
    }
    settings = Settings(path=None, database_url="", accounts=accounts, sources=(
        SourceSettings("ok", "med", Target("hashtag", "ok")),
        SourceSettings("flaky", "med", Target("hashtag", "flaky")),
        SourceSettings("private", "med", Target("list", "7")),
        SourceSettings("revoked", "bad", Target("hashtag", "ok")),
        SourceSettings("xlist", "x", Target("list", "100")),
        SourceSettings("xdenied", "x", Target("list", "200")),
    ))
    environ = {"M": M_TOKEN, "W": WRONG, "X": X_TOKEN}
    db_path = tmp_path / "rounds.db"
    db = open_database(f"sqlite:///{db_path}")
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "requests", "mastodon", "tweepy", "aggregator"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    service = CollectService(settings, Repository(db, clock),
                             lambda a: build_collector(a, environ, clock, POLICY, timeout=5),
                             clock)
    try:
        results = {r.name: r for r in service.collect()}
    finally:
        service.close()
    assert results["ok"].ok and results["flaky"].ok and results["xlist"].ok
    assert not results["private"].ok and not results["revoked"].ok
    assert not results["xdenied"].ok
    assert any("urllib3" in r.name for r in caplog.records), "debug logs were not captured"
    for record in caplog.records:
        assert_secret_free(record.getMessage(), f"a {record.levelname} log of {record.name}")
        if record.exc_info and record.exc_info[1] is not None:
            assert_secret_free(repr(record.exc_info[1]), "a logged exception")
    for r in results.values():
        assert_secret_free(r.error or "", f"the error of {r.name}")
    db.dispose()
    for path in tmp_path.iterdir():  # the database, its WAL and shared memory
        if path.name.startswith("rounds.db"):
            assert_secret_free(path.read_bytes(), path.name)


def rounds(cfg: Path, *args: str, env: dict[str, str] | None = None
           ) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "M": M_TOKEN, "W": WRONG, "X": X_TOKEN, **(env or {})}
    return subprocess.run([sys.executable, "-m", "aggregator.cli", "--config", str(cfg), *args],
                          env=environ, capture_output=True, text=True, timeout=120)


def write_config(path: Path, body: str, mode: int = 0o600) -> Path:
    path.write_text(body)
    path.chmod(mode)
    return path


def test_tokens_never_reach_command_output_or_exports(servers: Servers, tmp_path: Path) -> None:
    """Tokens stay out of rounds collect -vvv, sources, status and export output"""
    base = servers.server.base_url
    arm_failures(servers, servers.mastodon.rate_limited(0.5), x_429(0))
    token_file = write_config(tmp_path / "x.token", X_TOKEN + "\n")
    cfg = write_config(tmp_path / "rounds.toml", f"""
[database]
url = "sqlite:///{tmp_path / 'rounds.db'}"
[accounts.med]
network = "mastodon"
base_url = "{base}"
token_env = "M"
[accounts.bad]
network = "mastodon"
base_url = "{base}"
token_env = "W"
[accounts.x]
network = "twitter"
base_url = "{base}"
token_file = "{token_file}"
[[sources]]
name = "ok"
account = "med"
hashtag = "ok"
[[sources]]
name = "flaky"
account = "med"
hashtag = "flaky"
[[sources]]
name = "private"
account = "med"
list = "7"
[[sources]]
name = "revoked"
account = "bad"
hashtag = "ok"
[[sources]]
name = "xlist"
account = "x"
list = "100"
[[sources]]
name = "xdenied"
account = "x"
list = "200"
""")
    outputs = [rounds(cfg, "-vvv", "collect")]
    assert outputs[0].returncode == 1, outputs[0].stderr
    assert "DEBUG urllib3" in outputs[0].stderr, "the debug log did not run"
    assert "revoked" in outputs[0].stdout and "401" in outputs[0].stdout
    for args in (("sources",), ("status",), ("export", "--raw"),
                 ("export", "--raw", "--format", "csv")):
        outputs.append(rounds(cfg, "-vv", *args))
        assert "Traceback" not in outputs[-1].stderr
    assert outputs[3].stdout.count("\n") == 15  # every post exported (5 + 5 + 5)
    for done in outputs:
        assert_secret_free(done.stdout, f"stdout of {done.args[4:]}")
        assert_secret_free(done.stderr, f"stderr of {done.args[4:]}")
    for path in tmp_path.iterdir():
        if path.name.startswith("rounds.db"):
            assert_secret_free(path.read_bytes(), path.name)


def test_loose_permissions_are_warned_about_on_stderr(servers: Servers, tmp_path: Path) -> None:
    """A config or token file readable by group or others is warned about"""
    token_file = write_config(tmp_path / "x.token", X_TOKEN, mode=0o644)
    cfg = write_config(tmp_path / "rounds.toml", f"""
[database]
url = "sqlite:///{tmp_path / 'rounds.db'}"
[accounts.x]
network = "twitter"
base_url = "{servers.server.base_url}"
token_file = "{token_file}"
[[sources]]
name = "xlist"
account = "x"
list = "100"
""", mode=0o640)
    done = rounds(cfg, "collect")
    assert done.returncode == 0, done.stderr
    assert f"{cfg} is readable by group or others" in done.stderr
    assert f"{token_file} is readable by group or others" in done.stderr
    assert_secret_free(done.stdout + done.stderr, "the warnings")
    cfg.chmod(0o600)
    token_file.chmod(0o600)
    quiet = rounds(cfg, "collect")
    assert quiet.returncode == 0 and "readable by group" not in quiet.stderr


@pytest.mark.parametrize("network", ["mastodon", "twitter"])
def test_plain_http_needs_allow_insecure(tmp_path: Path, network: str) -> None:
    """Plain http to a non-loopback server is refused unless allow_insecure = true"""
    def config(extra: str) -> Path:
        return write_config(tmp_path / "rounds.toml", f"""
[database]
url = "sqlite:///{tmp_path / 'rounds.db'}"
[accounts.a]
network = "{network}"
base_url = "http://social.example.org"
{extra}
[[sources]]
name = "s"
account = "a"
hashtag = "health"
""")

    refused = rounds(config(""), "sources")
    assert refused.returncode == 2
    assert "must use https" in refused.stderr and "allow_insecure" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and "Traceback" not in refused.stderr
    allowed = rounds(config("allow_insecure = true"), "sources")
    assert allowed.returncode == 0, allowed.stderr
    secure = config("").read_text().replace("http://", "https://")
    https = rounds(write_config(tmp_path / "rounds.toml", secure), "sources")
    assert https.returncode == 0, https.stderr


def test_bluesky_app_password_and_session_tokens_stay_in_the_session_file(
        tmp_path: Path) -> None:
    """The Bluesky app password and session tokens stay out of output, exports and the DB"""
    from tests.fakes.bluesky import APP_PASSWORD, HANDLE, SYN_LIST, FakeBluesky

    sky = FakeBluesky(ManualClock())
    sky.add_new(f"list:{SYN_LIST}", 5)
    sky.add_new("search:#MedSky", 3)
    server = LoopbackServer(sky).start()
    home = tmp_path / "home"
    env = {"SKY": APP_PASSWORD, "SKYBAD": WRONG, "HOME": str(home),
           "XDG_DATA_HOME": str(home / "data")}
    cfg = write_config(tmp_path / "rounds.toml", f"""
[database]
url = "sqlite:///{tmp_path / 'rounds.db'}"
[accounts.sky]
network = "bluesky"
handle = "{HANDLE}"
app_password_env = "SKY"
base_url = "{server.base_url}"
[accounts.skybad]
network = "bluesky"
handle = "someone-else.example.org"
app_password_env = "SKYBAD"
base_url = "{server.base_url}"
[[sources]]
name = "medsky"
account = "sky"
list = "{SYN_LIST}"
[[sources]]
name = "tag"
account = "sky"
hashtag = "MedSky"
[[sources]]
name = "refused"
account = "skybad"
hashtag = "MedSky"
""")
    try:
        outputs = []
        for step in range(3):  # log in, refresh an expired session, log in after a revoke
            if step == 1:
                sky.expire_sessions()
            if step == 2:
                sky.revoked |= set(sky.refresh)
                sky.expire_sessions()
            server.faults.arm(Reply.json({"error": "InternalServerError",
                                          "message": "boom"}, 500), "getListFeed", 1)
            outputs.append(rounds(cfg, "-vvv", "collect", env=env))
            assert outputs[-1].returncode == 1, outputs[-1].stderr  # "refused" fails
            assert "Invalid identifier or password" in outputs[-1].stdout
        assert "DEBUG" in outputs[0].stderr, "the debug log did not run"
        assert (sky.logins, sky.refreshes) == (2, 1)  # successful ones; skybad is refused
        for args in (("sources",), ("status",), ("export", "--raw"),
                     ("export", "--raw", "--format", "csv")):
            outputs.append(rounds(cfg, "-vv", *args, env=env))
            assert "Traceback" not in outputs[-1].stderr
        assert outputs[-2].stdout.count("\n") == 8
    finally:
        server.stop()
    secrets = [APP_PASSWORD, WRONG, *sky.access, *sky.refresh, *sky.revoked]
    assert len(secrets) > 5
    files = [p for p in tmp_path.iterdir() if p.name.startswith("rounds.db")]
    assert any(p.name.endswith("-wal") for p in files) or files
    for done in outputs:
        for data, what in ((done.stdout, "stdout"), (done.stderr, "stderr"),
                           *((p.read_text(errors="replace"), p.name) for p in files)):
            leaked = [s for s in secrets if s in data]
            assert not leaked, f"a Bluesky secret leaked into {what} of {done.args[4:]}"
    sessions = list(home.rglob("session-*.json"))
    assert len(sessions) == 1 and (sessions[0].stat().st_mode & 0o077) == 0
    assert APP_PASSWORD not in sessions[0].read_text()
