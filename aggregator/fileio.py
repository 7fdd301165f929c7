"""Writing output files: whole or not at all, and one readable line when it cannot be done.

Every command that writes a file (export, export --split, archive, lists export) goes
through `atomic_text`: the bytes go to a temporary file in the target's directory, are
fsynced, and the temporary file is renamed over the target, so a reader, a backup job or a
crash never sees half a file. On any error the temporary file is removed and an OSError
becomes an OutputError naming the path and the reason ("Not a directory", "Permission
denied"; a full disk or quota reads "disk full at PATH"), never a traceback.
"""

from __future__ import annotations

import errno
import gzip
import io
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, cast

from aggregator.errors import OutputError

_FULL = (errno.ENOSPC, errno.EDQUOT)


def output_error(path: Path, exc: OSError) -> OutputError:
    reason = exc.strerror or type(exc).__name__
    if exc.errno in _FULL:
        return OutputError(f"disk full at {path} ({reason}): the file was not written")
    return OutputError(f"cannot write {path}: {reason}")


def make_dirs(directory: Path) -> None:
    """`mkdir -p`, with an OutputError instead of a traceback."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(directory, exc) from None


def _file_mode() -> int:
    """What a plain open() would give a new file: 0666 less the umask."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


@contextmanager
def atomic_binary(path: Path) -> Iterator[IO[bytes]]:
    """A binary file that becomes `path` only once the block ends without an error."""
    try:
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                        suffix=".part")
    except OSError as exc:
        raise output_error(path, exc) from None
    tmp = Path(tmp_name)
    try:
        os.fchmod(fd, _file_mode())
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise output_error(path, exc) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_text(path: Path, *, gz: bool = False) -> Iterator[IO[str]]:
    """UTF-8 text to `path`, atomically; `gz`: deterministic gzip (no name or time in the
    header, so the same text gives the same bytes)."""
    with atomic_binary(path) as raw:
        binary = cast(IO[bytes], gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0)
                      if gz else raw)
        text = io.TextIOWrapper(binary, encoding="utf-8", newline="")
        try:
            yield text
            text.detach()  # flushes; leaves `raw` open: atomic_binary fsyncs and closes it
            if gz:
                binary.close()  # writes the gzip trailer; does not close `raw`
        except BaseException:  # atomic_binary removes the file: just let go of it quietly
            with suppress(OSError, ValueError):
                text.detach()
            if gz:
                with suppress(OSError, ValueError):
                    binary.close()
            raise
