"""Settings: a TOML file, then the environment (ROUNDS_*), then CLI flags.

The file format is the contract users rely on (see config/rounds.example.toml). Every
problem is reported as one ConfigError naming the file, the key and what is wrong.
Secrets never live in the file: an account names the environment variable (or a 0600
file) that holds its token.
"""

from __future__ import annotations

import logging
import os
import stat
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import platformdirs

from aggregator.errors import ConfigError
from aggregator.models import NETWORKS, Network, Target, TargetKind
from aggregator.when import WhenError, parse_deadline, parse_duration

if TYPE_CHECKING:
    from aggregator.query import Vocabulary

logger = logging.getLogger(__name__)

APP = "grandrounds"
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP)) / "rounds.toml"


def default_database_url() -> str:
    return f"sqlite:///{Path(platformdirs.user_data_dir(APP)) / 'rounds.db'}"


@dataclass(frozen=True, slots=True)
class AccountSettings:
    """A login (or anonymous access) on one server."""

    name: str
    network: Network
    base_url: str
    token_env: str | None = None  # Mastodon access token
    token_file: str | None = None  # alternative: a 0600 file holding the token
    bearer_token_env: str | None = None  # X app-only bearer token
    consumer_key_env: str | None = None
    consumer_secret_env: str | None = None
    access_token_env: str | None = None
    access_token_secret_env: str | None = None
    max_reads_per_day: int | None = None
    allow_insecure: bool = False
    handle: str | None = None  # Bluesky: log in as this handle (search, hashtag)
    app_password_env: str | None = None  # Bluesky: the app password's variable

    def secret(self, env_key: str | None, environ: Mapping[str, str]) -> str | None:
        return environ.get(env_key) or None if env_key else None

    def token(self, environ: Mapping[str, str]) -> str | None:
        """The access token (Mastodon) or bearer token (X), if one is configured."""
        env_key = self.token_env if self.network == "mastodon" else self.bearer_token_env
        value = self.secret(env_key, environ)
        if value is None and self.token_file:
            value = read_secret_file(Path(self.token_file).expanduser())
        return value


@dataclass(frozen=True, slots=True)
class SourceSettings:
    name: str
    account: str
    target: Target
    every: int = 900  # seconds
    topics: tuple[str, ...] = ()
    backfill: int = 200


@dataclass(frozen=True, slots=True)
class ViewSettings:
    name: str
    query: str


@dataclass(frozen=True, slots=True)
class MuteSettings:
    """A `[[mutes]]` entry: a query-language expression whose posts the reader and
    `rounds search` hide, until `until` (None: for good)."""

    query: str
    until: datetime | None = None

    def active(self, now: datetime) -> bool:
        return self.until is None or now < self.until


@dataclass(frozen=True, slots=True)
class ReaderSettings:
    mark_read_on_move: bool = False
    poll_seconds: float = 5.0
    images: str = "on-demand"  # IMAGE_MODES: `i` loads them, "auto" as a post opens, "off"
    image_max_mb: float = 10.0  # a larger image is refused, before it is downloaded
    image_cache_mb: float = 200.0  # the on-disk image cache is trimmed back to this


CROSSREF_URL = "https://api.crossref.org"


@dataclass(frozen=True, slots=True)
class PapersSettings:
    """`[papers]`: only `rounds papers enrich` reads it (nothing is fetched otherwise)."""

    mailto: str = ""  # sent to Crossref (its polite pool); enrich refuses to run without
    crossref_url: str = CROSSREF_URL
    requests_per_second: float = 1.0  # at most; Crossref asks for restraint


@dataclass(frozen=True, slots=True)
class Settings:
    path: Path | None
    database_url: str
    accounts: Mapping[str, AccountSettings] = field(default_factory=dict)
    sources: tuple[SourceSettings, ...] = ()
    views: tuple[ViewSettings, ...] = ()
    mutes: tuple[MuteSettings, ...] = ()
    topics_file: Path | None = None
    reader: ReaderSettings = ReaderSettings()
    recheck_hours: int = 48
    papers: PapersSettings = PapersSettings()

    def query_vocabulary(self, imported: Sequence[str] = ()) -> Vocabulary:
        """What queries may name: the taxonomy's topics, the configured sources and the
        `imported` (import-only) sources' names."""
        from aggregator.query import Vocabulary
        from aggregator.topics.taxonomy import load_taxonomy

        taxonomy = load_taxonomy(self.topics_file)
        return Vocabulary(topics={t.id: t.name for t in taxonomy.topics},
                          sources=(*(s.name for s in self.sources), *imported))

    def source(self, name: str) -> SourceSettings:
        for s in self.sources:
            if s.name == name:
                return s
        raise ConfigError(self.unknown_source(name))

    def unknown_source(self, name: str, imported: Sequence[str] = ()) -> str:
        known = ", ".join([*(s.name for s in self.sources), *imported]) or "none configured"
        return f"no source named {name!r} (known: {known})"


def read_secret_file(path: Path) -> str:
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read token file ({exc.strerror})") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        logger.warning("%s is readable by group or others; chmod 600 it", path)
    return text


# ---------------------------------------------------------------- validation helpers


class _Table:
    """A TOML table being validated: tracks which keys were used to report unknown ones."""

    def __init__(self, where: str, data: Any, path: Path | None) -> None:
        self.where, self.path = where, path
        if not isinstance(data, dict):
            self.fail(where, f"must be a table, not {type(data).__name__}")
        self.data: dict[str, Any] = data

    def fail(self, key: str, problem: str) -> None:
        raise ConfigError(f"{self.path or '<config>'}: {key}: {problem}")

    def key(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def get(self, name: str, kind: type | tuple[type, ...], default: Any = None,
            required: bool = False) -> Any:
        if name not in self.data:
            if required:
                self.fail(self.key(name), "missing (required)")
            return default
        value = self.data[name]
        if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
            kinds = kind if isinstance(kind, tuple) else (kind,)
            names = " or ".join(k.__name__ for k in kinds)
            self.fail(self.key(name), f"must be {names}, not {type(value).__name__} ({value!r})")
        return value

    def check_unknown(self, allowed: set[str]) -> None:
        unknown = sorted(set(self.data) - allowed)
        if unknown:
            self.fail(self.key(unknown[0]), f"unknown key (allowed: {', '.join(sorted(allowed))})")


_ACCOUNT_KEYS = {
    "network", "base_url", "token_env", "token_file", "bearer_token_env", "consumer_key_env",
    "consumer_secret_env", "access_token_env", "access_token_secret_env",
    "max_reads_per_day", "allow_insecure", "handle", "app_password_env",
}
_SOURCE_KEYS = {"name", "account", "list", "hashtag", "user", "search", "curated", "feed", "every",
                "topics", "backfill"}
IMAGE_MODES = ("on-demand", "auto", "off")
_TOP_KEYS = {"database", "accounts", "sources", "views", "mutes", "topics_file", "reader",
             "recheck_hours", "papers"}
_TARGETS: tuple[TargetKind, ...] = ("list", "hashtag", "user", "search", "curated", "feed")
_DEFAULT_BASE = {"twitter": "https://api.twitter.com", "bluesky": "https://public.api.bsky.app",
                 "bluesky+login": "https://bsky.social"}
FEED_MIN_EVERY = 3600  # seconds: feeds are polled politely, never more than once an hour


def _account(name: str, data: Any, path: Path | None) -> AccountSettings:
    t = _Table(f"accounts.{name}", data, path)
    t.check_unknown(_ACCOUNT_KEYS)
    network = t.get("network", str, required=True)
    if network not in NETWORKS:
        t.fail(t.key("network"), f"must be one of {', '.join(NETWORKS)}, not {network!r}")
    handle = _bluesky_login(t, network)
    base_url = t.get("base_url", str, _DEFAULT_BASE.get(network + ("+login" if handle else "")),
                     required=network == "mastodon")
    allow_insecure = t.get("allow_insecure", bool, False)
    if network == "feed" and base_url is None:
        base_url = ""  # each feed source names its own URL
    else:
        _check_url(t, "base_url", base_url, allow_insecure)
    envs = {k: t.get(k, str) for k in _ACCOUNT_KEYS if k.endswith("_env")}
    if network == "feed" and (given := [k for k in ("token_file", *envs) if t.data.get(k)]):
        t.fail(t.key(given[0]), "feed accounts log in nowhere: remove it")
    if network == "mastodon" and envs["bearer_token_env"]:
        t.fail(t.key("bearer_token_env"), "is for X accounts; Mastodon uses token_env")
    max_reads = t.get("max_reads_per_day", int)
    if max_reads is not None and max_reads <= 0:
        t.fail(t.key("max_reads_per_day"), "must be a positive number")
    return AccountSettings(
        name=name, network=network, base_url=base_url.rstrip("/"),
        token_file=t.get("token_file", str), max_reads_per_day=max_reads,
        allow_insecure=allow_insecure, handle=handle, **envs,
    )


def _check_url(t: _Table, key: str, url: str, allow_insecure: bool) -> None:
    """An http(s) URL; plain http only on loopback or with allow_insecure."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        t.fail(t.key(key), f"must be an http(s) URL, not {url!r}")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK and not allow_insecure:
        t.fail(t.key(key), "must use https (set allow_insecure = true on the account to "
                           "override)")


def _bluesky_login(t: _Table, network: str) -> str | None:
    """`handle` and `app_password_env` go together, on Bluesky accounts only."""
    handle: str | None = t.get("handle", str)
    env: str | None = t.get("app_password_env", str)
    if network != "bluesky":
        if handle is not None or env is not None:
            t.fail(t.key("handle" if handle is not None else "app_password_env"),
                   "is for Bluesky accounts only")
        return None
    if handle is not None:
        handle = handle.strip().lstrip("@")
        if not handle:
            t.fail(t.key("handle"), "must not be empty")
        if not env:
            t.fail(t.key("app_password_env"), "missing (required with handle): name the "
                   "environment variable that holds an app password")
    elif env is not None:
        t.fail(t.key("handle"), "missing (required with app_password_env)")
    return handle


def _source(i: int, data: Any, accounts: Mapping[str, AccountSettings],
            path: Path | None) -> SourceSettings:
    t = _Table(f"sources[{i}]", data, path)
    name = t.get("name", str, required=True)
    t.where = f"sources.{name}" if name.strip() else t.where
    t.check_unknown(_SOURCE_KEYS)
    if not name.strip():
        t.fail(t.key("name"), "must not be empty")
    account_name = t.get("account", str, required=True)
    if account_name not in accounts:
        known = ", ".join(accounts) or "none defined"
        t.fail(t.key("account"), f"names undefined account {account_name!r} (defined: {known})")
    account = accounts[account_name]
    given = [k for k in _TARGETS if k in t.data]
    if len(given) != 1:
        t.fail(t.where, f"needs exactly one of {', '.join(_TARGETS)} (got {len(given)})")
    kind = given[0]
    value = t.get(kind, str).strip()
    if not value:
        t.fail(t.key(kind), "must not be empty")
    if kind == "search" and account.network == "mastodon":
        t.fail(t.key("search"), "search sources are for X accounts only, or Bluesky ones; "
                                "use hashtag on Mastodon")
    if account.network == "bluesky":
        value = _bluesky_target(t, kind, value, account)
    elif account.network == "feed":
        if kind not in ("feed", "curated"):
            t.fail(t.key(kind), "feed accounts read feeds (feed = \"https://…\") or the "
                                "feeds of a curated list's voices (curated = \"LIST\")")
        if kind == "feed":
            _check_url(t, "feed", value, account.allow_insecure)
    elif kind == "feed":
        t.fail(t.key("feed"), "feed sources are for Bluesky accounts (a custom feed) or "
                              "feed accounts (RSS/Atom) only")
    if kind == "hashtag":
        value = value.lstrip("#")
    if kind == "list" and account.network == "mastodon" and not (
        account.token_env or account.token_file
    ):
        t.fail(t.key("list"),
               f"list timelines need a token: set token_env on accounts.{account_name}")
    if kind == "user" and account.network == "mastodon":
        value = value.lstrip("@")
    try:
        every = int(parse_duration(t.get("every", str, "1h" if account.network == "feed"
                                          else "15m")).total_seconds())
    except WhenError as exc:
        t.fail(t.key("every"), str(exc))
    if account.network == "feed" and every < FEED_MIN_EVERY:
        t.fail(t.key("every"), "must be at least 1h for feeds (polite polling)")
    topics = t.get("topics", list, [])
    if not all(isinstance(x, str) for x in topics):
        t.fail(t.key("topics"), "must be a list of topic ids (strings)")
    backfill = t.get("backfill", int, 200)
    if backfill < 0:
        t.fail(t.key("backfill"), "must be 0 or more")
    return SourceSettings(name=name, account=account_name, target=Target(kind, value),
                          every=every, topics=tuple(topics), backfill=backfill)


def _bluesky_target(t: _Table, kind: str, value: str, account: AccountSettings) -> str:
    from aggregator.collectors.bluesky.uris import check_target

    if kind in ("hashtag", "search") and not account.handle:
        t.fail(t.key(kind), f"Bluesky {kind} sources need a login: set handle and "
                            f"app_password_env on accounts.{account.name}")
    try:
        return check_target(kind, value)
    except ValueError as exc:
        t.fail(t.key(kind), str(exc))
    raise AssertionError  # t.fail raised


def _mute(i: int, data: Any, path: Path | None) -> tuple[MuteSettings, _Table]:
    t = _Table(f"mutes[{i}]", data, path)
    t.check_unknown({"query", "until"})
    query = t.get("query", str, required=True)
    if not query.strip():
        t.fail(t.key("query"), "must not be empty (it would hide every post)")
    until = t.get("until", (str, date))
    return MuteSettings(query, None if until is None else _mute_until(t, until)), t


def _mute_until(t: _Table, value: str | date) -> datetime:
    if isinstance(value, datetime):  # TOML times: 2026-12-31T08:00:00Z
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        return parse_deadline(value.isoformat() if isinstance(value, date) else value,
                          datetime.now(UTC))
    except WhenError as exc:
        t.fail(t.key("until"), str(exc))
    raise AssertionError  # t.fail raised


def _check_names(settings: Settings, view_tables: Sequence[_Table],
                 mute_tables: Sequence[_Table] = ()) -> None:
    """Saved views and mutes must parse and name known topics and sources (a mute must
    also name something: not hide every post); a source's topics must be topic ids.
    Checked once, when the file loads (the taxonomy only if needed)."""
    from aggregator.errors import QueryError
    from aggregator.query import parse_mute, parse_query

    if not view_tables and not mute_tables and not any(s.topics for s in settings.sources):
        return
    vocabulary = settings.query_vocabulary()
    for s in settings.sources:
        unknown = [t for t in s.topics if t not in vocabulary.topics]
        if unknown:
            raise ConfigError(f"{settings.path or '<config>'}: sources.{s.name}.topics: "
                              f"unknown topic {unknown[0]!r} (topic ids: "
                              f"{', '.join(vocabulary.topics)})")
    for table, view in zip(view_tables, settings.views, strict=True):
        try:
            parse_query(view.query, now=datetime(2000, 1, 1, tzinfo=UTC), vocabulary=vocabulary)
        except QueryError as exc:
            table.fail(table.key("query"), f"view {view.name!r}: {exc}")
    for table, mute in zip(mute_tables, settings.mutes, strict=True):
        try:
            parse_mute(mute.query, now=datetime(2000, 1, 1, tzinfo=UTC), vocabulary=vocabulary)
        except QueryError as exc:
            table.fail(table.key("query"), str(exc))


def _megabytes(t: _Table, name: str, default: float) -> float:
    value = float(t.get(name, (int, float), default))
    if not 0 < value <= 100_000:
        t.fail(t.key(name), f"must be a number of megabytes above 0, not {value:g}")
    return value


def parse_settings(data: Mapping[str, Any], path: Path | None,
                   environ: Mapping[str, str]) -> Settings:
    top = _Table("", dict(data), path)
    top.check_unknown(_TOP_KEYS)
    db = _Table("database", top.get("database", dict, {}), path)
    db.check_unknown({"url"})
    url = environ.get("ROUNDS_DATABASE_URL") or db.get("url", str) or default_database_url()
    accounts = {
        name: _account(name, acc, path) for name, acc in top.get("accounts", dict, {}).items()
    }
    sources = tuple(
        _source(i, s, accounts, path) for i, s in enumerate(top.get("sources", list, []))
    )
    seen: set[str] = set()
    for s in sources:
        if s.name in seen:
            top.fail(f"sources.{s.name}", "duplicate source name")
        seen.add(s.name)
    views, view_tables = [], []
    for i, v in enumerate(top.get("views", list, [])):
        vt = _Table(f"views[{i}]", v, path)
        vt.check_unknown({"name", "query"})
        views.append(ViewSettings(vt.get("name", str, required=True),
                                  vt.get("query", str, required=True)))
        view_tables.append(vt)
    mute_pairs = [_mute(i, m, path) for i, m in enumerate(top.get("mutes", list, []))]
    topics_file = top.get("topics_file", str)
    rt = _Table("reader", top.get("reader", dict, {}), path)
    rt.check_unknown({"mark_read_on_move", "poll_seconds", "images", "image_max_mb",
                      "image_cache_mb"})
    images = rt.get("images", str, "on-demand")
    if images not in IMAGE_MODES:
        rt.fail(rt.key("images"), f"must be one of {', '.join(IMAGE_MODES)}, not {images!r}")
    reader = ReaderSettings(rt.get("mark_read_on_move", bool, False),
                            float(rt.get("poll_seconds", (int, float), 5.0)), images,
                            _megabytes(rt, "image_max_mb", 10.0),
                            _megabytes(rt, "image_cache_mb", 200.0))
    recheck = top.get("recheck_hours", int, 48)
    papers = _papers(_Table("papers", top.get("papers", dict, {}), path))
    base = path.parent if path else Path.cwd()
    settings = Settings(
        path=path, database_url=url, accounts=accounts, sources=sources, views=tuple(views),
        mutes=tuple(m for m, _ in mute_pairs),
        topics_file=(base / Path(topics_file).expanduser()) if topics_file else None,
        reader=reader, recheck_hours=recheck, papers=papers,
    )
    _check_names(settings, view_tables, [t for _, t in mute_pairs])
    return settings


def _papers(t: _Table) -> PapersSettings:
    t.check_unknown({"mailto", "crossref_url", "requests_per_second"})
    mailto = t.get("mailto", str, "").strip()
    if mailto and ("@" not in mailto or any(c.isspace() for c in mailto)):
        t.fail(t.key("mailto"), f"must be an email address, not {mailto!r}")
    url = t.get("crossref_url", str, CROSSREF_URL).rstrip("/")
    _check_url(t, "crossref_url", url, False)
    rate = float(t.get("requests_per_second", (int, float), 1.0))
    if not 0 < rate <= 10:
        t.fail(t.key("requests_per_second"), f"must be above 0 and at most 10, not {rate}")
    return PapersSettings(mailto, url, rate)


def find_config(explicit: str | None, environ: Mapping[str, str]) -> tuple[Path, bool]:
    """Where the config lives and whether the user asked for it explicitly."""
    if explicit:
        return Path(explicit).expanduser(), True
    if environ.get("ROUNDS_CONFIG"):
        return Path(environ["ROUNDS_CONFIG"]).expanduser(), True
    return default_config_path(), False


def load_settings(explicit: str | None = None, environ: Mapping[str, str] | None = None,
                  database_url: str | None = None) -> Settings:
    """Load the config file (a missing default file is an empty config), apply env and flags."""
    environ = os.environ if environ is None else environ
    path, asked = find_config(explicit, environ)
    data: dict[str, Any] = {}
    if path.exists():
        try:
            with path.open("rb") as fh:
                data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
        if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            logger.warning("%s is readable by group or others; chmod 600 it", path)
    elif asked:
        raise ConfigError(f"{path}: no such file (run `rounds init` to create one)")
    settings = parse_settings(data, path if path.exists() else None, environ)
    if database_url:
        settings = Settings(**{**_as_dict(settings), "database_url": database_url})
    return settings


def _as_dict(s: Settings) -> dict[str, Any]:
    return {f: getattr(s, f) for f in s.__dataclass_fields__}
