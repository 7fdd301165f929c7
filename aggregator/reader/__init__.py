"""The reader's read API: what the terminal reader (`tui/`) may ask of the archive.

`feed` holds the reader's protocols (FeedReader, Refresher) and the dataclasses they
return, with their storage-backed implementations; `curator` the same for the curator
screen. The reader is typed against the protocols only and never sees SQL, a session
or a schema table: every query lives in `aggregator.storage.queries`.
"""
