"""Health topics: the taxonomy (TOML) and the pure classifier."""

from __future__ import annotations

from aggregator.topics.classifier import Classifier, TopicMatch, topic_ids
from aggregator.topics.taxonomy import (
    Community,
    ContentType,
    Taxonomy,
    Topic,
    load_taxonomy,
    normalize_hashtag,
    parse_taxonomy,
)

__all__ = [
    "Classifier",
    "Community",
    "ContentType",
    "Taxonomy",
    "Topic",
    "TopicMatch",
    "load_taxonomy",
    "normalize_hashtag",
    "parse_taxonomy",
    "topic_ids",
]
