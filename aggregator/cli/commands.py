"""Imports every command module so that its commands register on the `rounds` group."""

from __future__ import annotations

from aggregator.cli import admin, collect, curation, daemon, export, read, status  # noqa: F401
