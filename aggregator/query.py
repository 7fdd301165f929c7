"""The query language shared by `rounds search`, `rounds export --query`, saved views and
the reader. Parsing is pure: the text and "now" in, a frozen Query out.

    topic:cardiology network:mastodon from:drjane@med-mastodon.com source:cardiology
    tag:heartfailure since:7d until:2026-11-01 unread starred has:link has:media lang:en
    -boosts "heart failure" statin -sponsored

* Tokens are separated by whitespace. ``-`` in front of a token negates it.
* Filters ``field:value``; a value may be "quoted" (``source:"Cardiology list"``) or a
  comma list (``topic:cardiology,oncology``). The same field given twice means ANY of
  the values; different fields must ALL hold. ``-field:value`` excludes.
  Fields: topic, network (mastodon, twitter; x = twitter), from (handle or key, a
  leading @ is ignored), source (source name), tag (a hashtag the author gave the post,
  a leading # ignored, case ignored), lang, since, until, is (read, unread,
  starred), has (link, media), type (content type facet: paper, preprint...),
  community (community facet: foamed...).
* ``since:`` / ``until:`` take a WHEN (aggregator.when: ``7d``, ``36h``, ``2w`` ago,
  ``today``, ``yesterday``, ``YYYY-MM-DD``, an ISO time); ``until:`` a day includes it.
* Flags: ``unread``, ``read``, ``starred``, ``boosts`` (boosted by someone);
  ``-starred``, ``-boosts`` negate them. To search for these words, quote them.
* A token ``word:`` with nothing after the colon is a word unless it names a field.
* Everything else is full text: bare words and "quoted phrases" must all occur;
  ``-word`` / ``-"a phrase"`` must not. Operators, brackets and stars are just text.

Errors raise QueryError(message, position, token); the message names the column.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from aggregator.errors import QueryError
from aggregator.models import NETWORKS
from aggregator.when import WHEN_FORMS, WhenError, parse_when

FIELDS = ("topic", "network", "from", "source", "tag", "lang", "since", "until", "is", "has",
          "type", "community")
FLAGS = ("unread", "read", "starred", "boosts")
_FIELD = re.compile(r"([A-Za-z_]+):")
_LANG = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{2,8})?$")
_TOPIC = re.compile(r"^[a-z][a-z0-9_]{0,47}$")


@dataclass(frozen=True, slots=True)
class Term:
    text: str
    phrase: bool = False


@dataclass(frozen=True, slots=True)
class Query:
    topics: tuple[str, ...] = ()  # any of (facets as "type:paper", "community:foamed")
    exclude_topics: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()
    exclude_networks: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()  # lower-case handles or keys, no leading @
    exclude_authors: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    exclude_sources: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()  # lower-case hashtags, no leading #
    exclude_tags: tuple[str, ...] = ()
    langs: tuple[str, ...] = ()
    exclude_langs: tuple[str, ...] = ()
    since: datetime | None = None  # created_at >= since
    until: datetime | None = None  # created_at < until
    read: bool | None = None  # unread -> False
    starred: bool | None = None
    has_link: bool | None = None
    has_media: bool | None = None
    boosted: bool | None = None  # boosts -> True, -boosts -> False
    terms: tuple[Term, ...] = ()
    exclude_terms: tuple[Term, ...] = ()
    text: str = field(default="", compare=False)  # the query as typed

    @property
    def is_empty(self) -> bool:
        return self == Query()


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The names a query may use, handed in by the caller (the parser stays pure): an
    unknown topic or source is an error naming the nearest valid ones instead of a query
    that silently matches nothing. Without one, names are not checked."""

    topics: Mapping[str, str] = field(default_factory=dict)  # id -> name as the reader shows
    sources: tuple[str, ...] = ()

    def topic_id(self, typed: str) -> str | None:
        """The id for an id or a shown name ("Infectious disease" for infectious_disease,
        whose name is "Infectious disease & AMR"), case and spacing ignored."""
        key = _fold(typed)
        for topic_id, name in self.topics.items():
            if key == _fold(topic_id) or key in _name_forms(name):
                return topic_id
        return None


def _fold(text: str) -> str:
    return " ".join(text.replace("_", " ").casefold().split())


def _name_forms(name: str) -> set[str]:
    """A topic name and its head: "Neurology & stroke" is also "Neurology"."""
    return {_fold(name), _fold(re.split(r" & |, | \(", name)[0])}


def _unknown(kind: str, item: str, known: Sequence[str], start: int, raw: str) -> QueryError:
    near = difflib.get_close_matches(item.casefold(), [k.casefold() for k in known], n=3,
                                     cutoff=0.6)
    by_fold = {k.casefold(): k for k in known}
    if near:
        hint = "did you mean " + " or ".join(by_fold[n] for n in near) + "?"
    else:
        hint = f"known: {', '.join(known[:12])}{', ...' if len(known) > 12 else ''}" \
            if known else f"no {kind}s are configured"
    return _error(f"unknown {kind} {item!r}", start, raw, hint)


def parse_query(text: str, *, now: datetime, vocabulary: Vocabulary | None = None) -> Query:
    """Parse `text`; relative dates count back from `now` (naive means UTC). With a
    `vocabulary`, topics and sources must be known (topic names become ids)."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    values: dict[str, Any] = {}
    for neg, start, fld, value, phrase, raw in _tokens(text):
        if fld is None:
            _apply_word(values, neg, value, phrase, start, raw)
        else:
            _apply_field(values, neg, fld, value, start, raw, now, vocabulary)
    values = {k: tuple(dict.fromkeys(v)) if isinstance(v, list) else v
              for k, v in values.items()}
    return Query(text=text, **values)


def _error(message: str, start: int, raw: str, hint: str = "") -> QueryError:
    text = f"{message} at column {start + 1}" + (f"; {hint}" if hint else "")
    return QueryError(text, start, raw)


def _tokens(text: str) -> list[tuple[bool, int, str | None, str, bool, str]]:
    """(negated, start, field or None, value, quoted, raw token) for each token."""
    out = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        start = i
        neg = text[i] == "-" and i + 1 < n and not text[i + 1].isspace()
        if neg:
            i += 1
        fld: str | None = None
        m = _FIELD.match(text, i)
        rest_end = _token_end(text, i)
        bare = m is not None and m.end() == rest_end  # "Update:" is a word, not a filter
        if m and not bare and "://" not in text[i:rest_end]:
            fld = m.group(1).lower()
            if fld not in FIELDS:
                raise _error(f"unknown filter '{m.group(0)}'", start, text[start:m.end()],
                             f"known: {', '.join(FIELDS)}")
            i = m.end()
        if i < n and text[i] == '"':
            close = text.find('"', i + 1)
            if close < 0:
                raise _error("unbalanced quote", i, text[i:], 'add the closing "')
            value, quoted, i = text[i + 1:close], True, close + 1
        else:
            end = _token_end(text, i)
            value, quoted, i = text[i:end], False, end
        if m and bare and m.group(1).lower() in FIELDS:
            raise _error(f"'{m.group(0).lower()}' needs a value", start, text[start:i])
        if fld is not None and not value.strip():
            raise _error(f"'{fld}:' needs a value", start, text[start:i])
        out.append((neg, start, fld, value, quoted, text[start:i]))
    return out


def _token_end(text: str, i: int) -> int:
    while i < len(text) and not text[i].isspace():
        i += 1
    return i


def _add(values: dict[str, Any], key: str, item: Any) -> None:
    values.setdefault(key, []).append(item)


def _apply_word(values: dict[str, Any], neg: bool, value: str, phrase: bool, start: int,
                raw: str) -> None:
    flag = value.lower()
    if not phrase and flag in FLAGS:
        if flag in ("unread", "read"):
            values["read"] = (flag == "read") != neg
        elif flag == "starred":
            values["starred"] = not neg
        else:
            values["boosted"] = not neg
        return
    if not value.strip():
        if phrase:
            return  # "" means nothing
        raise _error("a lone '-' excludes nothing; put a word after it", start, raw)
    _add(values, "exclude_terms" if neg else "terms", Term(value, phrase))


def _apply_field(values: dict[str, Any], neg: bool, fld: str, value: str, start: int,
                 raw: str, now: datetime, vocabulary: Vocabulary | None = None) -> None:
    if fld in ("since", "until"):
        if neg:
            raise _error(f"'{fld}:' cannot be negated (use the other one)", start, raw)
        values[fld] = _parse_when(fld, value.strip(), start, raw, now)
        return
    if fld in ("is", "has"):
        for item in _split(value):
            _apply_state(values, neg, fld, item.lower(), start, raw)
        return
    prefix = "exclude_" if neg else ""
    for item in _split(value):
        if fld == "topic" and vocabulary is not None:
            found = vocabulary.topic_id(item)
            if found is None:
                raise _unknown("topic", item, sorted(vocabulary.topics), start, raw)
            _add(values, prefix + "topics", found)
        elif fld in ("topic", "type", "community"):
            topic = item.lower()
            if not _TOPIC.match(topic):
                raise _error(f"not a topic id: {item!r}", start, raw)
            _add(values, prefix + "topics", topic if fld == "topic" else f"{fld}:{topic}")
        elif fld == "network":
            net = {"x": "twitter"}.get(item.lower(), item.lower())
            if net not in NETWORKS:
                raise _unknown("network", item, NETWORKS, start, raw)
            _add(values, prefix + "networks", net)
        elif fld == "from":
            handle = item.lstrip("@").lower()
            if not handle:
                raise _error("'from:' needs a handle", start, raw)
            _add(values, prefix + "authors", handle)
        elif fld == "tag":
            tag = item.lstrip("#").lower()
            if not tag:
                raise _error("'tag:' needs a hashtag", start, raw)
            _add(values, prefix + "tags", tag)
        elif fld == "source":
            if vocabulary is not None and item not in vocabulary.sources:
                raise _unknown("source", item, vocabulary.sources, start, raw)
            _add(values, prefix + "sources", item)
        else:  # lang
            lang = item.lower()
            if not _LANG.match(lang):
                raise _error(f"not a language code {item!r}", start, raw,
                             "use e.g. en, de, pt-br")
            _add(values, prefix + "langs", lang)


def _apply_state(values: dict[str, Any], neg: bool, fld: str, item: str, start: int,
                 raw: str) -> None:
    known = {"is": ("read", "unread", "starred", "boosted"), "has": ("link", "media")}[fld]
    if item not in known:
        raise _error(f"unknown value {item!r} for '{fld}:'", start, raw,
                     f"known: {', '.join(known)}")
    key = {"read": "read", "unread": "read", "starred": "starred", "boosted": "boosted",
           "link": "has_link", "media": "has_media"}[item]
    values[key] = (item != "unread") != neg


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()] or [value.strip()]


def _parse_when(fld: str, value: str, start: int, raw: str, now: datetime) -> datetime:
    try:
        return parse_when(value, now, end=fld == "until")
    except WhenError as exc:
        if exc.unreadable:
            raise _error(f"cannot read '{fld}:{value}'", start, raw, f"use {WHEN_FORMS}") from None
        raise _error(f"'{fld}:' date out of range: {value!r}", start, raw) from None


EVERYTHING = ("a mute must say what to hide (a word, from:, tag:, lang:, has: …): "
              "this one would hide every post")


def _has_text(text: str) -> bool:
    return any(unicodedata.category(c)[0] in "LN" for c in text)


def parse_mute(text: str, *, now: datetime, vocabulary: Vocabulary | None = None) -> Query:
    """A mute's expression (`[[mutes]]`, `rounds mutes add`), parsed like any query.

    Raises:
        QueryError: it does not parse, or it would hide every post (it names nothing but
            words that search drops, like "!!!").
    """
    query = parse_query(text, now=now, vocabulary=vocabulary)
    narrowed = replace(query, terms=tuple(t for t in query.terms if _has_text(t.text)),
                       exclude_terms=tuple(t for t in query.exclude_terms
                                           if _has_text(t.text)))
    if narrowed.is_empty:
        raise QueryError(EVERYTHING, 0, text)
    return query


def with_terms(query: Query, *terms: str) -> Query:
    """The query with extra full-text words (for callers that add a search box)."""
    return replace(query, terms=query.terms + tuple(Term(t) for t in terms))
