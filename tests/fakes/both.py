"""Both fakes behind one loopback server: X under /2/, Mastodon everywhere else."""

from __future__ import annotations

from tests.fakes.mastodon import FakeMastodon
from tests.fakes.server import Reply, Request
from tests.fakes.twitter import FakeX


class BothNetworks:
    def __init__(self, mastodon: FakeMastodon, x: FakeX) -> None:
        self.mastodon, self.x = mastodon, x

    def __call__(self, req: Request) -> Reply:
        return self.x.handle(req) if req.path.startswith("/2/") else self.mastodon(req)
