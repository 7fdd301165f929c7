"""One loopback image host for the media tests (starting it makes the images once)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.images import ImageHost


@pytest.fixture(scope="module")
def _host() -> Iterator[ImageHost]:
    host = ImageHost()
    host.server.start()
    yield host
    host.server.stop()


@pytest.fixture
def host(_host: ImageHost) -> ImageHost:
    _host.server.log.clear()
    _host.server.faults.clear()
    _host.sent_huge = 0
    return _host
