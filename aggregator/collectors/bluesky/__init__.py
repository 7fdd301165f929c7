"""Bluesky (AT Protocol) collector: list, author, custom feed, hashtag and search feeds.

* `uris`: bsky.app URLs, at:// URIs, handles and DIDs as users write them (pure, light);
* `entities`: the XRPC feed shapes as small wrappers over JSON, and our stored cursor;
* `normalize`: feed items -> `aggregator.models.Post` (pure);
* `api`: the only module importing `atproto`: sessions, rate limits, error translation;
* `collector`: `BlueskyCollector`, paging with opaque cursors.

This package's ``__init__`` imports nothing: the settings use `uris` without loading the SDK.
"""
