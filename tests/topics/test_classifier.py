"""The classifier's rules and the taxonomy file's merge and validation semantics."""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator.errors import ConfigError
from aggregator.models import Author, Media, Post
from aggregator.topics import (
    Classifier,
    TopicMatch,
    load_taxonomy,
    normalize_hashtag,
    parse_taxonomy,
    topic_ids,
)
from aggregator.topics.classifier import fold, split_camel

AUTHOR = Author("mastodon", "a@example.org", "a@example.org", "A")


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier(load_taxonomy())


def post(text: str = "", *, hashtags: tuple[str, ...] = (), links: tuple[str, ...] = (),
         lang: str | None = "en", spoiler: str = "", alt: str = "") -> Post:
    media = (Media("image", "https://files.example/1.png", alt),) if alt else ()
    return Post("mastodon", "k", "1", "", AUTHOR, datetime(2026, 1, 1, tzinfo=UTC), text, "{}",
                lang=lang, spoiler=spoiler, hashtags=hashtags, links=links, media=media)


def by_topic(matches: list[TopicMatch]) -> dict[str, TopicMatch]:
    return {m.topic: m for m in matches}


def test_default_taxonomy_has_the_documented_shape() -> None:
    tax = load_taxonomy()
    assert 25 <= len(tax.topics) <= 30
    assert {"cardiology", "oncology", "neurology", "digital_health_ai"} <= set(tax.ids)
    assert {c.id for c in tax.communities} >= {"medtwitter", "medmastodon", "hcsm", "foamed"}
    assert {c.id for c in tax.content_types} >= {"paper", "preprint", "trial", "regulatory",
                                                 "journal", "retraction"}


def test_hashtags_match_like_mastodon_normalizes_them(classifier: Classifier) -> None:
    assert normalize_hashtag("#Qualitätskatzen") == "qualitatskatzen"
    assert normalize_hashtag("ＣａｒｄｉｏＴｗｉｔｔｅｒ") == "cardiotwitter"
    m = by_topic(classifier.classify(post("Busy week", hashtags=("CARDIOLOGY",))))["cardiology"]
    assert (m.rule, m.matched, m.weight) == ("hashtag", "#CARDIOLOGY", 3)
    # inline hashtags in the text count even when the hashtag list is empty
    assert "oncology" in topic_ids(classifier.classify(post("Great session #ESMO25")))


def test_camel_case_hashtags_feed_keyword_matching(classifier: Classifier) -> None:
    assert split_camel("PublicHealth") == "Public Health"
    assert split_camel("HFpEF") == "HFpEF"
    m = by_topic(classifier.classify(post("Read this", hashtags=("AtrialFibrillation",))))
    assert (m["cardiology"].rule, m["cardiology"].matched) == ("keyword", "atrial fibrillation")


def test_keywords_are_whole_words_case_insensitive_with_plurals(
    classifier: Classifier,
) -> None:
    got = by_topic(classifier.classify(post("Why are STATINS still underused?")))
    assert (got["cardiology"].rule, got["cardiology"].weight) == ("keyword", 2)
    assert "cardiology" not in topic_ids(classifier.classify(post("metastatins are made up")))


def test_nothing_matches_inside_urls_or_mentions(classifier: Classifier) -> None:
    text = "look at https://example.com/cancer/stroke and ask @oncology@med.example"
    assert topic_ids(classifier.classify(post(text))) == []
    assert topic_ids(classifier.classify(post("@cardiology thanks!"))) == []


def test_spoiler_and_alt_text_are_read(classifier: Classifier) -> None:
    assert "oncology" in topic_ids(classifier.classify(post("thread", spoiler="cancer")))
    assert "diagnostics" in topic_ids(classifier.classify(post("quiz", alt="Chest radiograph")))


def test_guarded_abbreviations_need_case_and_a_co_term(classifier: Classifier) -> None:
    assert topic_ids(classifier.classify(post("MS Teams is down again"))) == []
    got = by_topic(classifier.classify(post("Relapse in MS after stopping the DMT")))
    assert (got["neurology"].rule, got["neurology"].matched) == ("guarded", "MS")
    assert topic_ids(classifier.classify(post("ms relapse after stopping the dmt"))) == []
    # a curated source topic counts as the co-term
    got = by_topic(classifier.classify(post("Long day with MS"), default_topics=["neurology"]))
    assert got["neurology"].rule == "guarded"


def test_guarded_rules_follow_the_post_language(classifier: Classifier) -> None:
    english = post("Busy ER shift, triage was chaos")
    assert "emergency_med" in topic_ids(classifier.classify(english))
    german = post("ER sagt, die Triage sei Chaos", lang="de")
    assert "emergency_med" not in topic_ids(classifier.classify(german))
    assert topic_ids(classifier.classify(post("Er sagt, er kommt morgen", lang="de"))) == []


def test_weak_words_need_a_co_term(classifier: Classifier) -> None:
    assert topic_ids(classifier.classify(post("I'm so burnt out from this game"))) == []
    got = topic_ids(classifier.classify(post("Half our nurses are burnt out after covid")))
    assert "workforce_wellbeing" in got


@pytest.mark.parametrize("text", [
    "What a stroke of luck", "It's cancer season, my zodiac says rest", "DM me about insulin",
    "I need to vent about my ICU shift", "Heat stroke warning for the marathon",
])
def test_vetoes_cancel_the_topic(classifier: Classifier, text: str) -> None:
    vetoed = {"What": "neurology", "It's": "oncology", "DM": "endocrine_diabetes",
              "I": "pulm_critcare", "Heat": "neurology"}[text.split()[0]]
    assert vetoed not in topic_ids(classifier.classify(post(text)))


def test_heat_stroke_vetoes_neurology_only(classifier: Classifier) -> None:
    got = topic_ids(classifier.classify(post("Heat stroke deaths rise in the heatwave")))
    assert "climate_health" in got and "neurology" not in got


def test_sources_voices_facets_and_order(classifier: Classifier) -> None:
    matches = classifier.classify(
        post("New preprint #FOAMed", links=("https://www.medrxiv.org/content/1",)),
        default_topics=["cardiology"], voice_topics=["nephro_uro"],
    )
    got = by_topic(matches)
    assert (got["cardiology"].rule, got["cardiology"].weight) == ("source", 1)
    assert (got["nephro_uro"].rule, got["nephro_uro"].weight) == ("voice", 1)
    assert got["type:preprint"] == TopicMatch("type:preprint", "content_type", "medrxiv.org", 1)
    assert got["community:foamed"].rule == "community"
    assert got["research_evidence"].rule == "keyword"  # "preprint" beats the link's weight 1
    assert [m.weight for m in matches[:3]] == sorted((m.weight for m in matches[:3]), reverse=True)
    assert not any(t.startswith(("type:", "community:")) for t in topic_ids(matches))


def test_content_type_from_path_prefixed_domains(classifier: Classifier) -> None:
    got = by_topic(classifier.classify(post("x", links=("https://pubmed.ncbi.nlm.nih.gov/1/",))))
    assert "type:paper" in got and got["research_evidence"].rule == "content_type"
    assert classifier.classify(post("x", links=("http://[broken",))) == []


def test_a_feed_entry_is_its_own_link(classifier: Classifier) -> None:
    """A journal's entry links to the article itself: that link says it is a paper. A
    post's own URL on the other networks is its status page, and says nothing."""
    article = "https://doi.org/10.5555/heart.2026.01"
    entry = replace(post("Online first: statins after 75"), network="feed", url=article)
    assert "type:paper" in by_topic(classifier.classify(entry))
    status = replace(post("Online first: statins after 75"), url=article)
    assert "type:paper" not in by_topic(classifier.classify(status))


# -- the user's file merged over the default ---------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "my-topics.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_user_file_replaces_extends_disables_and_adds(tmp_path: Path) -> None:
    tax = load_taxonomy(write(tmp_path, """
[[topics]]
id = "cardiology"
keywords = ["heart failure"]
extend_hashtags = ["#EchoFirst2", "MyCardioTag"]

[[topics]]
id = "dermatology"
disabled = true

[[topics]]
id = "geriatrics"
name = "Geriatrics"
keywords = ["delirium", "frailty"]

[communities]
medsky = []
geritwitter = ["GeriTwitter"]

[content_types.paper]
extend_domains = ["example-journal.org"]
"""))
    cardio = tax.get("cardiology")
    assert cardio is not None and cardio.keywords == ("heart failure",)
    assert "cardiotwitter" in cardio.hashtags and "mycardiotag" in cardio.hashtags
    assert tax.get("dermatology") is None and tax.ids[-1] == "geriatrics"
    assert "medsky" not in {c.id for c in tax.communities}
    c = Classifier(tax)
    assert topic_ids(c.classify(post("Delirium is not normal ageing"))) == ["geriatrics"]
    assert topic_ids(c.classify(post("statin time"))) == []  # keywords were replaced
    got = by_topic(c.classify(post("x #GeriTwitter", links=("https://example-journal.org/a",))))
    assert {"community:geritwitter", "type:paper"} <= set(got)


@pytest.mark.parametrize(("text", "needle"), [
    ("[[topics]]\nid = 'cardiology'\nkeywords = 'statin'\n", "topic 'cardiology': key 'keywords'"),
    ("[[topics]]\nid = 'Bad Id'\nname = 'x'\n", "key 'id'"),
    ("[[topics]]\nid = 'newtopic'\n", "topic 'newtopic': key 'name' is required"),
    ("[[topics]]\nid = 'cardiology'\nkeywordz = []\n", "unknown key 'keywordz'"),
    ("[[topics]]\nid = 'cardiology'\nhashtags = ['###']\n", "key 'hashtags'"),
    ("[content_types.paper]\ntopics = ['nope']\n", "content_types.paper: key 'topics'"),
    ("topics = [\n", "not valid TOML"),
    ("colour = 1\n", "unknown key 'colour'"),
    ("[[topics]]\nid = 'cardiology'\nneighbours = ['nope']\n", "key 'neighbours': 'nope'"),
    ("[[topics]]\nid = 'x'\nname = 'X'\nshared = ['y']\n", "key 'shared' needs 'neighbours'"),
    ("[[topics]]\nid = 'cardiology'\ncontext_topics = ['cardiology']\n", "'context_topics'"),
])
def test_bad_user_file_names_file_and_key(tmp_path: Path, text: str, needle: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_taxonomy(path)
    assert str(path) in str(info.value) and needle in str(info.value)


def test_missing_user_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_taxonomy(tmp_path / "absent.toml")


def test_duplicate_ids_in_one_file_are_rejected() -> None:
    text = "[[topics]]\nid='a'\nname='A'\n[[topics]]\nid='a'\nname='B'\n"
    with pytest.raises(ConfigError, match="duplicate id"):
        parse_taxonomy(text, "t.toml")


@given(st.text())
def test_fold_lowercases_unifies_apostrophes_and_strips_every_accent(text: str) -> None:
    lowered = text.translate(str.maketrans({"’": "'", "‘": "'", "ʼ": "'"})).lower()
    decomposed = unicodedata.normalize("NFKD", lowered)
    expected = "".join(c for c in decomposed if not unicodedata.combining(c))
    assert fold(text) == (lowered if lowered.isascii() else expected)
    assert fold("Café ﬁ\U0001f600 e\u0301\U0001d165’s") == "cafe fi\U0001f600 e's"


def test_shared_keywords_defer_to_a_neighbouring_topic(classifier: Classifier) -> None:
    # SGLT2 inhibitors in heart failure are cardiology; in diabetes care, endocrinology
    got, dropped = classifier.explain(post("SGLT2 inhibitors cut HF admissions in HFrEF"))
    assert topic_ids(got) == ["cardiology"]
    assert any(d.topic == "endocrine_diabetes" and "shared with cardiology" in d.reason
               for d in dropped)
    assert "endocrine_diabetes" in topic_ids(classifier.classify(post(
        "Started dapagliflozin today, her sugars have been all over the place")))
    # a vaccine-uptake post is vaccines, not infectious disease
    assert topic_ids(classifier.classify(post("COVID vaccine uptake is low this autumn"))) == [
        "vaccines"]


def test_a_word_is_not_its_own_co_term(classifier: Classifier) -> None:
    # "CT" (Connecticut) is not supported by the context word "ct"; a CT scan is imaging
    got, dropped = classifier.explain(post("Moving from CT to MA next month"))
    assert topic_ids(got) == []
    assert any(d.topic == "diagnostics" and "needs a co-term" in d.reason for d in dropped)
    assert "diagnostics" in topic_ids(classifier.classify(post("CT showed a 2 cm nodule")))
    # "biologics" (weak) is not supported by the context word "biologic" it contains
    assert "rheum_allergy" not in topic_ids(classifier.classify(post(
        "Asthma biologics have transformed severe asthma care")))


def test_another_topic_can_be_the_co_term(classifier: Classifier) -> None:
    # "children" is a weak pediatrics word; a measles post makes them patients
    assert "pediatrics" in topic_ids(classifier.classify(post(
        "Measles cases are rising among unvaccinated children")))
    assert topic_ids(classifier.classify(post("My children love the park"))) == []


def test_exact_phrases_match_at_the_start_of_a_sentence(classifier: Classifier) -> None:
    assert "emergency_med" in topic_ids(classifier.classify(post("Our ED was full again")))
    assert "nephro_uro" not in topic_ids(classifier.classify(post("EGFR-mutant NSCLC")))


def test_explain_names_language_and_link_only_reasons(classifier: Classifier) -> None:
    _, dropped = classifier.explain(post("ER sagt, die Triage sei Chaos", lang="de"))
    assert any(d.topic == "emergency_med" and "(this one is de)" in d.reason for d in dropped)
    got, dropped = classifier.explain(post("read this https://example.com/melanoma-guide"))
    assert topic_ids(got) == []
    assert any(d.topic == "dermatology" and "only inside a link" in d.reason for d in dropped)
