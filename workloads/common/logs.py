"""Logging for the workloads: JSON lines on stderr for machines, a plain format for people.

configure_logging("INFO")
log.info("epoch done", extra={"epoch": 3, "loss": 0.12})
-> {"timestamp": "...Z", "level": "INFO", "logger": "trainer", "message": "epoch done",
    "epoch": 3, "loss": 0.12}
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from datetime import UTC, datetime
from typing import Any

# Attributes every LogRecord has; anything else on a record came from `extra={...}`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_MARK = "_ascent_handler"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, message and the `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry |= {k: v for k, v in vars(record).items() if k not in _STANDARD}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str | int = "INFO", json_output: bool | None = None) -> None:
    """Send the root logger to stderr; JSON unless `json_output` is False (default: JSON unless
    stderr is a TTY). Calling it again replaces the handler it installed, never adds a second."""
    if json_output is None:
        json_output = not sys.stderr.isatty()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if json_output
        else logging.Formatter("%(asctime)s %(levelname)-8s %(name)s: %(message)s")
    )
    setattr(handler, _MARK, True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)


class RepeatFilter(logging.Filter):
    """Lets a message through once per `window_s`: librdkafka says "Connect to ... failed" every
    few milliseconds while a broker is down. The next one let through carries `repeated`: how
    many like it were held back. Messages alike differ only in their numbers (timings)."""

    def __init__(self, window_s: float = 60.0):
        super().__init__()
        self.window_s = window_s
        self._seen: dict[str, tuple[float, int]] = {}  # shape -> (last let through, held back)

    def filter(self, record: logging.LogRecord) -> bool:
        shape = re.sub(r"\d+", "#", record.getMessage())
        now = time.monotonic()
        last, held = self._seen.get(shape, (-1e18, 0))
        if now - last < self.window_s:
            self._seen[shape] = (last, held + 1)
            return False
        self._seen[shape] = (now, 0)
        if held:
            record.repeated = held
        return True


def kafka_logger() -> logging.Logger:
    """The logger librdkafka's own lines go to (`logger` in a client's config): warnings and
    above (its `log_level` is set to match), each kind at most once a minute."""
    logger = logging.getLogger("librdkafka")
    if not any(isinstance(f, RepeatFilter) for f in logger.filters):
        logger.addFilter(RepeatFilter())
    return logger
