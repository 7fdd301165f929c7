"""Handle validation: what a curator may type, and the errors for what they may not."""

from __future__ import annotations

import pytest

from aggregator.curation.handles import normalize_mastodon, normalize_x, parse_handle
from aggregator.errors import CurationError


@pytest.mark.parametrize(("given", "expected"), [
    ("alice@example.social", "alice@example.social"),
    ("@Alice@Example.SOCIAL", "Alice@example.social"),
    ("  dr.bob_2@med.example.org ", "dr.bob_2@med.example.org"),
])
def test_mastodon_addresses_are_normalized(given: str, expected: str) -> None:
    assert normalize_mastodon(given) == expected


@pytest.mark.parametrize(("given", "reason"), [
    ("alice", "expected user@domain"),
    ("@alice", "expected user@domain"),
    ("alice@", "expected user@domain"),
    ("al ice@example.social", "may only hold"),
    ("alice@not a domain", "is not a domain name"),
    ("alice@localhost", "is not a domain name"),
])
def test_bad_mastodon_addresses_say_why(given: str, reason: str) -> None:
    with pytest.raises(CurationError, match=reason):
        normalize_mastodon(given)


@pytest.mark.parametrize(("given", "expected"), [("@DrBob", "DrBob"), ("a", "a"),
                                                 ("x" * 15, "x" * 15), ("Dr_Bob_99", "Dr_Bob_99")])
def test_x_usernames(given: str, expected: str) -> None:
    assert normalize_x(given) == expected


@pytest.mark.parametrize("given", ["", "@", "x" * 16, "dr-bob", "dr.bob", "drbob@x.com"])
def test_bad_x_usernames_say_what_is_expected(given: str) -> None:
    with pytest.raises(CurationError, match="1 to 15 letters, digits or underscores"):
        normalize_x(given)


def test_parse_handle_tells_networks_apart() -> None:
    assert parse_handle("@alice@example.social") == ("mastodon", "alice@example.social")
    assert parse_handle("x:DrBob") == ("twitter", "DrBob")
    assert parse_handle("@DrBob") == ("twitter", "DrBob")
    with pytest.raises(CurationError, match="is not an account: write user@domain"):
        parse_handle("not a handle!")
