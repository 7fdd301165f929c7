"""Log formats for servers: one JSON object per line (`rounds daemon --log-format json`)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """time, level, logger, message, plus any `extra={...}` fields of the call."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                data[key] = value if isinstance(value, int | float | bool | None) else str(value)
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        # ensure_ascii: text from strangers (source names, errors) cannot reach a terminal raw
        return json.dumps(data, ensure_ascii=True)


def configure_daemon_logging(log_file: str | None, fmt: str, level: int) -> None:
    """Replace the root handlers: one line per event to the file (or stderr)."""
    from logging.handlers import WatchedFileHandler

    handler: logging.Handler = (WatchedFileHandler(log_file, encoding="utf-8") if log_file
                                else logging.StreamHandler())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # one line per run: the runner's; keep the libraries' chatter to warnings
    for noisy in ("apscheduler", "aggregator.service", "urllib3"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
