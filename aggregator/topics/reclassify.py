"""Re-apply the taxonomy to stored posts after it changed.

Batched by post id; each batch replaces its posts' topic rows and advances a mark in one
transaction (`storage.retopic`), so an interrupted run resumes where it stopped, and a
finished run under an unchanged taxonomy has nothing left to do. Starting over happens by
itself when the taxonomy (or a source's default topics) changed since the mark was written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from aggregator.models import Post, TopicLike
from aggregator.storage.repository import Repository
from aggregator.storage.retopic import count_posts_after, retopic_batch

MARK = "topics.reclassify"
Classify = Callable[[Post, Sequence[str]], Sequence[TopicLike]]  # post, default topics


@dataclass(frozen=True, slots=True)
class ReclassifyResult:
    done: int
    total: int
    resumed_from: int


def fingerprint(taxonomy_text: str, source_topics: Mapping[str, Sequence[str]]) -> str:
    blob = json.dumps([taxonomy_text, sorted((k, list(v)) for k, v in source_topics.items())])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def reclassify(repo: Repository, classify: Classify,
               source_topics: Mapping[str, Sequence[str]], taxonomy_text: str, *,
               batch: int = 2000, restart: bool = False,
               progress: Callable[[int, int], None] | None = None) -> ReclassifyResult:
    """Reclassify every stored post; returns how many were done this run."""
    mark = fingerprint(taxonomy_text, source_topics)
    saved = None if restart else repo.get_app_state(MARK)
    last_id = 0
    if saved and saved.split(":")[0] == mark:
        last_id = int(saved.split(":")[1])
    resumed_from = last_id
    total = count_posts_after(repo, last_id)

    def topics_of(post: Post, source_names: Sequence[str]) -> Sequence[TopicLike]:
        defaults = list(dict.fromkeys(t for n in source_names for t in source_topics.get(n, ())))
        return classify(post, defaults)

    done = 0
    while ids := retopic_batch(repo, last_id, batch, topics_of, MARK, lambda i: f"{mark}:{i}"):
        last_id = ids[-1]
        done += len(ids)
        if progress:
            progress(done, total)
    return ReclassifyResult(done, total, resumed_from)
