"""X (Twitter) API v2 collector on tweepy: lists, user timelines and recent search."""

from __future__ import annotations

from aggregator.collectors.twitter.collector import TwitterCollector

__all__ = ["TwitterCollector"]
