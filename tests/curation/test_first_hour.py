"""Issue 12: account forms a curator may type, and merges shown as merges."""

from __future__ import annotations

import pytest

from aggregator.curation.handles import parse_handle
from aggregator.errors import CurationError


@pytest.mark.parametrize(("typed", "expected"), [
    ("alice@example.social", ("mastodon", "alice@example.social")),
    ("@alice@example.social", ("mastodon", "alice@example.social")),
    ("x:DrBob", ("twitter", "DrBob")),
    ("@DrBob", ("twitter", "DrBob")),
])
def test_every_documented_form_is_accepted(typed: str, expected: tuple[str, str]) -> None:
    assert parse_handle(typed) == expected


@pytest.mark.parametrize("typed", ["notahandle", "DrBob", "bsky-ish"])
def test_a_bare_word_is_refused_with_the_accepted_forms(typed: str) -> None:
    with pytest.raises(CurationError) as caught:
        parse_handle(typed)
    message = str(caught.value)
    assert "\n" not in message
    for form in ("user@domain", "@user@domain", "x:name", "@name", "#ID"):
        assert form in message


def test_lists_add_refuses_a_bare_word_and_creates_no_voice(rounds) -> None:  # type: ignore[no-untyped-def]
    rounds("lists", "create", "L")
    _, err = rounds("lists", "add", "L", "notahandle", code=1)
    assert "'notahandle' is not an account" in err and "x:name" in err
    assert len(err.strip().splitlines()) == 1
    out, _ = rounds("voices", "show")
    assert out == ""


def test_voices_link_is_shown_as_a_merge_in_the_history(rounds) -> None:  # type: ignore[no-untyped-def]
    rounds("lists", "create", "L")
    rounds("lists", "add", "L", "alice@example.social", "x:DrBob", "carol@example.social")
    rounds("voices", "link", "#1", "#2")
    out, _ = rounds("lists", "history", "L")
    lines = out.strip().splitlines()
    added = [line for line in lines if " added " in line]
    assert len(added) == 3
    ones = [line for line in added if "#1 " in line]
    assert len(ones) == 2 and ones[0] != ones[1], out  # never the same line twice
    assert "(as #2 x:@DrBob)" in ones[1]
    merged = [line for line in lines if " merged " in line]
    assert len(merged) == 1 and "#2 x:@DrBob joined #1" in merged[0], out
    out, _ = rounds("lists", "history", "L", "--on", "2100-01-01")
    assert "2 members" in out
