"""CSV import and export.

Formats (`detect_format` tells them apart by the first row):

* ``mastodon-lists``: Mastodon's lists export, no header: ``List name,Account address``.
* ``mastodon-following``: Mastodon's following export, header
  ``Account address,Show boosts,Notify on new posts,Languages``; imported into one list.
* ``rich``: ours, header ``List name,Account address,Platform,Account ID,Display name,Role,
  Topics,Note,Added at``; its first two columns stay Mastodon-compatible. Topics are
  separated by ``;``. Platform is ``mastodon``, ``x`` or ``bluesky``; the Account ID is the
  X user id or the Bluesky DID (what keeps naming the account when its handle changes).

An import validates every row first: bad rows are reported with their row number and
reason, and nothing is written unless `skip_bad` (then the good rows are imported).
Mastodon-format exports hold fediverse accounts only.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from aggregator.curation.handles import normalize_handle
from aggregator.curation.store import CurationStore
from aggregator.errors import CurationError
from aggregator.models import Network

Format = Literal["mastodon-lists", "mastodon-following", "rich"]
FORMATS: tuple[Format, ...] = ("mastodon-lists", "mastodon-following", "rich")
RICH_HEADER = ["List name", "Account address", "Platform", "Account ID", "Display name", "Role",
               "Topics", "Note", "Added at"]
FOLLOWING_HEADER = ["Account address", "Show boosts", "Notify on new posts", "Languages"]
_PLATFORMS: dict[str, Network] = {"mastodon": "mastodon", "fediverse": "mastodon",
                                  "twitter": "twitter", "x": "twitter", "bluesky": "bluesky",
                                  "bsky": "bluesky", "feed": "feed", "rss": "feed",
                                  "atom": "feed", "blog": "feed"}
_PLATFORM_NAMES: dict[Network, str] = {"mastodon": "mastodon", "twitter": "x",
                                       "bluesky": "bluesky", "feed": "feed"}
_FORMULA = ("=", "+", "-", "@")


@dataclass(frozen=True, slots=True)
class ImportRow:
    row: int  # 1-based line number in the file
    list_name: str
    network: Network
    handle: str
    remote_id: str = ""
    display_name: str = ""
    role: str = ""
    topics: tuple[str, ...] = ()
    note: str = ""
    added_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class BadRow:
    row: int
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.reason}"


@dataclass
class ImportReport:
    rows: list[ImportRow] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)
    added: int = 0
    already: int = 0
    lists_created: list[str] = field(default_factory=list)


def detect_format(text: str) -> Format:
    first = next(csv.reader(io.StringIO(text)), [])
    cells = [c.strip().lower() for c in first]
    if cells[:1] == ["account address"]:
        return "mastodon-following"
    if cells[:3] == ["list name", "account address", "platform"]:
        return "rich"
    return "mastodon-lists"


def _unguard(text: str) -> str:
    return text[1:] if text.startswith("'") and text[1:2] in _FORMULA else text


def _guard(text: str) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas: quote them."""
    return f"'{text}" if text.startswith(_FORMULA) else text


def parse_csv(text: str, fmt: Format | None = None, *,
              into_list: str | None = None) -> ImportReport:
    """Validate every row; `into_list` is required for the following format."""
    fmt = fmt or detect_format(text)
    report = ImportReport()
    if fmt == "mastodon-following" and not (into_list or "").strip():
        raise CurationError("a following export has no list names: say which list to "
                            "import it into (--list NAME)")
    for number, cells in enumerate(csv.reader(io.StringIO(text.lstrip("\ufeff"))), start=1):
        if not any(c.strip() for c in cells):
            continue
        if number == 1 and fmt in ("rich", "mastodon-following"):
            continue  # the header
        try:
            report.rows.append(_row(fmt, number, [c.strip() for c in cells], into_list or ""))
        except CurationError as exc:
            report.bad.append(BadRow(number, str(exc)))
    return report


def _row(fmt: Format, number: int, cells: list[str], into_list: str) -> ImportRow:
    if fmt == "mastodon-following":
        return ImportRow(number, into_list.strip(), "mastodon",
                         normalize_handle("mastodon", _need(cells, 0, "Account address")))
    if fmt == "mastodon-lists":
        if len(cells) != 2:
            raise CurationError(f"expected 2 columns (List name,Account address), got "
                                f"{len(cells)}")
        return ImportRow(number, _need(cells, 0, "List name"), "mastodon",
                         normalize_handle("mastodon", _need(cells, 1, "Account address")))
    if len(cells) != len(RICH_HEADER):
        raise CurationError(f"expected {len(RICH_HEADER)} columns, got {len(cells)}")
    platform = cells[2].lower() or "mastodon"
    if platform not in _PLATFORMS:
        raise CurationError(f"unknown platform {cells[2][:40]!r} (use mastodon, x, bluesky "
                            "or feed)")
    network = _PLATFORMS[platform]
    added_at = None
    if cells[8]:
        try:
            added_at = datetime.fromisoformat(cells[8].replace("Z", "+00:00"))
        except ValueError:
            raise CurationError(f"Added at {cells[8][:40]!r} is not an ISO date") from None
        added_at = added_at if added_at.tzinfo else added_at.replace(tzinfo=UTC)
    topics = tuple(t.strip() for t in cells[6].split(";") if t.strip())
    return ImportRow(number, _need(cells, 0, "List name"), network,
                     normalize_handle(network, _need(cells, 1, "Account address")),
                     remote_id=cells[3], display_name=_unguard(cells[4]), role=cells[5],
                     topics=topics, note=_unguard(cells[7]), added_at=added_at)


def _row_order(cells: list[str]) -> tuple[str, str]:
    return (cells[1].lower(), cells[2] if len(cells) > 2 else "")


def _need(cells: Sequence[str], index: int, name: str) -> str:
    if index >= len(cells) or not cells[index]:
        raise CurationError(f"{name} is empty")
    return cells[index]


def import_csv(store: CurationStore, text: str, fmt: Format | None = None, *,
               into_list: str | None = None, skip_bad: bool = False,
               command: str = "lists import") -> ImportReport:
    """Parse, then (all rows good, or `skip_bad`) add every row's account to its list,
    creating lists and voices as needed. Raises CurationError listing the bad rows."""
    report = parse_csv(text, fmt, into_list=into_list)
    if report.bad and not skip_bad:
        shown = "\n".join(f"  {b}" for b in report.bad[:50])
        more = f"\n  ... and {len(report.bad) - 50} more" if len(report.bad) > 50 else ""
        raise CurationError(f"{len(report.bad)} bad row(s), nothing imported "
                            f"(--skip-bad imports the good ones):\n{shown}{more}")
    known = {lst.name for lst in store.list_lists()}
    for row in report.rows:
        if row.list_name not in known:
            store.create_list(row.list_name)
            known.add(row.list_name)
            report.lists_created.append(row.list_name)
        voice = store.find_voice(row.network, row.handle)
        if voice is None and row.network == "bluesky":  # known by its DID: maybe renamed
            voice = store.find_by_remote_id(row.network, row.remote_id)
        if voice is None:
            voice = store.add_voice(row.display_name, [(row.network, row.handle)],
                                    role=row.role, topics=row.topics, note=row.note,
                                    display_names=[row.display_name])
        if row.remote_id:
            store.save_remote_id(row.network, row.handle, row.remote_id)
        if store.add_member(row.list_name, voice, command, at=row.added_at):
            report.added += 1
        else:
            report.already += 1
    return report


def export_csv(store: CurationStore, names: Sequence[str] | None = None,
               fmt: Format = "mastodon-lists") -> str:
    """The lists (all when `names` is None) as CSV text, rows sorted by list then address."""
    if fmt == "mastodon-following":
        raise CurationError("the following format is import-only; export mastodon-lists "
                            "or rich")
    lists = [store.get_list(n) for n in names] if names else store.list_lists()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if fmt == "rich":
        writer.writerow(RICH_HEADER)
    for lst in lists:
        added = store.added_at(lst.name)
        rows: list[list[str]] = []
        for voice in store.members(lst.name):
            for ident in voice.identities:
                if fmt == "mastodon-lists":
                    if ident.network == "mastodon":
                        rows.append([lst.name, ident.handle])
                    continue
                when = added.get(voice.id)
                rows.append([lst.name, ident.handle, _PLATFORM_NAMES[ident.network],
                             ident.remote_id, _guard(voice.name), voice.role,
                             ";".join(voice.topics), _guard(voice.note),
                             when.isoformat().replace("+00:00", "Z") if when else ""])
        rows.sort(key=_row_order)
        writer.writerows(rows)
    return out.getvalue()
