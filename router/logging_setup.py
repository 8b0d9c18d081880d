"""Structured logs without personal data.

Log records are JSON lines; only whitelisted `extra` fields are written (ids, decision kind and
reason, intent, scores, timings). Message texts, names and profiles are never passed to the
logger, and a field outside the whitelist is dropped rather than risk printing one. As a second line
of defence, `guardrails.pii.PiiLogFilter` redacts card numbers, phones, e-mails, IBANs, accounts and
passports from every record (message, fields, traceback).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

SAFE_FIELDS = frozenset(
    {
        "dialog_id",
        "message_id",
        "ticket_id",
        "kind",
        "reason",
        "intent",
        "confidence",
        "latency_ms",
        "error_type",
        "artifact",
        "seconds",
        "count",
        "path",
        "variant",
        "status",
    }
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        entry |= {k: v for k, v in record.__dict__.items() if k in SAFE_FIELDS}
        if record.exc_info:
            entry["error_type"] = record.exc_info[0].__name__ if record.exc_info[0] else None
            entry["traceback"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO", json_lines: bool = True) -> None:
    from guardrails.pii import PiiLogFilter

    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(PiiLogFilter())  # card numbers, phones, e-mails, IBANs... never reach a log line
    handler.setFormatter(
        JsonFormatter() if json_lines else logging.Formatter("%(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
