"""The demo's own API server: the bundled samples served over HTTP on 127.0.0.1.

`rounds demo` starts it on an ephemeral port, points the demo accounts at it and collects
through the real collectors (Mastodon.py, tweepy, atproto), so that the reader's `R` shows a
real collection pass offline: nothing in our code is faked. Each network's API is one
`SampleApi` (samples.py, samples_bluesky.py); the server only routes by path and keeps
"later" posts back until `publish_later()`, which the demo calls once the archive is built
so that the first `R` finds new posts.

It binds 127.0.0.1 only (never a wildcard address), answers GET only, asks for the demo
accounts' token except where the real API reads anonymously (Bluesky's AppView, the feeds),
and stops with the demo (`with DemoServer(...)`). An answer is JSON, or bytes sent as they
are (the feeds' XML, with their own Content-Type); an answer with an ETag that the request's
If-None-Match names is sent as 304 Not Modified without a body, as a web server does.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

HOST = "127.0.0.1"
DEMO_TOKEN = "demo-token-for-the-loopback-server"  # not a secret: the demo server's own


@dataclass
class Answer:
    status: int
    body: Any  # JSON, or bytes sent as they are (the headers give their Content-Type)
    headers: dict[str, str] = field(default_factory=dict)


class SampleApi(Protocol):
    requires_token: bool  # False for APIs that answer anonymous reads (Bluesky's AppView)

    def handles(self, path: str) -> bool: ...

    def answer(self, path: str, query: dict[str, str], base_url: str) -> Answer: ...

    def publish_later(self) -> int:
        """Release the held-back posts; how many."""
        ...


class DemoServer:
    def __init__(self, apis: Sequence[SampleApi]) -> None:
        self.apis = list(apis)
        self.requests = 0
        self.not_modified = 0  # 304 answers: conditional requests that found no change
        self._lock = threading.Lock()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # the reader owns the terminal
                pass

            def do_GET(self) -> None:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._send(server.route(self.path, self.headers.get("Authorization"),
                                            self.headers.get("If-None-Match")))

            def _refuse(self) -> None:
                self._send(Answer(405, {"error": "the demo server only answers GET"}))

            do_POST = do_PUT = do_DELETE = _refuse

            def _send(self, answer: Answer) -> None:
                raw = isinstance(answer.body, bytes)
                body = answer.body if raw else json.dumps(answer.body).encode()
                self.send_response(answer.status)
                if not raw:
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                if answer.status == 304:  # no body, and no length of one
                    self.end_headers()
                    return
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._httpd = ThreadingHTTPServer((HOST, 0), _Handler)
        self._httpd.daemon_threads = True
        self.host = str(self._httpd.server_address[0])  # always HOST: a test checks it
        self.port = int(self._httpd.server_address[1])
        self.base_url = f"http://{HOST}:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        name="demo-server", daemon=True)

    def route(self, target: str, authorization: str | None,
              if_none_match: str | None = None) -> Answer:
        with self._lock:
            self.requests += 1
        parts = urlsplit(target)
        api = next((a for a in self.apis if a.handles(parts.path)), None)
        if (api is None or api.requires_token) and authorization != f"Bearer {DEMO_TOKEN}":
            return Answer(401, {"error": "The access token is invalid"})
        if api is None:
            return Answer(404, {"error": "Record not found"})
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        answer = api.answer(parts.path, query, self.base_url)
        etag = answer.headers.get("ETag")
        if answer.status == 200 and etag and if_none_match and (
                {t.strip() for t in if_none_match.split(",")} & {etag, "*"}):
            with self._lock:
                self.not_modified += 1
            return Answer(304, b"", {"ETag": etag})
        return answer

    def publish_later(self) -> int:
        return sum(api.publish_later() for api in self.apis)

    def start(self) -> DemoServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
