"""A threaded HTTP server on 127.0.0.1 with an ephemeral port, and armable faults.

Each fake API (mastodon.py, twitter.py) is a `Handler` function from a `Request` to a
`Reply`; `LoopbackServer` serves it and counts requests. `Faults` lets a test arm what
the next matching requests get instead of the normal answer (429, 5xx, a stall, a body
cut short, a reset connection, HTML with status 200, ...).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to stall before answering
    truncate: int | None = None  # send only this many body bytes, then close
    reset: bool = False  # close the connection without an answer
    # a body too large to hold: sent chunk by chunk (Content-Length `length`, or none and
    # the connection closed at the end when `length` is None)
    stream: Callable[[], Iterator[bytes]] | None = None
    length: int | None = None

    @classmethod
    def json(cls, data: Any, status: int = 200, **headers: str) -> Reply:
        return cls(status, json.dumps(data).encode(),
                   {"Content-Type": "application/json; charset=utf-8", **headers})


Handler = Callable[[Request], Reply]


@dataclass
class Fault:
    reply: Reply
    path_contains: str = ""
    times: int = 1


class Faults:
    """Armed per test: the next `times` requests whose path contains `path_contains`
    get `reply` instead of the normal answer."""

    def __init__(self) -> None:
        self._armed: list[Fault] = []
        self._lock = threading.Lock()

    def arm(self, reply: Reply, path_contains: str = "", times: int = 1) -> None:
        with self._lock:
            self._armed.append(Fault(reply, path_contains, times))

    def take(self, path: str) -> Reply | None:
        with self._lock:
            for fault in self._armed:
                if fault.path_contains in path and fault.times > 0:
                    fault.times -= 1
                    return fault.reply
        return None

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()


class LoopbackServer:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.faults = Faults()
        self.log: list[Request] = []
        self._lock = threading.Lock()
        server = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body in separate writes: no 40 ms stall

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                req = Request(self.command, parts.path, parse_qs(parts.query),
                              {k.lower(): v for k, v in self.headers.items()},
                              self.rfile.read(length) if length else b"")
                with server._lock:
                    server.log.append(req)
                reply = server.faults.take(parts.path) or server.handler(req)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.reset:
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                               b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                if reply.stream is not None:
                    if reply.length is not None:
                        self.send_header("Content-Length", str(reply.length))
                    else:
                        self.send_header("Connection", "close")
                        self.close_connection = True
                    self.end_headers()
                    for chunk in reply.stream():
                        self.wfile.write(chunk)
                    return
                self.send_header("Content-Length", str(len(reply.body)))
                if reply.truncate is not None:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                body = reply.body if reply.truncate is None else reply.body[: reply.truncate]
                self.wfile.write(body)

            def _serve_quietly(self) -> None:
                # the client gave up (a timeout test): nothing to answer
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._serve()

            do_GET = do_POST = do_DELETE = do_PUT = _serve_quietly

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _H)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def requests(self, path_contains: str = "") -> list[Request]:
        with self._lock:
            return [r for r in self.log if path_contains in r.path]

    def reset(self) -> None:
        self.faults.clear()
        with self._lock:
            self.log.clear()


class Slowed:
    """A handler that answers like `handler`, after `delay` seconds (a slow server, so
    that a test can interrupt work in the middle)."""

    def __init__(self, handler: Handler, delay: float) -> None:
        self.handler, self.delay = handler, delay

    def __call__(self, req: Request) -> Reply:
        time.sleep(self.delay)
        return self.handler(req)


def serve(handler: Handler) -> Iterator[LoopbackServer]:
    """For fixtures: `yield from serve(app)`."""
    server = LoopbackServer(handler).start()
    try:
        yield server
    finally:
        server.stop()
