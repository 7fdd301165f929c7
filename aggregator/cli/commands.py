"""Imports every command module so that its commands register on the `rounds` group."""

from __future__ import annotations

from aggregator.cli import (  # noqa: F401
    admin,
    archive,
    catchup,
    collect,
    curation,
    curation_sync,
    daemon,
    demo,
    export,
    feeds,
    importing,
    mutes,
    papers,
    read,
    status,
    topics,
    trends,
)
