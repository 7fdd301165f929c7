"""Pure post -> topics classifier.

Rules, per topic (strongest match wins, one match per topic):

* ``hashtag`` (weight 3): a post hashtag, normalized like Mastodon, is in the topic's
  ``hashtags``, or is a ``conferences`` stem plus a 2- or 4-digit year (#ASCO25).
* ``keyword`` (2): a ``keywords`` phrase occurs as whole words (case-insensitive, accents
  folded, a trailing s/es/'s also matches) in the text, the content warning, media alt
  text, or a CamelCase hashtag split into words (#HeartFailure -> "heart failure").
* ``keyword`` also: an ``exact`` phrase, matched case-sensitively (eGFR, "the ED").
* ``guarded`` (2): a case-sensitive ``guarded`` abbreviation (MI, MS, ER...) or a ``weak``
  word, but only together with a co-term of the same topic (a ``context`` phrase, the
  source's or voice's topics, or a different guarded abbreviation) and only when the
  post's language is one of the topic's ``languages`` (or unknown). A hashtag or keyword
  match of one of the topic's ``context_topics`` is a co-term too ("children" in a post
  about measles). A word is never its
  own co-term: "CT" is not supported by the context word "ct", nor "rural hospitals" by
  the "hospitals" inside it.
* ``keyword`` also: a ``shared`` phrase (a drug or disease that neighbouring topics also
  talk about: SGLT2 inhibitors in heart failure), but only when none of the topic's
  ``neighbours`` matched the post's text (hashtag, keyword, guarded).
* ``source`` / ``voice`` (1): the source's default topics, the author's curated topics.
* ``content_type`` (1): a link's content type lists the topic (paper -> research_evidence).

A ``veto`` phrase cancels the topic's hashtag/keyword/guarded matches for the post.
URLs, @mentions and inline #hashtags are removed from the text before keyword matching.
An ``exact`` phrase starting in lower case also matches with a capital ("Our ED").

:meth:`Classifier.explain` also returns what was considered and dropped, and why
(vetoed, no co-term, language, shared with a neighbour, only inside a link).

Facets come back in the same list after the topics, with prefixed names:
``community:<id>`` (rule "community", from hashtags) and ``type:<id>`` (rule
"content_type", from link domains). :func:`topic_ids` keeps only real topic ids.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from aggregator.models import Post, pickled_by_fields
from aggregator.topics.taxonomy import Taxonomy, normalize_hashtag

WEIGHTS = {"hashtag": 3, "keyword": 2, "guarded": 2, "source": 1, "voice": 1,
           "content_type": 1, "community": 1}
FACET_PREFIXES = ("community:", "type:")

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MENTION = re.compile(r"(?<![\w@])@[\w.\-]+(?:@[\w.\-]+)?")
_HASHTAG = re.compile(r"(?<![\w/)])[#＃](\w+)")
_WORD = re.compile(r"\w+(?:'\w+)*")
_WORD_OR_SEP = re.compile(r"\w+(?:'\w+)*|\x00")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)"
                    r"|(?<=\d)(?=[A-Za-z])|_")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'"})
_YEAR = re.compile(r"^(.*?[a-z_])(\d{2}|\d{4})$")
# str.translate table deleting the Basic Multilingual Plane's combining characters
_COMBINING_BMP = {c: None for c in range(0x10000) if unicodedata.combining(chr(c))}
_SEP = "\x00"  # a token that no phrase contains: n-grams never cross it

KEYWORD, CONTEXT, WEAK, VETO, SHARED = 0, 1, 2, 3, 4
TEXT_RULES = ("hashtag", "keyword", "guarded")
CACHE_SIZE = 50_000  # hashtags remembered per classifier (cleared when full)


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class TopicMatch:
    topic: str
    rule: str  # hashtag, keyword, guarded, source, voice, community, content_type
    matched: str
    weight: int


@dataclass(frozen=True, slots=True)
class Dropped:
    """A topic the post pointed at but did not get, and why (`rounds topics explain`)."""

    topic: str
    reason: str


# a phrase trie node: (the phrase's words so far, what the phrase matches if it ends here,
# the next tokens that continue a phrase)
_Node = tuple[str, tuple[tuple[str, int, TopicMatch], ...] | None, "dict[str, _Node] | None"]

_TagInfo = tuple[tuple[TopicMatch, ...], TopicMatch | None, tuple[str, ...]]


def topic_ids(matches: Iterable[TopicMatch]) -> list[str]:
    """Topic ids only (no community:/type: facets), in the classifier's order."""
    return [m.topic for m in matches if not m.topic.startswith(FACET_PREFIXES)]


def fold(text: str) -> str:
    """Lower-case, unify apostrophes, strip accents (only for non-ASCII text)."""
    if "’" in text or "‘" in text or "ʼ" in text:
        text = text.translate(_APOSTROPHES)
    text = text.lower()
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKD", text)
    if text.isascii():
        return text
    text = text.translate(_COMBINING_BMP)
    if text and max(text) > "\uffff":  # astral characters (emoji...): one by one
        text = "".join(c for c in text if not unicodedata.combining(c))
    return text


def split_camel(tag: str) -> str:
    """'PublicHealth' -> 'Public Health', 'Match2026' -> 'Match 2026'; acronym-heavy tags
    (more capitals than lower-case letters: 'HFpEF', 'COVID19') stay whole."""
    upper = sum(c.isupper() for c in tag)
    if upper > sum(c.islower() for c in tag):
        return tag
    return " ".join(p for p in _CAMEL.split(tag) if p)


def strip_noise(text: str) -> tuple[str, list[str]]:
    """The text without URLs, @mentions and #hashtags (each replaced by a separator), and
    the text's inline hashtags. When no URL or mention was removed first, one
    ``_HASHTAG.split`` gives both."""
    stripped = text
    if "://" in text or "www." in text.lower():  # what _URL needs, in any case
        stripped = _URL.sub(" \x00 ", stripped)
    if "@" in stripped:  # the patterns below cannot match without their sigil
        stripped = _MENTION.sub(" \x00 ", stripped)
    if "#" not in text and "＃" not in text:
        return stripped, []
    if stripped is text:  # re.sub returns its argument when nothing matched
        parts = _HASHTAG.split(text)  # [before, tag, between, tag, ..., after]
        return " \x00 ".join(parts[::2]), parts[1::2]
    # the removals can change what precedes a '#': match the tags on the original
    return _HASHTAG.sub(" \x00 ", stripped), _HASHTAG.findall(text)


def _phrase_key(phrase: str) -> str:
    return " ".join(_WORD.findall(fold(phrase)))


class Classifier:
    """Compiled once from a taxonomy; ``classify`` is a pure function of its arguments."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self._order = {t.id: i for i, t in enumerate(taxonomy.topics)}
        self._phrases: dict[str, list[tuple[str, int]]] = {}
        self._hashtags: dict[str, list[str]] = {}
        self._stems: dict[str, list[str]] = {}
        self._guarded: dict[str, list[str]] = {}
        self._exact: dict[str, list[str]] = {}
        self._exact_len: dict[str, int] = {}
        self._langs = {t.id: frozenset(t.languages) for t in taxonomy.topics}
        self._neighbours = {t.id: t.neighbours for t in taxonomy.topics if t.neighbours}
        self._supports: dict[str, list[str]] = {}  # topic -> topics whose co-term it is
        for t in taxonomy.topics:
            for friend in t.context_topics:
                self._supports.setdefault(friend, []).append(t.id)
        # hashtag -> (topics with the match, community facet or None, the folded tokens of
        # its CamelCase split after a separator, or none if it splits into nothing)
        self._tags: dict[str, _TagInfo] = {}
        for t in taxonomy.topics:
            weak = {_phrase_key(w) for w in t.weak}
            for kind, phrases in ((KEYWORD, t.keywords), (WEAK, t.weak), (VETO, t.veto),
                                  (SHARED, t.shared),
                                  (CONTEXT, [c for c in t.context if _phrase_key(c) not in weak])):
                for phrase in phrases:  # a weak word never supports itself as context
                    self._add_phrase(phrase, t.id, kind)
            for phrase in t.exact:
                key = " ".join(_WORD.findall(phrase.translate(_APOSTROPHES)))
                # "the ED" also at the start of a sentence: "The ED" (not eGFR -> EGFR)
                head = key.split(" ", 1)[0]
                forms = (key, key[:1].upper() + key[1:] if head.islower() and " " in key else key)
                for form in dict.fromkeys(forms):
                    if t.id not in self._exact.setdefault(form, []):
                        self._exact[form].append(t.id)
                    first, n = form.split(" ", 1)[0], form.count(" ") + 1
                    self._exact_len[first] = max(self._exact_len.get(first, 0), n)
            for tag in t.hashtags:
                self._hashtags.setdefault(tag, []).append(t.id)
            for stem in t.conferences:
                self._stems.setdefault(stem, []).append(t.id)
            for abbr in t.guarded:
                self._guarded.setdefault(abbr, []).append(t.id)
        self._communities: dict[str, str] = {}
        for c in taxonomy.communities:
            for tag in c.hashtags:
                self._communities.setdefault(tag, c.id)
        # phrase -> (topic, kind, the keyword match it makes), in _phrases' order
        self._compiled = {key: tuple((topic, kind, TopicMatch(topic, "keyword", key,
                                                              WEIGHTS["keyword"]))
                                     for topic, kind in entries)
                          for key, entries in self._phrases.items()}
        # the phrases as a token trie: token -> (phrase so far, its entries or None,
        # the tokens that continue it or None), so n-grams are walked without joining
        self._trie: dict[str, _Node] = {}
        for key, compiled in self._compiled.items():
            level, words = self._trie, key.split(" ")
            for depth, word in enumerate(words, 1):
                prefix = " ".join(words[:depth])
                node = level.get(word) or (prefix, None, None)
                if depth == len(words):
                    node = (prefix, compiled, node[2])
                elif node[2] is None:
                    node = (prefix, node[1], {})
                level[word] = node
                if node[2] is not None:
                    level = node[2]
        # tokens that start a guarded or exact match: the rest of a post is skipped
        self._guard_first = frozenset({*self._guarded, *self._exact_len})
        self._domains: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {}
        for ct in taxonomy.content_types:
            for entry in ct.domains:
                host, _, path = entry.partition("/")
                host = host.removeprefix("www.")
                self._domains.setdefault(host, []).append(("/" + path if path else "", ct.id,
                                                           ct.topics))

    def _add_phrase(self, phrase: str, topic: str, kind: int) -> None:
        key = _phrase_key(phrase)
        if not key:
            return
        # the plural / possessive forms are compiled in, so matching is one dict lookup
        last = key.rsplit(" ", 1)[-1]
        forms = [key, key + "'s"]
        if len(last) >= 3 and not last.endswith("s"):
            forms.append(key + "s")
        if len(last) >= 3 and last[-1] in "sxzh":
            forms.append(key + "es")
        for form in forms:
            entries = self._phrases.setdefault(form, [])
            if (topic, kind) not in entries:
                entries.append((topic, kind))

    # -- the rules ---------------------------------------------------------------------

    def classify(
        self, post: Post, default_topics: Sequence[str] = (), voice_topics: Sequence[str] = ()
    ) -> list[TopicMatch]:
        return self._classify(post, default_topics, voice_topics, None)

    def explain(
        self, post: Post, default_topics: Sequence[str] = (), voice_topics: Sequence[str] = ()
    ) -> tuple[list[TopicMatch], list[Dropped]]:
        """The matches, and the topics the post pointed at but did not get, with why."""
        trace: list[Dropped] = []
        matches = self._classify(post, default_topics, voice_topics, trace)
        from_text = {m.topic for m in matches if m.rule in TEXT_RULES}
        urls = [*_URL.findall(post.text), *post.links]
        if urls:  # what a link's address would have given
            in_links: dict[str, TopicMatch] = {}
            self._match_phrases(_SEP.join(urls), in_links, {}, {}, {}, {})
            for topic, m in in_links.items():
                if topic not in from_text and m.rule == "keyword":
                    trace.append(Dropped(topic, f"{m.matched!r} appears only inside a link"))
        dropped = [d for d in dict.fromkeys(trace) if d.topic not in from_text]
        return matches, dropped

    def _classify(self, post: Post, default_topics: Sequence[str],
                  voice_topics: Sequence[str], trace: list[Dropped] | None) -> list[TopicMatch]:
        best: dict[str, TopicMatch] = {}
        facets: dict[str, TopicMatch] = {}
        text, inline = strip_noise(post.text)
        # the phrases are read in the folded tokens of the text, spoiler, alt texts and
        # CamelCase hashtags, a separator between two (non-empty) segments. The text is
        # tokenized once: as written for the case-sensitive rules, folded for the phrases
        # (lower-casing ASCII tokens is folding them, and keeps them whole)
        if "’" in text or "‘" in text or "ʼ" in text:
            text = text.translate(_APOSTROPHES)
        written = _WORD_OR_SEP.findall(text)
        if not text:
            tokens = []
        elif text.isascii():
            tokens = " ".join(written).lower().split()
        else:
            tokens = _WORD_OR_SEP.findall(fold(text))
        if post.spoiler or post.media:
            more = [s for s in (post.spoiler, *(m.alt_text for m in post.media)) if s]
            if more:  # folding the joined segments folds each one
                tokens += (_SEP, *_WORD_OR_SEP.findall(fold(_SEP.join(more))))
        tags = post.hashtags
        if inline:
            tags = (*tags, *inline)
        for tag in dict.fromkeys(tags) if len(tags) > 1 else tags:
            info = self._tags.get(tag)
            if info is None:
                info = self._tag_info(tag)
            for match in info[0]:
                old = best.get(match.topic)
                if old is None or match.weight > old.weight:
                    best[match.topic] = match
            if info[1] is not None:
                facets.setdefault(info[1].topic, info[1])
            tokens += info[2]
        if not text and tokens:  # no separator before the first segment
            del tokens[0]
        support: dict[str, list[tuple[str, int, int]]] = {}  # topic -> co-terms seen
        weak: dict[str, tuple[str, int, int]] = {}
        vetoed: dict[str, str] = {}
        shared: dict[str, TopicMatch] = {}
        self._match_tokens(tokens, best, support, weak, vetoed, shared)
        priors = {*default_topics, *voice_topics}
        supports = self._supports  # a topic the text already matched is a co-term
        for topic in [t for t in best if t in supports and t not in vetoed]:
            priors.update(supports[topic])
        lang = (post.lang or "").split("-")[0].lower()
        if _SEP in text:  # the guarded rules read the text's words only
            written = [w for w in written if w != _SEP]
        self._match_guarded(written, lang, best, support, weak, priors, trace)
        for topic, phrase in vetoed.items():
            old = best.get(topic)
            if old is not None and old.rule in TEXT_RULES:
                del best[topic]
                if trace is not None:
                    trace.append(Dropped(topic, f"{old.rule} {old.matched!r} vetoed by "
                                                f"{phrase!r}"))
        if shared:
            self._match_shared(shared, best, vetoed, trace)
        # a feed entry *is* its link (a journal's article, an agency's notice)
        own = (post.url,) if post.network == "feed" and post.url else ()
        for link in (*own, *post.links):
            self._match_link(link, best, facets)
        for topic in default_topics:
            _offer(best, TopicMatch(topic, "source", "", WEIGHTS["source"]))
        for topic in voice_topics:
            _offer(best, TopicMatch(topic, "voice", "", WEIGHTS["voice"]))
        far = len(self._order)
        ordered = sorted(best.values(), key=lambda m: (-m.weight, self._order.get(m.topic, far)))
        return ordered + sorted(facets.values(), key=lambda m: m.topic)

    def _match_shared(self, shared: dict[str, TopicMatch], best: dict[str, TopicMatch],
                      vetoed: dict[str, str], trace: list[Dropped] | None) -> None:
        """A shared phrase counts unless a neighbouring topic is what the text is about."""
        text_topics = {t for t, m in best.items() if m.rule in TEXT_RULES}
        for topic, match in shared.items():
            if topic in best:
                continue
            if topic in vetoed:
                if trace is not None:
                    trace.append(Dropped(topic, f"keyword {match.matched!r} vetoed by "
                                                f"{vetoed[topic]!r}"))
                continue
            near = [n for n in self._neighbours.get(topic, ()) if n in text_topics]
            if not near:
                best[topic] = match
            elif trace is not None:
                trace.append(Dropped(topic, f"{match.matched!r} is shared with "
                                            f"{', '.join(near)}, which the post matched"))

    def _tag_info(self, tag: str) -> _TagInfo:
        """What one hashtag contributes (computed once per classifier and spelling)."""
        matches: tuple[TopicMatch, ...] = ()
        facet = None
        norm = normalize_hashtag(tag)
        if norm:
            shown = "#" + tag.lstrip("#＃")
            topics = self._hashtags.get(norm)
            if topics is None:
                m = _YEAR.match(norm)
                topics = self._stems.get(m.group(1)) if m else None
            matches = tuple(TopicMatch(topic, "hashtag", shown, WEIGHTS["hashtag"])
                            for topic in topics or ())
            community = self._communities.get(norm)
            if community:
                name = "community:" + community
                facet = TopicMatch(name, "community", shown, WEIGHTS["community"])
        camel = split_camel(tag)
        words = (_SEP, *_WORD_OR_SEP.findall(fold(camel))) if camel else ()
        info = (matches, facet, words)
        if len(self._tags) >= CACHE_SIZE:
            self._tags.clear()
        self._tags[tag] = info
        return info

    def _match_phrases(self, text: str, best: dict[str, TopicMatch],
                       support: dict[str, list[tuple[str, int, int]]],
                       weak: dict[str, tuple[str, int, int]], vetoed: dict[str, str],
                       shared: dict[str, TopicMatch]) -> None:
        self._match_tokens(_WORD_OR_SEP.findall(fold(text)), best, support, weak, vetoed,
                           shared)

    def _match_tokens(self, tokens: list[str], best: dict[str, TopicMatch],
                      support: dict[str, list[tuple[str, int, int]]],
                      weak: dict[str, tuple[str, int, int]], vetoed: dict[str, str],
                      shared: dict[str, TopicMatch]) -> None:
        """Every phrase in the folded tokens, from each start the longest last."""
        trie = self._trie
        count = len(tokens)
        for start in [i for i, tok in enumerate(tokens) if tok in trie]:
            key, entries, after = trie[tokens[start]]
            end = start + 1
            while True:
                if entries is not None:
                    for topic, kind, match in entries:
                        if kind == KEYWORD:
                            old = best.get(topic)
                            if old is None or match.weight > old.weight:
                                best[topic] = match
                        elif kind == CONTEXT:
                            support.setdefault(topic, []).append((key, start, end))
                        elif kind == WEAK:  # the first, longest: "case of the day"
                            if topic not in weak or weak[topic][1] == start:
                                weak[topic] = (key, start, end)
                        elif kind == SHARED:
                            shared.setdefault(topic, match)
                        else:
                            vetoed.setdefault(topic, key)
                if after is None or end == count:
                    break
                node = after.get(tokens[end])
                if node is None:  # no phrase goes on from here
                    break
                key, entries, after = node
                end += 1

    def _match_guarded(self, tokens: list[str], lang: str, best: dict[str, TopicMatch],
                       support: dict[str, list[tuple[str, int, int]]],
                       weak: dict[str, tuple[str, int, int]], priors: set[str],
                       trace: list[Dropped] | None) -> None:
        """The guarded and exact rules, over the text's words as written."""
        found: dict[str, list[str]] = {}
        guarded, exact, exact_len, first = (self._guarded, self._exact, self._exact_len,
                                            self._guard_first)
        for i in [i for i, tok in enumerate(tokens) if tok in first]:
            tok = tokens[i]
            topics = guarded.get(tok)
            if topics is not None:
                for topic in topics:
                    words = found.setdefault(topic, [])
                    if tok not in words:
                        words.append(tok)
            longest = exact_len.get(tok)
            if longest is None:
                continue
            for n in range(1, min(longest, len(tokens) - i) + 1):
                key = " ".join(tokens[i:i + n])
                for topic in exact.get(key, ()):
                    _offer(best, TopicMatch(topic, "keyword", key, WEIGHTS["keyword"]))
        for topic, words in found.items():  # abbreviations
            if topic in best or not self._in_language(topic, lang, words[0], trace):
                continue
            # a co-term: a source/voice prior, a second abbreviation, or a context phrase
            # that is not the abbreviation itself ("ct" does not support "CT")
            own = {w.lower() for w in words}
            if (topic in priors or len(words) > 1
                    or any(key not in own for key, _, _ in support.get(topic, ()))):
                _offer(best, TopicMatch(topic, "guarded", words[0], WEIGHTS["guarded"]))
            elif trace is not None:
                trace.append(Dropped(topic, f"{words[0]!r} needs a co-term of the topic "
                                            "(none in the post)"))
        for topic, (word, start, end) in weak.items():  # weak words
            if topic in best or not self._in_language(topic, lang, word, trace):
                continue
            # a context phrase outside the weak word ("hospitals" in "rural hospitals" is not)
            if topic in priors or any(s < start or e > end for _, s, e in support.get(topic, ())):
                _offer(best, TopicMatch(topic, "guarded", word, WEIGHTS["guarded"]))
            elif trace is not None:
                trace.append(Dropped(topic, f"{word!r} needs a co-term of the topic "
                                            "(none in the post)"))

    def _in_language(self, topic: str, lang: str, word: str,
                     trace: list[Dropped] | None) -> bool:
        langs = self._langs.get(topic)
        if not lang or not langs or lang in langs:
            return True
        if trace is not None:
            trace.append(Dropped(topic, f"{word!r} counts only in posts in "
                                        f"{', '.join(sorted(langs))} (this one is {lang})"))
        return False

    def _match_link(self, link: str, best: dict[str, TopicMatch],
                    facets: dict[str, TopicMatch]) -> None:
        try:
            parts = urlsplit(link)
            host = (parts.hostname or "").removeprefix("www.")
        except ValueError:
            return
        labels = host.split(".")
        for i in range(len(labels) - 1):
            for path, type_id, topics in self._domains.get(".".join(labels[i:]), ()):
                if path and not parts.path.lower().startswith(path):
                    continue
                name = "type:" + type_id
                facets.setdefault(name, TopicMatch(name, "content_type", host, 1))
                for topic in topics:
                    _offer(best, TopicMatch(topic, "content_type", host, 1))


def _offer(best: dict[str, TopicMatch], match: TopicMatch) -> None:
    old = best.get(match.topic)
    if old is None or match.weight > old.weight:
        best[match.topic] = match
