"""The incremental JSON array reader: every item whole whatever the chunk boundaries,
one BadItem (with its index) for what does not decode, and nothing but the array."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator.importing import jsonstream
from aggregator.importing.jsonstream import BadItem, iter_array

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=10)


@given(items=st.lists(values, max_size=8), chunk=st.integers(1, 17),
       indent=st.sampled_from([None, 2]))
def test_items_come_back_whole_across_chunk_boundaries(items: list[object], chunk: int,
                                                       indent: int | None) -> None:
    text = "window.YTD.tweets.part0 = " + json.dumps(items, indent=indent, ensure_ascii=False)
    saved = jsonstream.CHUNK
    jsonstream.CHUNK = chunk
    try:
        got = list(iter_array(io.BytesIO(text.encode())))
    finally:
        jsonstream.CHUNK = saved
    assert got == items


def test_the_array_after_a_marker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonstream, "CHUNK", 5)
    doc = {"@context": ["https://www.w3.org/ns/activitystreams"], "totalItems": 2,
           "orderedItems": [{"type": "Create"}, {"type": "Announce"}]}
    got = list(iter_array(io.BytesIO(json.dumps(doc).encode()), after='"orderedItems"'))
    assert got == doc["orderedItems"]


@pytest.mark.parametrize(("text", "bad"), [
    ('[{"a": 1}, {"a": nope}, {"a": 3}]', BadItem(2, "not valid JSON (Expecting value)")),
    ('[{"a": 1}, {"a": 2', BadItem(2, "not valid JSON (Expecting ',' delimiter)")),
    ('[{"a": 1},', BadItem(2, "the file ends inside the array (truncated?)")),
])
def test_a_bad_item_is_reported_by_index_and_ends_the_array(
        text: str, bad: BadItem, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonstream, "CHUNK", 4)
    got = list(iter_array(io.BytesIO(text.encode())))
    assert got == [{"a": 1}, bad]


def test_a_file_without_an_array_is_not_this_kind_of_file() -> None:
    with pytest.raises(ValueError, match="no JSON array"):
        list(iter_array(io.BytesIO(b'{"a": 1}')))
