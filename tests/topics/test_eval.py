"""Classifier quality on a hand-labelled evaluation set (tests/data/topics_eval.jsonl).

Precision and recall are micro-averaged over (post, topic) pairs; the per-topic table is
printed (run `pytest -s tests/topics/test_eval.py` to see it). Thresholds: overall
precision >= 0.94 and recall >= 0.85, and precision >= 0.85 for every topic with at least
10 labelled posts. Facets (community:, type:) are not scored.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.models import Author, Post
from aggregator.topics import Classifier, load_taxonomy, topic_ids

EVAL = Path(__file__).resolve().parents[1] / "data" / "topics_eval.jsonl"
MIN_PRECISION = 0.94
MIN_RECALL = 0.85
MIN_TOPIC_PRECISION = 0.85  # for topics with at least TOPIC_SUPPORT labelled posts
TOPIC_SUPPORT = 10


def _load() -> list[dict[str, object]]:
    with EVAL.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _post(row: dict[str, object]) -> Post:
    author = Author("mastodon", "eval@example.org", "eval@example.org", "Eval")
    return Post(
        network="mastodon", key=f"eval-{row['id']}", remote_id=str(row["id"]), url="",
        author=author, created_at=datetime(2026, 1, 1, tzinfo=UTC), text=str(row["text"]),
        raw="{}", lang=row.get("lang") or None,  # type: ignore[arg-type]
        hashtags=tuple(row.get("hashtags") or ()),  # type: ignore[arg-type]
        links=tuple(row.get("links") or ()),  # type: ignore[arg-type]
    )


def evaluate() -> tuple[Counter[str], Counter[str], Counter[str], list[str]]:
    classifier = Classifier(load_taxonomy())
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    misses: list[str] = []
    for row in _load():
        expected = set(row["topics"])  # type: ignore[arg-type]
        got = set(topic_ids(classifier.classify(_post(row))))
        for t in got & expected:
            tp[t] += 1
        for t in got - expected:
            fp[t] += 1
        for t in expected - got:
            fn[t] += 1
        if got != expected:
            misses.append(f"#{row['id']}: +{sorted(got - expected)} -{sorted(expected - got)}"
                          f"  {str(row['text'])[:70]}")
    return tp, fp, fn, misses


def _ratio(a: int, b: int) -> float:
    return a / b if b else 1.0


def test_eval_set_is_big_enough_and_well_formed() -> None:
    rows = _load()
    ids = set(load_taxonomy().ids)
    assert len(rows) >= 300
    assert sum(1 for r in rows if not r["topics"]) >= 40  # hard negatives and non-health
    for row in rows:
        assert set(row["topics"]) <= ids, row  # type: ignore[arg-type]


def test_precision_and_recall(capsys: pytest.CaptureFixture[str]) -> None:
    tp, fp, fn, misses = evaluate()
    lines = [f"{'topic':<22} {'prec':>6} {'recall':>6} {'tp':>4} {'fp':>4} {'fn':>4}"]
    for topic in sorted(set(tp) | set(fp) | set(fn)):
        p = _ratio(tp[topic], tp[topic] + fp[topic])
        r = _ratio(tp[topic], tp[topic] + fn[topic])
        lines.append(f"{topic:<22} {p:6.2f} {r:6.2f} {tp[topic]:4} {fp[topic]:4} {fn[topic]:4}")
    total_tp, total_fp, total_fn = sum(tp.values()), sum(fp.values()), sum(fn.values())
    precision = _ratio(total_tp, total_tp + total_fp)
    recall = _ratio(total_tp, total_tp + total_fn)
    lines.append(f"{'OVERALL':<22} {precision:6.2f} {recall:6.2f} {total_tp:4} {total_fp:4} "
                 f"{total_fn:4}")
    with capsys.disabled():
        print("\n" + "\n".join(lines))
        print(f"{len(misses)} posts not classified exactly as labelled")
    assert precision >= MIN_PRECISION, "\n".join(misses)
    assert recall >= MIN_RECALL, "\n".join(misses)
    labelled = Counter(t for row in _load() for t in row["topics"])  # type: ignore[attr-defined]
    weak = {t: round(_ratio(tp[t], tp[t] + fp[t]), 3) for t in labelled
            if labelled[t] >= TOPIC_SUPPORT and _ratio(tp[t], tp[t] + fp[t]) < MIN_TOPIC_PRECISION}
    assert not weak, f"topics below {MIN_TOPIC_PRECISION} precision: {weak}"
