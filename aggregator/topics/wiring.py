"""Build the ingest-time classify function from settings (taxonomy + user file)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aggregator.models import Post, TopicLike
from aggregator.service import Classify
from aggregator.settings import Settings

# (network, identity key or remote id) -> the topics of the curated voice it belongs to:
# plain data (aggregator.curation.sources.voice_topic_index builds it), so a worker process
# can classify with it.
VoiceIndex = dict[tuple[str, str], tuple[str, ...]]


def voice_topics_from(index: VoiceIndex) -> Callable[[Post], tuple[str, ...]]:
    """A post -> its author's voice's topics. Mastodon authors match by acct (user@domain),
    X authors by user id (resolved by sync) or username, Bluesky authors by DID or
    handle."""
    def lookup(post: Post) -> tuple[str, ...]:
        author = post.author
        return (index.get((author.network, author.key.lower()))
                or index.get((author.network, author.handle.lower())) or ())

    return lookup


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
