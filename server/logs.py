"""One line per event, plain (like the seed's console lines) or JSON, by config.

    events.emit("job.queued", "Job abc queued (Queue: 3, Active: 2/2)", job_id="abc", queue=3)

Plain:  2025-11-14 18:30:00 INFO  Job abc queued (Queue: 3, Active: 2/2)
JSON:   {"ts": "...", "level": "info", "event": "job.queued", "msg": "...", "job_id": "abc", ...}
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, Literal, TextIO

LOGGER_NAME = "reelfarm"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "event": getattr(record, "event", record.name),
            "msg": record.getMessage(),
        }
        out.update(getattr(record, "fields", {}))
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def configure(
    fmt: Literal["plain", "json"], level: str, stream: TextIO | None = None
) -> logging.Logger:
    """Set up the `reelfarm` logger (idempotent: a reload replaces the handler)."""
    logger = logging.getLogger(LOGGER_NAME)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-5s %(message)s", "%Y-%m-%d %H:%M:%S")
        )
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False
    return logger


class EventLog:
    """Structured events on the `reelfarm` logger: a readable message plus machine fields."""

    def __init__(self, name: str = LOGGER_NAME):
        self.logger = logging.getLogger(name)

    def emit(self, event: str, message: str, *, level: int = logging.INFO, **fields: Any) -> None:
        if self.logger.isEnabledFor(level):
            self.logger.log(level, message, extra={"event": event, "fields": fields})

    def warning(self, event: str, message: str, **fields: Any) -> None:
        self.emit(event, message, level=logging.WARNING, **fields)

    def error(self, event: str, message: str, **fields: Any) -> None:
        self.emit(event, message, level=logging.ERROR, **fields)
