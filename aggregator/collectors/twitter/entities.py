"""The X API v2 response shapes we read, as small typed wrappers over the JSON dicts.

Reference: https://docs.x.com/x-api/fundamentals/data-dictionary and
https://docs.x.com/x-api/fundamentals/expansions

Quirks handled here (see tests/data/PROVENANCE.md "Traps"):
* an empty page has no ``data`` key at all, only ``meta.result_count = 0``;
* ``includes`` only holds what the expansions asked for, and may miss referenced objects
  (deleted or protected tweets): those come back as entries of a top-level ``errors`` array
  in an otherwise successful 200 response;
* list and user collections have no ``meta.newest_id``/``oldest_id``; ``next_token`` is
  opaque (sometimes all digits: never cast it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aggregator.collectors.jsonval import shorten

JsonDict = dict[str, Any]


def _objects(value: Any) -> list[JsonDict]:
    return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []


def _index(items: list[JsonDict], key: str) -> dict[str, JsonDict]:
    return {str(x[key]): x for x in items if x.get(key) is not None}


@dataclass(frozen=True, slots=True)
class Includes:
    """`includes` of one response, indexed for joins (users and tweets by id, media by key)."""

    users: dict[str, JsonDict] = field(default_factory=dict)
    tweets: dict[str, JsonDict] = field(default_factory=dict)
    media: dict[str, JsonDict] = field(default_factory=dict)

    @classmethod
    def from_json(cls, value: Any) -> Includes:
        value = value if isinstance(value, dict) else {}
        return cls(
            users=_index(_objects(value.get("users")), "id"),
            tweets=_index(_objects(value.get("tweets")), "id"),
            media=_index(_objects(value.get("media")), "media_key"),
        )


@dataclass(frozen=True, slots=True)
class TweetPage:
    """One page of a v2 tweet collection (list tweets, user tweets, recent search)."""

    data: list[JsonDict]
    includes: Includes
    errors: list[JsonDict]
    meta: JsonDict

    @classmethod
    def from_json(cls, body: Any) -> TweetPage:
        """Raises ValueError when `body` is not a v2 collection response."""
        if not isinstance(body, dict):
            raise ValueError(f"expected a JSON object, got {type(body).__name__}")
        data = body.get("data", [])
        if not isinstance(data, list):
            raise ValueError("'data' is not an array")
        meta = body.get("meta")
        return cls(
            data=_objects(data),
            includes=Includes.from_json(body.get("includes")),
            errors=_objects(body.get("errors")),
            meta=meta if isinstance(meta, dict) else {},
        )

    @property
    def next_token(self) -> str | None:
        token = self.meta.get("next_token")
        return str(token) if token not in (None, "") else None

    @property
    def ids(self) -> list[str]:
        """Ids of the timeline entries themselves (retweet wrappers, not their originals)."""
        return [str(t["id"]) for t in self.data if t.get("id") is not None]


def describe_error(error: JsonDict) -> str:
    """A one-line description of a v2 error object (partial `errors` entry or problem body)."""
    title = str(error.get("title") or "error")
    detail = str(error.get("detail") or error.get("message") or "")
    text = f"{title}: {detail}" if detail and detail != title else title
    return shorten(text, 300)


def is_not_found(error: JsonDict, parameter: str) -> bool:
    """True for a 'resource-not-found' partial error about the request's own `parameter`
    (X answers 200 with only such an error for an unknown username or list)."""
    return (str(error.get("type", "")).endswith("/resource-not-found")
            and error.get("parameter") == parameter)
