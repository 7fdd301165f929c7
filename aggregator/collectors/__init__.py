"""Collectors: pure producers of normalized posts, one sub-package per network with the
same file names (api, entities, normalize, collector). They never see a database."""
