"""Mastodon: list, hashtag and account timelines via Mastodon.py (api), mapped to models
(normalize) and paged with cursors (collector)."""

from __future__ import annotations

from aggregator.collectors.mastodon.api import MastodonApi, TimelinePage
from aggregator.collectors.mastodon.collector import MastodonCollector
from aggregator.collectors.mastodon.normalize import html_to_text, normalize_status

__all__ = ["MastodonApi", "MastodonCollector", "TimelinePage", "html_to_text", "normalize_status"]
