"""Per-source health for `rounds status` and monitoring: no secrets, only facts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from aggregator.export import iso_z
from aggregator.jobs import next_due
from aggregator.settings import Settings
from aggregator.storage.import_sources import list_import_sources
from aggregator.storage.repository import Repository
from aggregator.storage.schema import post_sources, sources

FAILING_AFTER = 3  # consecutive failures that make `rounds status` exit 1


@dataclass(frozen=True, slots=True)
class SourceStatus:
    name: str
    network: str
    account: str
    every: int
    last_run_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    consecutive_failures: int
    next_due: datetime | None  # None: due now (never run)
    posts_24h: int
    claimed_by: str | None
    x_reads_today: int | None  # X accounts only: items read today (UTC), all its sources
    x_reads_budget: int | None
    imported: bool = False  # an import-only source (`rounds import`): never collected

    @property
    def failing(self) -> bool:
        return self.consecutive_failures >= FAILING_AFTER

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "network": self.network, "account": self.account,
            "every_seconds": self.every, "last_run_at": iso_z(self.last_run_at),
            "last_success_at": iso_z(self.last_success_at), "last_error": self.last_error,
            "consecutive_failures": self.consecutive_failures,
            "next_due": iso_z(self.next_due), "posts_24h": self.posts_24h,
            "claimed_by": self.claimed_by, "x_reads_today": self.x_reads_today,
            "x_reads_budget": self.x_reads_budget, "failing": self.failing,
            "imported": self.imported,
        }


def never_run(settings: Settings) -> list[SourceStatus]:
    """Every configured source as it stands before the first collect (no archive yet)."""
    out = []
    for s in settings.sources:
        account = settings.accounts[s.account]
        x = account.network == "twitter"
        out.append(SourceStatus(
            name=s.name, network=account.network, account=s.account, every=s.every,
            last_run_at=None, last_success_at=None, last_error=None, consecutive_failures=0,
            next_due=None, posts_24h=0, claimed_by=None, x_reads_today=0 if x else None,
            x_reads_budget=account.max_reads_per_day if x else None))
    return out


def stored_sources(settings: Settings, repo: Repository) -> dict[str, Any]:
    """The stored row of each configured source, by name, read without writing: a source
    not collected yet, or whose target changed since (its cursor is the old target's), has
    none. Read-only commands use this; `Repository.sync_sources` is for collecting."""
    with repo.db.engine.connect() as conn:
        rows = {r.name: r for r in conn.execute(select(sources))}
    out = {}
    for s in settings.sources:
        row = rows.get(s.name)
        if row is not None and (row.kind, row.value, row.account) == (
                s.target.kind, s.target.value, s.account):
            out[s.name] = row
    return out


def _recent(repo: Repository) -> dict[int, int]:
    """Posts each source brought in the last 24 hours, by source id."""
    since = repo.clock.now() - timedelta(hours=24)
    with repo.db.engine.connect() as conn:
        return {int(r[0]): int(r[1]) for r in conn.execute(
            select(post_sources.c.source_id, func.count())
            .where(post_sources.c.first_seen >= since).group_by(post_sources.c.source_id))}


def import_status(settings: Settings, repo: Repository) -> list[SourceStatus]:
    """The import-only sources (`rounds import`) that are not also configured: no
    schedule, no account; their last run is their last import."""
    configured = {s.name for s in settings.sources}
    found = [s for s in list_import_sources(repo.db) if s.name not in configured]
    recent = _recent(repo) if found else {}
    return [SourceStatus(
        name=s.name, network=s.network, account="", every=0, last_run_at=s.last_run_at,
        last_success_at=s.last_success_at, last_error=s.last_error, consecutive_failures=0,
        next_due=None, posts_24h=recent.get(s.id, 0), claimed_by=None, x_reads_today=None,
        x_reads_budget=None, imported=True) for s in found]


def list_status(settings: Settings, repo: Repository) -> list[SourceStatus]:
    stored = stored_sources(settings, repo)
    recent = _recent(repo)
    start = repo.start_of_day()
    reads = {name: repo.reads_since(name, start) for name, acc in settings.accounts.items()
             if acc.network == "twitter"}
    out = []
    fresh = {r.name: r for r in never_run(settings)}
    for s in settings.sources:
        row = stored.get(s.name)
        if row is None:
            out.append(fresh[s.name])
            continue
        account = settings.accounts[s.account]
        out.append(SourceStatus(
            name=s.name, network=account.network, account=s.account, every=s.every,
            last_run_at=row.last_run_at, last_success_at=row.last_success_at,
            last_error=row.last_error, consecutive_failures=row.consecutive_failures or 0,
            next_due=next_due(row.last_run_at, s.every, repo.clock.now()),
            posts_24h=recent.get(row.id, 0),
            claimed_by=row.claimed_by, x_reads_today=reads.get(s.account),
            x_reads_budget=account.max_reads_per_day if account.network == "twitter" else None,
        ))
    return out
