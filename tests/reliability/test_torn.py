"""Torn files (issue 18 item 5): what a power cut, a killed process or an editor leaves
half-written. A Bluesky session file, the per-source lock files, the configuration file
a daemon re-reads on SIGHUP, and an archive batch from a killed `rounds archive`: each
is detected and handled with one clear line, and the next run works (no crash loop).
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aggregator.cli import main
from aggregator.clock import ManualClock
from tests.fakes.bluesky import APP_PASSWORD, HANDLE, PASSWORD_ENV, SYN_LIST, FakeBluesky
from tests.fakes.mastodon import TOKEN as MASTODON_TOKEN
from tests.fakes.server import LoopbackServer
from tests.reliability.daemonloop import daemon_world, write_config

REPORT_NETWORK = "mastodon bluesky"


def _errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


# ---------------------------------------------------------------------- Bluesky session


TORN_SESSIONS = {"truncated": b'{"handle": "curator.example.org", "did": "did:pl',
                 "zeros": b"\0" * 160, "empty": b""}


@pytest.mark.parametrize("torn", list(TORN_SESSIONS))
def test_a_torn_bluesky_session_file_costs_one_login_and_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str], torn: str) -> None:
    """Torn files: a Bluesky session file cut short by a power cut"""
    sky = FakeBluesky(ManualClock())
    sky.add_new(f"list:{SYN_LIST}", 5)
    server = LoopbackServer(sky).start()
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv(PASSWORD_ENV, APP_PASSWORD)
    cfg = tmp_path / "rounds.toml"
    cfg.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "rounds.db"}"\n'
                   f'[accounts.sky]\nnetwork = "bluesky"\nhandle = "{HANDLE}"\n'
                   f'app_password_env = "{PASSWORD_ENV}"\nbase_url = "{server.base_url}"\n'
                   f'[[sources]]\nname = "medsky"\naccount = "sky"\nlist = "{SYN_LIST}"\n')
    cfg.chmod(0o600)
    try:
        assert main(["--config", str(cfg), "collect"]) == 0
        (session,) = (tmp_path / "data").rglob("session-*.json")
        session.write_bytes(TORN_SESSIONS[torn])
        caplog.clear()
        sky.add_new(f"list:{SYN_LIST}", 2)
        assert main(["--config", str(cfg), "collect"]) == 0
        lines = [r.getMessage() for r in _errors(caplog)]
        assert len(lines) == 1 and "unreadable Bluesky session file" in lines[0], lines
        assert "Traceback" not in capsys.readouterr().err
        assert sky.logins == 2  # logged in again, once
        assert session.stat().st_mode & 0o077 == 0 and b"accessJwt" in session.read_bytes()
        caplog.clear()
        assert main(["--config", str(cfg), "collect"]) == 0
        assert sky.logins == 2 and not _errors(caplog)  # the new session file serves
    finally:
        server.stop()


# ---------------------------------------------------------------------- lock files


def test_lock_files_with_garbage_work_and_one_in_the_way_is_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Torn files: lock files with garbage in them, and a lock path taken by a file"""
    monkeypatch.setenv("ROUNDS_MED_TOKEN", MASTODON_TOKEN)
    with daemon_world(tmp_path, ManualClock(), mastodon=2, x=0) as w:
        cfg = str(w.app.config)
        w.mastodon.add_new("tag:soak0", 3)
        assert main(["--config", cfg, "collect"]) == 0
        locks = tmp_path / ".locks" / "rounds.db"
        for lock in locks.iterdir():  # what a crash mid-write could leave: bytes, no access
            lock.write_bytes(b"\0garbage\xff" * 10)
            lock.chmod(0)
        w.mastodon.add_new("tag:soak0", 2)
        capsys.readouterr()
        assert main(["--config", cfg, "collect"]) == 0
        assert "error" not in capsys.readouterr().err

        for lock in locks.iterdir():
            lock.chmod(0o600)
            lock.unlink()
        locks.rmdir()
        locks.write_text("")  # a file where the lock directory goes
        assert main(["--config", cfg, "collect"]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: cannot use the lock file "), err
        assert "move away what is in the way" in err[0]

        caplog.clear()  # the daemon: one line per run, no traceback, goes on
        w.loop.step()
        bad = _errors(caplog)
        assert len(bad) == 1 and bad[0].exc_info is None, [r.getMessage() for r in bad]
        assert "cannot use the lock file" in bad[0].getMessage()
        locks.unlink()
        before = w.collections()
        w.loop.run_until(w.clock.monotonic() + 2000)
        assert sum(w.collections().values()) > sum(before.values())


# ---------------------------------------------------------------------- configuration


@pytest.mark.parametrize("torn", ["cut-mid-table", "emptied", "sources-not-yet-written"])
def test_a_torn_configuration_on_reload_keeps_the_running_one(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, torn: str) -> None:
    """Torn files: SIGHUP while the configuration is half-written keeps the running one"""
    with daemon_world(tmp_path, ManualClock(), mastodon=3, x=1) as w:
        cfg = Path(str(w.app.config))
        whole = cfg.read_text()
        jobs = sorted(j.id for j in w.daemon._scheduler.get_jobs())
        text = {"cut-mid-table": whole[: whole.index("[[sources]]") + 30],
                "emptied": "",
                "sources-not-yet-written": whole[: whole.index("[[sources]]")]}[torn]
        cfg.write_text(text)  # rewritten in place, as an editor without rename does
        caplog.clear()
        w.daemon.reload()
        bad = _errors(caplog)
        assert len(bad) == 1 and bad[0].getMessage().startswith(
            "configuration not reloaded: "), [r.getMessage() for r in bad]
        assert sorted(j.id for j in w.daemon._scheduler.get_jobs()) == jobs
        w.loop.run_until(w.clock.monotonic() + 1000)  # and it goes on collecting them all
        assert set(w.collections()) == {"tag0", "tag1", "tag2", "list0"}

        write_config(cfg, str(w.app.settings.database_url), w.server.base_url,
                     mastodon=1, x=1)  # the edit, finished: tag1 and tag2 are gone
        caplog.clear()
        w.daemon.reload()
        assert not _errors(caplog)
        assert sorted(j.id for j in w.daemon._scheduler.get_jobs()) == [
            "recheck", "source:list0", "source:tag0"]


# ---------------------------------------------------------------------- archive


def test_an_archive_killed_mid_file_is_reported_then_written_again_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Torn files: `rounds archive` SIGKILLed mid-file, then verified and run again"""
    cfg, stored = archive_of_1000_posts(tmp_path, monkeypatch)
    out = tmp_path / "archive"
    proc = start_archive(cfg, out)
    part = wait_for_part_file(proc, out)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert part is not None and part.exists()  # the torn file a killed run leaves
    capsys.readouterr()
    assert main(["--config", cfg, "archive", "--verify", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert any("incomplete (no manifest.json): an interrupted run" in e for e in err), err
    assert main(["--config", cfg, "archive", "--settle", "0", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.err.strip().startswith("note: ") and "written again, whole" in \
        captured.err, captured.err
    assert f"archived {stored} posts" in captured.out
    assert not list(out.rglob("*.part"))
    assert main(["--config", cfg, "archive", "--verify", str(out)]) == 0


def archive_of_1000_posts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, int]:
    """A configuration whose archive holds 1,000 posts (enough that writing an archive file
    takes a moment); (its path, the post count)."""
    monkeypatch.setenv("ROUNDS_MED_TOKEN", MASTODON_TOKEN)
    with daemon_world(tmp_path, ManualClock(), mastodon=1, x=0) as w:
        for _ in range(5):  # (a first pass reads back 200 posts; later ones all new ones)
            w.mastodon.add_new("tag:soak0", 200)
            assert main(["--config", str(w.app.config), "collect"]) == 0
        return str(w.app.config), len(w.post_keys())


def start_archive(cfg: str, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "aggregator.cli", "--config", cfg,
                             "archive", "--settle", "0", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_part_file(proc: subprocess.Popen[str], out: Path,
                       timeout: float = 60.0) -> Path | None:
    """The temporary file of the archive being written, once it exists (None: the run
    ended first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        found = next(out.rglob("*.part"), None) if out.exists() else None
        if found is not None:
            return found
        time.sleep(0.002)
    return None
