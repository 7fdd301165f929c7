"""Curation: voices (people and organizations) with identities on Mastodon and X, curated
lists of them with a recorded membership history, CSV import/export, and sync to the
remote lists of both networks."""
