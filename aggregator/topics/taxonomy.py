"""Load and validate a topic taxonomy (TOML) into frozen dataclasses.

The default taxonomy ships in the package (``aggregator/data/topics.toml``; the file's
header documents every key). A user's file (``topics_file`` in the config) has the same
shape and is merged over the default by :func:`load_taxonomy`:

* ``[[topics]]`` with a NEW id: added (``name`` required), after the default topics.
* ``[[topics]]`` with an EXISTING id: each key it lists REPLACES the default's value for
  that key (``keywords = [...]`` replaces the keyword list); keys it does not list are
  kept. ``extend_<key> = [...]`` APPENDS to the default's list instead (for hashtags,
  conferences, keywords, exact, guarded, weak, context, veto, languages, mesh, neighbours,
  shared, context_topics).
  ``disabled = true`` removes the topic (and its id from content types' ``topics``).
* ``[communities]``: each key replaces (or adds) that community's hashtag list; an empty
  list removes the community.
* ``[content_types.<id>]``: each listed key replaces that key of the default content
  type (``extend_domains`` / ``extend_topics`` append); a new id is added;
  ``disabled = true`` removes it.

Every problem raises ConfigError naming the file, the topic (or table) and the key.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

from aggregator.errors import ConfigError

DEFAULT_NAME = "aggregator/data/topics.toml"
_ID = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
LIST_KEYS = (
    "hashtags", "conferences", "keywords", "exact", "guarded", "weak", "context", "veto",
    "languages", "mesh", "neighbours", "shared", "context_topics",
)
_TOPIC_KEYS = {"id", "name", "disabled", *LIST_KEYS, *(f"extend_{k}" for k in LIST_KEYS)}
_CT_LISTS = ("domains", "topics")
_CT_KEYS = {"disabled", *_CT_LISTS, *(f"extend_{k}" for k in _CT_LISTS)}


def normalize_hashtag(tag: str) -> str:
    """Mastodon's HashtagNormalizer: NFKC, casefold, ASCII-fold, keep alnum and '_'."""
    text = unicodedata.normalize("NFKC", tag.lstrip("#＃")).casefold()
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return "".join(c for c in text if c.isalnum() or c == "_")


@dataclass(frozen=True, slots=True)
class Topic:
    id: str
    name: str
    hashtags: tuple[str, ...] = ()
    conferences: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    exact: tuple[str, ...] = ()
    guarded: tuple[str, ...] = ()
    weak: tuple[str, ...] = ()
    context: tuple[str, ...] = ()
    veto: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    mesh: tuple[str, ...] = ()
    neighbours: tuple[str, ...] = ()
    shared: tuple[str, ...] = ()
    context_topics: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Community:
    id: str
    hashtags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ContentType:
    id: str
    domains: tuple[str, ...]  # "doi.org" or "gov.uk/mhra" (host suffix plus path prefix)
    topics: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Taxonomy:
    topics: tuple[Topic, ...]
    communities: tuple[Community, ...] = ()
    content_types: tuple[ContentType, ...] = ()

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(t.id for t in self.topics)

    def get(self, topic_id: str) -> Topic | None:
        return next((t for t in self.topics if t.id == topic_id), None)


def load_default_text() -> str:
    return (resources.files("aggregator") / "data" / "topics.toml").read_text(encoding="utf-8")


def load_taxonomy(user_file: Path | None = None) -> Taxonomy:
    """The packaged default taxonomy, with `user_file` merged over it (see module doc)."""
    base = parse_taxonomy(load_default_text(), DEFAULT_NAME)
    if user_file is None:
        return base
    try:
        text = Path(user_file).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{user_file}: cannot read topics file: {exc.strerror}") from exc
    return merge_taxonomy(base, _read_toml(text, str(user_file)), str(user_file))


def parse_taxonomy(text: str, origin: str = "<topics>") -> Taxonomy:
    """A complete taxonomy from TOML text (no merging)."""
    data = _read_toml(text, origin)
    empty = Taxonomy(topics=())
    return merge_taxonomy(empty, data, origin)


def _read_toml(text: str, origin: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin}: not valid TOML: {exc}") from exc


def merge_taxonomy(base: Taxonomy, data: Mapping[str, Any], origin: str) -> Taxonomy:
    unknown = set(data) - {"version", "topics", "communities", "content_types"}
    if unknown:
        raise ConfigError(f"{origin}: unknown key {sorted(unknown)[0]!r} (known: version, "
                          "topics, communities, content_types)")
    topics = {t.id: t for t in base.topics}
    raw_topics = data.get("topics", [])
    if not isinstance(raw_topics, list):
        raise ConfigError(f"{origin}: 'topics' must be an array of tables ([[topics]])")
    seen: set[str] = set()
    for index, entry in enumerate(raw_topics):
        where = f"{origin}: topics[{index}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: must be a table")
        tid = entry.get("id")
        if not isinstance(tid, str) or not _ID.match(tid):
            raise ConfigError(f"{where}: key 'id' must be lower-case letters, digits and '_' "
                              f"starting with a letter (got {tid!r})")
        if tid in seen:
            raise ConfigError(f"{origin}: topic {tid!r}: duplicate id")
        seen.add(tid)
        where = f"{origin}: topic {tid!r}"
        bad = set(entry) - _TOPIC_KEYS
        if bad:
            raise ConfigError(f"{where}: unknown key {sorted(bad)[0]!r}")
        disabled = entry.get("disabled", False)
        if not isinstance(disabled, bool):
            raise ConfigError(f"{where}: key 'disabled' must be true or false")
        if disabled:
            topics.pop(tid, None)
            continue
        topics[tid] = _merge_topic(topics.get(tid), entry, where)
    communities = _merge_communities(base.communities, data.get("communities", {}), origin)
    types = _merge_content_types(base.content_types, data.get("content_types", {}), origin)
    known = set(topics)
    for entry in raw_topics:  # what this file names must exist; disabled ones drop out
        tid = entry["id"]
        for key in ("neighbours", "context_topics"):
            for other in [*entry.get(key, []), *entry.get(f"extend_{key}", [])]:
                if other not in known or other == tid:
                    raise ConfigError(f"{origin}: topic {tid!r}: key {key!r}: {other!r} is "
                                      "not another topic of the taxonomy")
        if tid in topics and topics[tid].shared and not topics[tid].neighbours:
            raise ConfigError(f"{origin}: topic {tid!r}: key 'shared' needs 'neighbours' (the "
                              "topics its shared keywords defer to)")
    topics = {tid: replace(t, neighbours=tuple(n for n in t.neighbours if n in known),
                           context_topics=tuple(n for n in t.context_topics if n in known))
              for tid, t in topics.items()}
    types = [replace(ct, topics=tuple(t for t in ct.topics if t in known)) for ct in types]
    for ct, raw in ((ct, data.get("content_types", {}).get(ct.id, {})) for ct in types):
        for t in raw.get("topics", []) + raw.get("extend_topics", []):
            if t not in known:
                raise ConfigError(f"{origin}: content_types.{ct.id}: key 'topics' names "
                                  f"unknown topic {t!r}")
    return Taxonomy(tuple(topics.values()), tuple(communities), tuple(types))


def _str_list(value: Any, where: str, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: key {key!r} must be a list of strings")
    if any(not v.strip() for v in value):
        raise ConfigError(f"{where}: key {key!r} contains an empty string")
    return [v.strip() for v in value]


def _clean(key: str, values: list[str], where: str) -> tuple[str, ...]:
    if key in ("hashtags", "conferences"):
        out = [normalize_hashtag(v) for v in values]
        for raw, tag in zip(values, out, strict=True):
            if not tag:
                raise ConfigError(f"{where}: key {key!r}: {raw!r} is not a hashtag")
        values = out
    elif key == "languages":
        values = [v.lower() for v in values]
    return tuple(dict.fromkeys(values))  # de-duplicated, order kept


def _merge_topic(old: Topic | None, entry: Mapping[str, Any], where: str) -> Topic:
    name = entry.get("name", old.name if old else None)
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: key 'name' is required and must be a non-empty string")
    fields: dict[str, tuple[str, ...]] = {}
    for key in LIST_KEYS:
        current: tuple[str, ...] = getattr(old, key) if old else ()
        if key in entry:
            current = _clean(key, _str_list(entry[key], where, key), where)
        ext = f"extend_{key}"
        if ext in entry:
            more = _clean(key, _str_list(entry[ext], where, ext), where)
            current = tuple(dict.fromkeys(current + more))
        fields[key] = current
    for abbr in fields["guarded"]:
        if not re.fullmatch(r"[\w&.]+", abbr):
            raise ConfigError(f"{where}: key 'guarded': {abbr!r} must be a single token")
    return Topic(id=str(entry["id"]), name=name.strip(), **fields)


def _merge_communities(base: tuple[Community, ...], raw: Any, origin: str) -> list[Community]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{origin}: 'communities' must be a table of id = [hashtags]")
    merged = {c.id: c for c in base}
    for cid, tags in raw.items():
        if not _ID.match(cid):
            raise ConfigError(f"{origin}: communities: bad id {cid!r}")
        where = f"{origin}: communities"
        values = _clean("hashtags", _str_list(tags, where, cid), where) if tags else ()
        if values:
            merged[cid] = Community(cid, values)
        else:
            merged.pop(cid, None)
    return list(merged.values())


def _merge_content_types(
    base: tuple[ContentType, ...], raw: Any, origin: str
) -> list[ContentType]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{origin}: 'content_types' must be a table of tables")
    merged = {c.id: c for c in base}
    for cid, entry in raw.items():
        where = f"{origin}: content_types.{cid}"
        if not _ID.match(cid) or not isinstance(entry, dict):
            raise ConfigError(f"{where}: must be a table with a lower-case id")
        bad = set(entry) - _CT_KEYS
        if bad:
            raise ConfigError(f"{where}: unknown key {sorted(bad)[0]!r}")
        if entry.get("disabled") is True:
            merged.pop(cid, None)
            continue
        old = merged.get(cid)
        values: dict[str, tuple[str, ...]] = {}
        for key in _CT_LISTS:
            current: tuple[str, ...] = getattr(old, key) if old else ()
            if key in entry:
                current = tuple(v.lower() for v in _str_list(entry[key], where, key))
            if f"extend_{key}" in entry:
                more = _str_list(entry[f"extend_{key}"], where, f"extend_{key}")
                current = tuple(dict.fromkeys(current + tuple(v.lower() for v in more)))
            values[key] = current
        if not values["domains"]:
            raise ConfigError(f"{where}: key 'domains' is required and must not be empty")
        merged[cid] = ContentType(cid, values["domains"], values["topics"])
    return list(merged.values())
