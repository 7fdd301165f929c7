"""`rounds import`: posts from files other tools (and we) wrote, into the archive.

Each format's reader (`formats`, `twitter`, `xarchive`, `mastodon`, `rounds`,
`bluesky_car`) streams `Item`s: posts normalized by the network's own collector
normalizer, or a malformed item's position and reason. `run.Importer` stores them in
batches through `Repository.save_page`, as collected pages are stored.
"""
