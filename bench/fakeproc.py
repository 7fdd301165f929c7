"""The collect bench's loopback Mastodon fake, in a process of its own.

`python -m bench.fakeproc N_SOURCES PER_SOURCE SEED` serves FakeMastodon
(tests/fakes/mastodon.py) on 127.0.0.1 with `N_SOURCES` hashtag timelines of `PER_SOURCE`
generated statuses, prints its base URL on the first line of stdout, and serves until its
stdin closes. A real server is not in the collector's process: in the bench's own process
the fake's CPU (JSON encoding, http.server) shared the collectors' GIL and core.

The bench drives it over HTTP on paths under /__bench/ (never under /api/, so they count
in no request figure): how many requests a path saw, new posts on every timeline, the
request budget, how many 429s it answered.
"""

from __future__ import annotations

import sys
from datetime import timedelta

from bench.generate import START, generate_statuses


def add_new_statuses(api: object, n_sources: int, per_source: int, seed: int) -> int:
    """`per_source` fresh statuses on every timeline, newer than everything there."""
    later = START + timedelta(days=3650 + seed)
    for i in range(n_sources):
        fresh = generate_statuses(per_source, seed * 100 + i, tags=[f"src{i:02d}"],
                                  start=later + timedelta(seconds=i), n_accounts=20)
        api.add_statuses(f"tag:src{i:02d}", fresh)  # type: ignore[attr-defined]
    return n_sources * per_source


def main(argv: list[str]) -> None:
    from tests.fakes.mastodon import FakeMastodon
    from tests.fakes.server import LoopbackServer, Reply, Request

    n_sources, per_source, seed = (int(a) for a in argv)
    api = FakeMastodon(seed=False)
    api.set_budget(10**9, 3600.0)
    for i in range(n_sources):
        statuses = generate_statuses(per_source, seed + 1000 + i, tags=[f"src{i:02d}"],
                                     n_accounts=200)
        api.add_statuses(f"tag:src{i:02d}", statuses)
    rejected: list[int] = []
    server: LoopbackServer

    def control(req: Request) -> Reply:
        what = req.path.removeprefix("/__bench/")
        if what == "requests":
            return Reply.json(len(server.requests(req.arg("path", "") or "")))
        if what == "add_new":
            return Reply.json(add_new_statuses(api, int(req.arg("sources") or 0),
                                               int(req.arg("per_source") or 0),
                                               int(req.arg("seed") or 0)))
        if what == "budget":
            api.set_budget(int(req.arg("limit") or 0), float(req.arg("window") or 0))
            return Reply.json(True)
        if what == "rejected":
            return Reply.json(len(rejected))
        return Reply.json({"error": f"no control {what!r}"}, 404)

    def handler(req: Request) -> Reply:
        if req.path.startswith("/__bench/"):
            return control(req)
        reply = api(req)
        if reply.status == 429:
            rejected.append(1)
        return reply

    server = LoopbackServer(handler).start()
    print(server.base_url, flush=True)
    try:
        sys.stdin.read()  # until the bench closes it (or exits)
    finally:
        server.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
