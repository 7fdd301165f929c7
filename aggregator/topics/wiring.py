"""Build the ingest-time classify function from settings (taxonomy + user file)."""

from __future__ import annotations

from collections.abc import Sequence

from aggregator.models import Post
from aggregator.settings import Settings
from aggregator.storage.repository import TopicLike


def make_classify(settings: Settings):  # type: ignore[no-untyped-def]
    from aggregator.topics.classifier import Classifier
    from aggregator.topics.taxonomy import load_taxonomy

    classifier = Classifier(load_taxonomy(settings.topics_file))

    def classify(post: Post, defaults: Sequence[str]) -> Sequence[TopicLike]:
        matches: Sequence[TopicLike] = classifier.classify(post, defaults)
        return matches

    return classify
