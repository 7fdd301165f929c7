"""An on-disk cache of downloaded images with a size limit, least recently used out first.

One file per URL, named by the SHA-256 of the URL (never by anything the server sent), so
a stranger's URL cannot name a path. Writes are atomic (`aggregator.fileio`); reading a
file sets its modification time from the injected clock, which is what "recently used"
means when the cache is trimmed back under its limit after each write. The cache is a
convenience: a cache that cannot be read or written is logged and the image is fetched
again, never an error the reader sees.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import platformdirs

from aggregator.clock import Clock
from aggregator.errors import OutputError
from aggregator.fileio import atomic_binary, make_dirs

logger = logging.getLogger(__name__)

SUFFIX = ".img"


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/grandrounds/images` (platformdirs' user cache dir elsewhere)."""
    return Path(platformdirs.user_cache_dir("grandrounds")) / "images"


class ImageCache:
    def __init__(self, directory: Path, limit_bytes: int, clock: Clock) -> None:
        self.directory = directory
        self.limit_bytes = limit_bytes
        self.clock = clock

    def path_for(self, url: str) -> Path:
        return self.directory / (hashlib.sha256(url.encode("utf-8", "surrogatepass"))
                                 .hexdigest() + SUFFIX)

    def _touch(self, path: Path) -> None:
        stamp = self.clock.now().timestamp()
        os.utime(path, (stamp, stamp))

    def get(self, url: str) -> bytes | None:
        """The cached bytes of `url`, or None; a hit counts as a use."""
        path = self.path_for(url)
        try:
            data = path.read_bytes()
            self._touch(path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            logger.warning("image cache: cannot read %s: %s", path, exc.strerror)
            return None
        return data

    def put(self, url: str, data: bytes) -> None:
        """Keep `data` for `url` (not if it alone is over the limit), then trim."""
        if len(data) > self.limit_bytes:
            return
        path = self.path_for(url)
        try:
            make_dirs(self.directory)
            with atomic_binary(path) as fh:
                fh.write(data)
            self._touch(path)
        except (OutputError, OSError) as exc:
            logger.warning("image cache: %s", exc)
            return
        self.trim()

    def discard(self, url: str) -> None:
        self.path_for(url).unlink(missing_ok=True)

    def entries(self) -> list[tuple[float, int, Path]]:
        """(last use, size, path) of every cached image, least recently used first."""
        found = []
        try:
            for path in self.directory.glob(f"*{SUFFIX}"):
                try:
                    st = path.stat()
                except OSError:
                    continue  # removed meanwhile (another reader trimming)
                found.append((st.st_mtime, st.st_size, path))
        except OSError:
            return []
        return sorted(found)

    def size(self) -> int:
        return sum(size for _, size, _ in self.entries())

    def trim(self) -> None:
        """Remove the least recently used images until the cache is under its limit."""
        entries = self.entries()
        total = sum(size for _, size, _ in entries)
        for _, size, path in entries:
            if total <= self.limit_bytes:
                break
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                logger.warning("image cache: cannot remove %s: %s", path, exc.strerror)
                continue
            total -= size
