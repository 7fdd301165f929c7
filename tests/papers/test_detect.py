"""Finding the works a post shares, from text and links shaped like real posts: trailing
punctuation, DOIs in parentheses and with parentheses, upper case, URL-encoded DOIs,
publisher pages, preprint versions, shortened link text, and titles from link cards."""

from __future__ import annotations

import json

import pytest

from aggregator.papers.detect import (
    WorkRef,
    detect_works,
    identifier_text,
    work_link,
    work_of_link,
    works_in_text,
)
from tests.conftest import DATA


def keys(works: tuple[WorkRef, ...] | list[WorkRef]) -> list[tuple[str, str]]:
    return [w.key for w in works]


@pytest.mark.parametrize(("link", "expected"), [
    ("https://doi.org/10.1056/NEJMoa2034577", ("doi", "10.1056/nejmoa2034577")),
    ("http://dx.doi.org/10.1056/NEJMoa2034577", ("doi", "10.1056/nejmoa2034577")),
    ("https://doi.org/10.1056%2FNEJMoa2034577", ("doi", "10.1056/nejmoa2034577")),
    ("https://doi.org/10.1016/S0140-6736%2824%2900001-1",
     ("doi", "10.1016/s0140-6736(24)00001-1")),
    ("https://www.nejm.org/doi/full/10.1056/NEJMoa2034577?utm_source=twitter&utm_medium=social",
     ("doi", "10.1056/nejmoa2034577")),
    ("https://onlinelibrary.wiley.com/doi/10.1002/ejhf.3123/full", ("doi", "10.1002/ejhf.3123")),
    ("https://www.ahajournals.org/doi/10.1161/CIRCULATIONAHA.123.065432",
     ("doi", "10.1161/circulationaha.123.065432")),
    ("https://link.springer.com/article/10.1007/s00125-023-05912-3",
     ("doi", "10.1007/s00125-023-05912-3")),
    ("https://www.medrxiv.org/content/10.1101/2024.01.02.24300712v1",
     ("doi", "10.1101/2024.01.02.24300712")),
    ("https://www.biorxiv.org/content/10.1101/2024.01.02.575000v3.full.pdf",
     ("doi", "10.1101/2024.01.02.575000")),
    ("https://pubmed.ncbi.nlm.nih.gov/38012345/", ("pmid", "38012345")),
    ("https://www.ncbi.nlm.nih.gov/pubmed/38012345", ("pmid", "38012345")),
    ("https://www.ncbi.nlm.nih.gov/pmc/articles/PMC10712345/", ("pmcid", "PMC10712345")),
    ("https://pmc.ncbi.nlm.nih.gov/articles/pmc10712345/", ("pmcid", "PMC10712345")),
    ("https://arxiv.org/abs/2401.01234v2", ("arxiv", "2401.01234")),
    ("https://arxiv.org/pdf/2401.01234v2.pdf", ("arxiv", "2401.01234")),
    ("https://clinicaltrials.gov/study/NCT05123456?tab=results", ("nct", "NCT05123456")),
    ("https://classic.clinicaltrials.gov/ct2/show/nct05123456", ("nct", "NCT05123456")),
    # a journal page without an identifier: grouped by its canonical URL
    ("https://www.thelancet.com/journals/lancet/article/PIIS0140-6736(24)00001-1/fulltext"
     "?dgcid=twitter#sec1",
     ("url", "thelancet.com/journals/lancet/article/PIIS0140-6736(24)00001-1/fulltext")),
    ("https://jamanetwork.com/journals/jama/fullarticle/2812345/",
     ("url", "jamanetwork.com/journals/jama/fullarticle/2812345")),
])
def test_links_that_are_works(link: str, expected: tuple[str, str]) -> None:
    work = work_of_link(link)
    assert work is not None and work.key == expected


@pytest.mark.parametrize("link", [
    "https://www.statnews.com/2026/03/01/health-news/",  # news, not a paper
    "https://www.fda.gov/news-events/press-announcements/fda-approves",  # regulatory
    "https://example.org/release/10.2/notes",  # a version number, not a DOI
    "https://www.nejm.org/",  # a journal's home page is no work
    "https://doi.org/",  # no DOI
    "mailto:editor@nejm.org",
    "javascript:alert(1)",
    "https://[broken",
])
def test_links_that_are_not_works(link: str) -> None:
    assert work_of_link(link) is None


def test_identifiers_written_in_text_lose_sentence_punctuation() -> None:
    text = ("Must read (doi:10.1016/S0140-6736(24)00001-1). Also 10.1056/NEJMoa2034577, and "
            "PMID: 38012345; full text PMC10712345. Preprint arXiv:2401.01234v3! "
            "Registered as NCT05123456.")
    assert keys(list(works_in_text(text))) == [
        ("doi", "10.1016/s0140-6736(24)00001-1"), ("doi", "10.1056/nejmoa2034577"),
        ("pmid", "38012345"), ("pmcid", "PMC10712345"), ("arxiv", "2401.01234"),
        ("nct", "NCT05123456")]


def test_text_in_brackets_quotes_and_upper_case() -> None:
    text = ('Trial ["10.1056/NEJMOA2034577"] and <10.1001/JAMA.2024.1234> and '
            "(see nct05123456).")
    assert keys(list(works_in_text(text))) == [
        ("doi", "10.1056/nejmoa2034577"), ("doi", "10.1001/jama.2024.1234"),
        ("nct", "NCT05123456")]


def test_shortened_link_text_and_dois_inside_urls_are_left_to_the_links() -> None:
    # what Mastodon and Bluesky show: the link's start and an ellipsis; the full URL is in
    # the post's links, so the text's cut copy must not become a second, wrong work
    text = ("Big trial: doi.org/10.1056/NEJMo… and https://doi.org/10.1056/NEJMoa2034577 "
            "and 10.1234/abc…")
    assert list(works_in_text(text)) == []
    found = detect_works(["https://doi.org/10.1056/NEJMoa2034577"], text)
    assert keys(found) == [("doi", "10.1056/nejmoa2034577")]


def test_numbers_that_look_alike_are_not_works() -> None:
    text = ("Dose 10.5/day, version 10.1/2 of the app, PMID pending, PMC review, "
            "NCT0512 (too short), arXiv:abc.")
    assert list(works_in_text(text)) == []


def test_one_work_once_however_it_is_written() -> None:
    links = ["https://doi.org/10.1056/NEJMoa2034577",
             "https://www.nejm.org/doi/full/10.1056/nejmoa2034577"]
    found = detect_works(links, "Read it: doi:10.1056/NEJMOA2034577.")
    assert keys(found) == [("doi", "10.1056/nejmoa2034577")]


def test_titles_from_a_mastodon_card_an_x_url_entity_and_a_bluesky_embed() -> None:
    doi = "https://doi.org/10.1056/NEJMoa2034577"
    mastodon = {"id": "1", "card": {"url": "https://www.nejm.org/doi/full/10.1056/NEJMoa2034577",
                                    "title": "  Semaglutide and\nCardiovascular Outcomes  ",
                                    "type": "link"}}
    x = {"data": {"id": "2", "entities": {"urls": [
        {"url": "https://t.co/x", "expanded_url": "https://pubmed.ncbi.nlm.nih.gov/38012345/",
         "unwound_url": "https://pubmed.ncbi.nlm.nih.gov/38012345/",
         "title": "Five days of antibiotics - PubMed"}]}}}
    sky = {"post": {"embed": {"$type": "app.bsky.embed.external#view", "external": {
        "uri": "https://arxiv.org/abs/2401.01234v1", "title": "A preprint", "description": ""}}}}
    assert detect_works([doi], "", raw=json.dumps(mastodon))[0].title == \
        "Semaglutide and Cardiovascular Outcomes"
    assert detect_works(["https://pubmed.ncbi.nlm.nih.gov/38012345/"], "",
                        raw=json.dumps(x))[0].title == "Five days of antibiotics - PubMed"
    assert detect_works(["https://arxiv.org/abs/2401.01234v1"], "",
                        raw=json.dumps(sky))[0].title == "A preprint"
    # a card about another link does not title this work; a title that is a URL is none
    other = {"card": {"url": "https://www.statnews.com/x", "title": "News"}}
    assert detect_works([doi], "", raw=json.dumps(other))[0].title == ""
    bare = {"card": {"url": doi, "title": doi}}
    assert detect_works([doi], "", raw=json.dumps(bare))[0].title == ""
    assert detect_works([doi], "", raw="not json")[0].title == ""


def test_a_recorded_mastodon_status_card_titles_the_work_it_links() -> None:
    # the real shape (tests/data/mastodon, recorded from a Mastodon server): a card with
    # its provider, html, image and nested fields; only its link is made a DOI's here
    status = json.loads((DATA / "mastodon" / "statuses_get_card.json").read_text("utf-8"))
    body = status["body"]
    title = body["card"]["title"]
    body["card"]["url"] = "https://doi.org/10.1000/recorded.card"
    found = detect_works(["https://doi.org/10.1000/RECORDED.CARD"], "", raw=json.dumps(body))
    assert [(w.key, w.title) for w in found] == [(("doi", "10.1000/recorded.card"), title)]


def test_links_and_names_people_read() -> None:
    assert work_link("doi", "10.1056/nejmoa2034577") == "https://doi.org/10.1056/nejmoa2034577"
    assert work_link("pmid", "38012345") == "https://pubmed.ncbi.nlm.nih.gov/38012345/"
    assert work_link("nct", "NCT05123456") == "https://clinicaltrials.gov/study/NCT05123456"
    assert work_link("url", "jamanetwork.com/x") == "https://jamanetwork.com/x"
    assert identifier_text("pmid", "38012345") == "PMID 38012345"
    assert identifier_text("arxiv", "2401.01234") == "arXiv:2401.01234"
