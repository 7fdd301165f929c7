"""The machine under a long-running `rounds`: a size-capped disk, a database behind a
proxy the test controls, `rounds` itself as real processes.

* `small_disk`: a tmpfs of a few megabytes mounted for one test (needs root, or a
  container that allows mounts; the test is skipped, saying why, elsewhere). `fill` writes
  a ballast file until the disk is full; deleting it gives the space back.
* `TcpProxy`: 127.0.0.1:<ephemeral> -> PostgreSQL. It can drop every connection at once
  when a client sends a given byte string (a page's post key: the page's transaction is
  open), refuse new connections (accept, then reset) and let them through again.
* `Mastodon`: the fake Mastodon on loopback, where statuses are added a page at a time.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, inspect, select, text

from aggregator.storage.schema import posts
from tests.conftest import wait_until
from tests.fakes.mastodon import TOKEN, FakeMastodon
from tests.fakes.server import LoopbackServer, Reply, Request

ROOT = Path(__file__).resolve().parents[2]
PAGE = 40  # statuses per Mastodon page (MAX_LIMIT): fakes add whole pages


# ---------------------------------------------------------------------- a small disk


@contextlib.contextmanager
def mounted_tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755",
                           f"rounds-test-{uuid.uuid4().hex[:6]}", str(where)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a {size} tmpfs here ({done.stderr.strip() or 'mount failed'})"
                    ": the disk-full scenarios need root or a container that allows mounts")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)


def fill(disk: Path) -> Path:
    """Write a ballast file until the disk refuses another byte; its path."""
    ballast = disk / "ballast"
    chunk = b"\0" * 65536
    with ballast.open("wb", buffering=0) as fh:
        for size in (65536, 4096, 512, 1):
            while True:
                try:
                    fh.write(chunk[:size])
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
    return ballast


def free_bytes(disk: Path) -> int:
    st = os.statvfs(disk)
    return st.f_bavail * st.f_frsize


# ---------------------------------------------------------------------- a TCP proxy


class TcpProxy:
    """Forwards 127.0.0.1:port to `upstream`; the test decides when connections die."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.refusing = False
        self.accepted = self.refused = self.dropped = 0
        self.dropped_at: float | None = None
        self._drop_on: bytes | None = None
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        self._lock = threading.Lock()
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def start(self) -> TcpProxy:
        self._thread.start()
        return self

    def drop_when_sent(self, marker: bytes) -> None:
        """When a client next sends `marker`, drop every connection (that message never
        reaches the server) and refuse new ones until `allow()`."""
        with self._lock:
            self._drop_on = marker

    def allow(self) -> None:
        with self._lock:
            self.refusing = False

    def stop(self) -> None:
        self._stop = True
        self.listener.close()
        self._drop_all()

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                refusing = self.refusing
            if refusing:
                self.refused += 1
                _reset(client)
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                _reset(client)
                continue
            pair = (client, server)
            with self._lock:
                self._pairs.add(pair)
                self.accepted += 1
            threading.Thread(target=self._pump, args=(client, server, pair, True),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, pair, False),
                             daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket,
              pair: tuple[socket.socket, socket.socket], from_client: bool) -> None:
        try:
            while data := src.recv(65536):
                if from_client and self._drop_on is not None and self._drop_on in data:
                    with self._lock:
                        self._drop_on = None
                        self.refusing = True
                        self.dropped_at = time.monotonic()
                    self._drop_all()
                    return
                dst.sendall(data)
        except OSError:
            pass
        with self._lock:
            self._pairs.discard(pair)
        for s in pair:
            with contextlib.suppress(OSError):
                s.close()

    def _drop_all(self) -> None:
        with self._lock:
            pairs, self._pairs = list(self._pairs), set()
            self.dropped += len(pairs)
        for pair in pairs:
            for s in pair:
                _reset(s)


def _reset(sock: socket.socket) -> None:
    """Close at once, as a server that went away does (shutdown first: a pump thread
    blocked in recv() on the socket would keep it open through close() alone)."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


# ---------------------------------------------------------------------- the fake and rounds


class Mastodon:
    """The fake Mastodon on loopback; `hook(req)` (when set) runs before each timeline
    answer, e.g. to fill the disk as page N is asked for."""

    def __init__(self) -> None:
        self.api = FakeMastodon()
        self.api.set_budget(1_000_000, 300)
        self.hook: Callable[[Request], None] | None = None
        self.timeline_requests = 0
        self.server = LoopbackServer(self._handle).start()

    def _handle(self, req: Request) -> Reply:
        if "/timelines/" in req.path:
            self.timeline_requests += 1
            if self.hook is not None:
                self.hook(req)
        parts = req.path.rstrip("/").split("/")
        if parts[1:4] == ["api", "v1", "statuses"] and len(parts) == 5:
            # the daemon's recheck (every 10 minutes): the status as it is, not a 404
            # that would mark it deleted
            status = self.api.statuses.get(parts[4])
            return (Reply.json(status) if status is not None
                    else Reply.json({"error": "Record not found"}, 404))
        return self.api(req)

    def add_pages(self, tag: str, pages: int, **status: Any) -> list[str]:
        """`pages` whole pages of new statuses on a hashtag, at once; their keys."""
        made = [self.api.make_status(**status) for _ in range(pages * PAGE)]
        self.api.add_statuses(f"tag:{tag}", made)
        return [s["uri"] for s in made]

    def keys(self, tag: str) -> set[str]:
        return {s["uri"] for s in self.api.timelines.get(f"tag:{tag}", [])}

    def stop(self) -> None:
        self.server.stop()


def write_config(path: Path, url: str, server: LoopbackServer, tags: list[str], *,
                 every: str = "15m") -> Path:
    blocks = [f'[database]\nurl = "{url}"\n',
              f'[accounts.med]\nnetwork = "mastodon"\nbase_url = "{server.base_url}"\n'
              'token_env = "ROUNDS_MED_TOKEN"\n']
    blocks += [f'[[sources]]\nname = "{t}"\naccount = "med"\nhashtag = "{t}"\n'
               f'backfill = 10000\nevery = "{every}"\n' for t in tags]
    path.write_text("\n".join(blocks), encoding="utf-8")
    path.chmod(0o600)
    return path


def rounds_env() -> dict[str, str]:
    return {**os.environ, "ROUNDS_MED_TOKEN": TOKEN, "PYTHONPATH": str(ROOT)}


def rounds(cfg: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`rounds --config cfg ARGS` as a separate process, to the end."""
    return subprocess.run([sys.executable, "-m", "aggregator.cli", "--config", str(cfg), *args],
                          env=rounds_env(), capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, check=False)


def spawn(cfg: Path, *args: str, log: Path) -> subprocess.Popen[bytes]:
    """`rounds --config cfg ARGS` in the background, stdout and stderr to `log`."""
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "aggregator.cli", "--config", str(cfg),
                                 *args], env=rounds_env(), stdout=out,
                                stderr=subprocess.STDOUT, cwd=ROOT)


def wait_for(predicate: Callable[[], bool], timeout: float, what: str,
             poll: float = 0.1) -> None:
    """Until `predicate()` holds (checked every `poll` s); fails naming `what` after
    `timeout` seconds."""
    if not wait_until(predicate, timeout, every=poll):
        pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


def one_line_error(stderr: str) -> str:
    """The single line a failing command printed; fails on a traceback or several lines."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1, stderr
    return lines[0]


def stop(proc: subprocess.Popen[bytes], timeout: float = 60) -> int:
    """SIGTERM, then its exit code; -9 when it had to be killed after `timeout` s."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return -9


def log_lines(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of a daemon's `--log-format json` log."""
    return [json.loads(x) for x in path.read_text().splitlines() if x.startswith("{")]


def run_errors(path: Path) -> list[dict[str, Any]]:
    """The log's failed runs (`outcome=error`)."""
    return [x for x in log_lines(path) if x.get("outcome") == "error"]


def _ready(engine: Any) -> bool:
    """The tables exist (the daemon may not have migrated yet)."""
    if not inspect(engine).has_table("alembic_version"):
        return False
    with engine.connect() as conn:
        return bool(conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one())


def stored_keys(url: str) -> list[str]:
    """Every stored post's key, one entry per row; [] before the tables exist."""
    engine = create_engine(url)
    try:
        if not _ready(engine):
            return []
        with engine.connect() as conn:
            return list(conn.execute(select(posts.c.key)).scalars())
    finally:
        engine.dispose()


def post_count(url: str) -> int:
    engine = create_engine(url)
    try:
        if not _ready(engine):
            return 0
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(posts)).scalar_one())
    finally:
        engine.dispose()
