"""Where a Bluesky login is kept between runs: a 0600 JSON file in the user data directory.

createSession is limited to about 30 per 5 minutes and 300 per day per account, so a run
never logs in when a stored session still works. The file holds the access and refresh
JWTs: it lives next to the database default (platformdirs' user data dir), never in the
config, the database, logs or exports. One file per handle and server.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import platformdirs

logger = logging.getLogger(__name__)
_UNSAFE = re.compile(r"[^a-zA-Z0-9._-]")


@dataclass(frozen=True, slots=True)
class StoredSession:
    did: str
    access_jwt: str
    refresh_jwt: str

    @classmethod
    def from_json(cls, data: dict[str, object]) -> StoredSession | None:
        """The session in a createSession/refreshSession answer or our file; None when a
        token is missing."""
        did, access, refresh = data.get("did"), data.get("accessJwt"), data.get("refreshJwt")
        if isinstance(did, str) and isinstance(access, str) and isinstance(refresh, str) \
                and did and access and refresh:
            return cls(did, access, refresh)
        return None

    def __repr__(self) -> str:  # never print the tokens
        return f"StoredSession(did={self.did!r}, tokens=***)"


class SessionFile:
    """The stored session of one handle on one server."""

    def __init__(self, handle: str, base_url: str, directory: Path | None = None) -> None:
        directory = directory or Path(platformdirs.user_data_dir("grandrounds")) / "bluesky"
        host = urlsplit(base_url).netloc or base_url
        self.path = directory / _UNSAFE.sub("_", f"session-{handle.lower()}@{host}.json")
        self.handle = handle.lower()

    def load(self) -> StoredSession | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            logger.warning("ignoring unreadable Bluesky session file %s (%s)", self.path,
                           type(exc).__name__)
            return None
        if not isinstance(data, dict) or str(data.get("handle", "")).lower() != self.handle:
            return None
        return StoredSession.from_json(data)

    def save(self, session: StoredSession) -> None:
        """Write atomically with mode 0600 (created so: never readable by others)."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_suffix(".tmp")
        body = json.dumps({"handle": self.handle, "did": session.did,
                           "accessJwt": session.access_jwt, "refreshJwt": session.refresh_jwt})
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, body.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
