"""Build the ingest-time classify function from settings (taxonomy + user file)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aggregator.models import Post, TopicLike
from aggregator.service import Classify
from aggregator.settings import Settings


def make_classify(settings: Settings,
                  voice_topics: Callable[[Post], Sequence[str]] | None = None) -> Classify:
    from aggregator.topics.classifier import Classifier
    from aggregator.topics.taxonomy import load_taxonomy

    classifier = Classifier(load_taxonomy(settings.topics_file))

    def classify(post: Post, defaults: Sequence[str]) -> Sequence[TopicLike]:
        voices = voice_topics(post) if voice_topics is not None else ()
        matches: Sequence[TopicLike] = classifier.classify(post, defaults, voices)
        return matches

    return classify
