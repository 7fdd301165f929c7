"""The scholarly works a post shares, found in its links and its text, normalized.

Pure: a function of a post's links, text and raw JSON (no database, no network), so it runs
on ingest, in the backfill and in tests alike.

What counts as a work, and its identity (`WorkRef.scheme`, `WorkRef.ident`):

* ``doi``: a DOI, lower-cased (DOIs are case-insensitive), from doi.org / dx.doi.org links,
  from publisher URLs that carry one (``nejm.org/doi/full/10.1056/…``,
  ``medrxiv.org/content/10.1101/…v1``: the version and ``.full``/``/abstract`` suffixes are
  the page, not the work), and from text (``doi:10.…`` or a bare ``10.NNNN/…``);
* ``pmid``, ``pmcid``: PubMed and PubMed Central ids, from their pages (old and new hosts,
  Europe PMC) and from text (``PMID: 123``, ``PMC123``);
* ``arxiv``: arXiv ids without their version (``2301.01234``), from abs/pdf pages and text;
* ``nct``: ClinicalTrials.gov NCT numbers, upper-cased, from its pages and from text;
* ``url``: a page of a known scholarly host (the default taxonomy's paper, preprint,
  journal and trial content types) that carries no identifier: host without ``www.``,
  path without a trailing slash, no query or fragment (tracking), so the shares of one
  page group together. Every other link is not a paper.

Validation and normalization of DOIs, PMIDs, PMCIDs and arXiv ids go through `idutils`
(CERN's, maintained for Invenio/Zenodo); it has no finder for identifiers inside running
text or URLs, nor NCT numbers, so finding candidates is ours: small patterns whose matches
idutils then checks. Its import compiles RFC 3987 patterns (≈ 0.3 s), so it is imported
on the first candidate, never by a command that finds none.

Text is scanned for identifiers written out, not inside links: a DOI that follows ``/``
is part of a URL (the link list holds the whole of it; the text may show it shortened,
``doi.org/10.1056/NEJMo…``), and a candidate cut by an ellipsis is dropped. Trailing
punctuation is the sentence's (``… see 10.1000/xyz.``), except a closing parenthesis that
closes one opened inside the DOI (``10.1016/S0140-6736(24)00001-1``).

Titles come from what the post carries: a Mastodon link card (``card.title``), an X URL
entity (``entities.urls[].title``), a Bluesky external embed (``embed.external.title``),
a feed entry's own title when its link is the work: any object in the raw JSON with a
``title`` next to a ``url``/``expanded_url``/``unwound_url``/``uri``/``link`` that leads
to the same work.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson

from aggregator.models import Post, pickled_by_fields

SCHEMES = ("doi", "pmid", "pmcid", "arxiv", "nct", "url")
TITLE_CHARS = 500
IDENT_CHARS = 512
# content types of the taxonomy whose hosts publish papers, preprints and trial records
SCHOLARLY_TYPES = ("paper", "preprint", "journal", "trial")

_DOI_IN_URL = re.compile(r"10\.\d{4,9}/[^\s?#&]+")
_DOI_IN_TEXT = re.compile(r"(?<![\w/.%-])(?:doi:\s*)?(10\.\d{4,9}/[^\s\"<>]+)", re.I)
_PMID_IN_TEXT = re.compile(r"\bPMID:?\s*(\d{1,9})\b", re.I)
_PMCID = re.compile(r"\b(PMC\d{3,9})\b", re.I)
_ARXIV_IN_TEXT = re.compile(r"\barXiv:\s*(\d{4}\.\d{4,5})(?:v\d+)?\b", re.I)
_ARXIV_PATH = re.compile(r"/(?:abs|pdf|html)/(\d{4}\.\d{4,5})(?:v\d+)?(?:\.pdf)?/?$", re.I)
_NCT = re.compile(r"\b(NCT\d{8})\b", re.I)
_MARKERS = re.compile(r"10\.\d|pmid|pmc\d|arxiv|nct\d", re.I)
_DIGITS_PATH = re.compile(r"/(?:pubmed/)?(\d{1,9})/?$")
# a publisher page's suffixes after the DOI (the page, not the work)
_PAGE_SUFFIX = re.compile(
    r"(?:[./](?:full|abstract|pdf|epdf|fulltext|full-text|summary|meta|supplementary|"
    r"references|figures|info|article-info|article-metrics|tab-figures-data)(?:\.pdf)?)+/?$",
    re.I)
_PREPRINT_VERSION = re.compile(r"(10\.1101/[\d.]+)v\d+$", re.I)
_TRAILING = ".,;:!?'\"*_"
_CLOSERS = {")": "(", "]": "[", "}": "{", ">": "<"}
_ELLIPSES = ("…", "...")
_URL_KEYS = ("url", "expanded_url", "unwound_url", "uri", "link")


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class WorkRef:
    """One work a post shares: its identity and, when the post carries one, its title."""

    scheme: str
    ident: str
    title: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.scheme, self.ident)

    @property
    def link(self) -> str:
        return work_link(self.scheme, self.ident)


def work_link(scheme: str, ident: str) -> str:
    """Where a work is read: its resolver or registry page (a `url` work is its page)."""
    if scheme == "doi":
        return f"https://doi.org/{ident}"
    if scheme == "pmid":
        return f"https://pubmed.ncbi.nlm.nih.gov/{ident}/"
    if scheme == "pmcid":
        return f"https://pmc.ncbi.nlm.nih.gov/articles/{ident}/"
    if scheme == "arxiv":
        return f"https://arxiv.org/abs/{ident}"
    if scheme == "nct":
        return f"https://clinicaltrials.gov/study/{ident}"
    return f"https://{ident}"


def identifier_text(scheme: str, ident: str) -> str:
    """How people write it: ``doi:10.1056/…``, ``PMID 123``, ``NCT…``, the page."""
    return {"doi": f"doi:{ident}", "pmid": f"PMID {ident}", "pmcid": ident,
            "arxiv": f"arXiv:{ident}", "nct": ident}.get(scheme, ident)


@lru_cache(maxsize=1)
def _idutils() -> ModuleType:
    import idutils  # see the module doc: imported on the first candidate

    module: ModuleType = idutils
    return module


@lru_cache(maxsize=1)
def scholarly_hosts() -> dict[str, tuple[str, ...]]:
    """Host -> path prefixes ("" for any) of the default taxonomy's scholarly content
    types: one dict lookup per label suffix of a link's host."""
    from aggregator.topics.taxonomy import load_taxonomy

    hosts: dict[str, tuple[str, ...]] = {}
    for ct in load_taxonomy().content_types:
        if ct.id in SCHOLARLY_TYPES:
            for entry in ct.domains:
                host, _, path = entry.partition("/")
                host = host.removeprefix("www.").lower()
                hosts[host] = (*hosts.get(host, ()), "/" + path if path else "")
    return hosts


def _is_scholarly(host: str, path: str) -> bool:
    hosts = scholarly_hosts()
    labels = host.split(".")
    for i in range(len(labels) - 1):
        prefixes = hosts.get(".".join(labels[i:]))
        if prefixes is not None and path.lower().startswith(prefixes):
            return True
    return False


def _trim(candidate: str) -> str:
    """Sentence punctuation off the end; a closing bracket only if unbalanced inside."""
    while candidate:
        last = candidate[-1]
        unbalanced = last in _CLOSERS and candidate.count(_CLOSERS[last]) < candidate.count(last)
        if last not in _TRAILING and not unbalanced:
            break
        candidate = candidate[:-1]
    return candidate


def _doi(candidate: str, *, from_page: bool = False) -> WorkRef | None:
    candidate = _trim(candidate.strip())
    if from_page:
        candidate = _PAGE_SUFFIX.sub("", candidate)
        candidate = _PREPRINT_VERSION.sub(r"\1", candidate)
        candidate = candidate.rstrip("/")
    if not candidate or len(candidate) > IDENT_CHARS:
        return None
    idutils = _idutils()
    if not idutils.is_doi(candidate):
        return None
    return WorkRef("doi", idutils.normalize_doi(candidate).lower())


def _pmid(candidate: str) -> WorkRef | None:
    idutils = _idutils()
    if not idutils.is_pmid(candidate):
        return None
    value = str(idutils.normalize_pmid(candidate)).lstrip("0")
    return WorkRef("pmid", value) if value else None


def _pmcid(candidate: str) -> WorkRef | None:
    value = candidate.upper()
    return WorkRef("pmcid", value) if _idutils().is_pmcid(value) else None


def _arxiv(candidate: str) -> WorkRef | None:
    idutils = _idutils()
    if not idutils.is_arxiv(candidate):
        return None
    return WorkRef("arxiv", str(idutils.normalize_arxiv(candidate)).removeprefix("arXiv:"))


def _page(host: str, path: str) -> str:
    return (host + path).rstrip("/")[:IDENT_CHARS]


def work_of_link(link: str) -> WorkRef | None:
    """The work a link leads to, or None (not a scholarly page)."""
    try:
        parts = urlsplit(link.strip())
        host = (parts.hostname or "").lower().removeprefix("www.")
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    path = unquote(parts.path)  # a DOI may arrive URL-encoded (10.1056%2FNEJM…)
    if host in ("doi.org", "dx.doi.org"):
        return _doi(path.lstrip("/"), from_page=True)
    if host == "pubmed.ncbi.nlm.nih.gov" or (host == "ncbi.nlm.nih.gov"
                                             and path.startswith("/pubmed/")):
        m = _DIGITS_PATH.search(path)
        return _pmid(m.group(1)) if m else None
    if host in ("pmc.ncbi.nlm.nih.gov", "ncbi.nlm.nih.gov", "europepmc.org"):
        m = _PMCID.search(path)
        if m:
            return _pmcid(m.group(1))
    if host == "arxiv.org" or host.endswith(".arxiv.org"):
        m = _ARXIV_PATH.search(path)
        if m:
            return _arxiv(m.group(1))
    if host == "clinicaltrials.gov" or host.endswith(".clinicaltrials.gov"):
        m = _NCT.search(path) or _NCT.search(unquote(parts.query))
        if m:
            return WorkRef("nct", m.group(1).upper())
    m = _DOI_IN_URL.search(path) or _DOI_IN_URL.search(unquote(parts.query))
    if m:
        found = _doi(m.group(0), from_page=True)
        if found is not None:
            return found
    if _is_scholarly(host, path) and path.strip("/"):
        return WorkRef("url", _page(host, path))
    return None


def _cut_short(text: str, end: int) -> bool:
    return text.startswith(_ELLIPSES, end)


def works_in_text(text: str) -> Iterator[WorkRef]:
    """Identifiers written out in running text (not inside links, see the module doc)."""
    if not _MARKERS.search(text):  # most posts name no identifier: one scan in C
        return
    for m in _DOI_IN_TEXT.finditer(text):
        raw = m.group(1)
        if raw.endswith(_ELLIPSES) or _cut_short(text, m.end(1)):
            continue
        found = _doi(raw)
        if found is not None:
            yield found
    for pattern, make in ((_PMID_IN_TEXT, _pmid), (_PMCID, _pmcid), (_ARXIV_IN_TEXT, _arxiv)):
        for m in pattern.finditer(text):
            if not _cut_short(text, m.end()):
                found = make(m.group(1))
                if found is not None:
                    yield found
    for m in _NCT.finditer(text):
        if not _cut_short(text, m.end()):
            yield WorkRef("nct", m.group(1).upper())


def _titled(value: Any, depth: int = 0) -> Iterator[tuple[str, str]]:
    """(url, title) of every object in raw JSON with a title next to a link."""
    if depth > 8:
        return
    if isinstance(value, Mapping):
        title = value.get("title")
        if isinstance(title, str) and title.strip():
            for key in _URL_KEYS:
                url = value.get(key)
                if isinstance(url, str) and url:
                    yield url, title
        for item in value.values():
            if isinstance(item, (Mapping, list)):
                yield from _titled(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (Mapping, list)):
                yield from _titled(item, depth + 1)


def _clean_title(title: str, url: str) -> str:
    title = " ".join(title.split())[:TITLE_CHARS]
    return "" if title == url or title.startswith(("http://", "https://")) else title


def titles_in_raw(raw: str) -> dict[tuple[str, str], str]:
    """Work key -> title from the raw JSON a post arrived as (the first title wins)."""
    if '"title"' not in raw:  # most posts carry no card: no parse, no walk
        return {}
    try:
        data = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        return {}
    titles: dict[tuple[str, str], str] = {}
    for url, title in _titled(data):
        work = work_of_link(url)
        clean = _clean_title(title, url) if work is not None else ""
        if work is not None and clean:
            titles.setdefault(work.key, clean)
    return titles


def detect_works(links: Iterable[str], text: str, *, raw: str = "") -> tuple[WorkRef, ...]:
    """Every work of a post, once each, links first; titled from `raw` where it says."""
    found: dict[tuple[str, str], WorkRef] = {}
    for link in links:
        work = work_of_link(link)
        if work is not None:
            found.setdefault(work.key, work)
    for work in works_in_text(text):
        found.setdefault(work.key, work)
    if not found or not raw:
        return tuple(found.values())
    titles = titles_in_raw(raw)
    return tuple(WorkRef(w.scheme, w.ident, titles.get(w.key, "")) for w in found.values())


def post_links(network: str, url: str, links: Sequence[str]) -> list[str]:
    """The links to look at: a feed entry's own link is its article (a journal's table of
    contents), elsewhere the post's URL is the post itself."""
    return [url, *links] if network == "feed" and url else list(links)


def detect_post(post: Post) -> tuple[WorkRef, ...]:
    return detect_works(post_links(post.network, post.url, post.links),
                        post.spoiler + "\n" + post.text, raw=post.raw)
