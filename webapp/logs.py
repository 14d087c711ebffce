"""Structured logs: one JSON object per line, with no patient answers in them.

Answers live only in the session cookie, and nothing here reads the session or form data.
Exception messages can quote what a person typed, so errors are logged by type and place
(file, line, function), never by message.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from flask import Flask, g, request
from flask.logging import default_handler


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc)
                            .isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        return json.dumps(entry, ensure_ascii=False, default=str)


def error_fields(error: BaseException) -> dict[str, Any]:
    """What went wrong and where, without the message (it may quote a person's input)."""
    frames = traceback.extract_tb(error.__traceback__)[-8:]
    return {
        "error": f"{type(error).__module__}.{type(error).__qualname__}",
        "where": [f"{'/'.join(Path(frame.filename).parts[-2:])}:{frame.lineno} {frame.name}"
                  for frame in frames],
    }


# Patient pages: their addresses say which questions a person was asked
# ("/es/questions/cp_pain_duration" means chronic pancreatitis), which group of results they
# opened, or which clinic's link they came through. Their log lines name the endpoint only.
PATIENT_BLUEPRINTS = frozenset({"screener", "sharing"})


def request_fields() -> dict[str, Any]:
    """What a log line says about the request: method and endpoint, and the path (without its
    query string) only outside the patient pages."""
    fields: dict[str, Any] = {"method": request.method, "endpoint": request.endpoint}
    if request.blueprint in PATIENT_BLUEPRINTS or request.endpoint is None:
        # An address no page matched may be a mistyped patient address: its first part only.
        first = request.path.strip("/").split("/", 1)[0]
        fields["area"] = first if first.isascii() and first.isalpha() and len(first) <= 8 else None
    else:
        fields["path"] = request.path
    return fields


def register_logging(app: Flask) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines())
    app.logger.removeHandler(default_handler)
    if not any(isinstance(h.formatter, JsonLines) for h in app.logger.handlers):
        app.logger.addHandler(handler)
    app.logger.setLevel(logging.INFO)

    @app.before_request
    def start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def log_request(response):  # type: ignore[no-untyped-def]
        if request.endpoint != "static":
            elapsed = time.perf_counter() - g.get("request_started", time.perf_counter())
            app.logger.info("request", extra={"fields": {
                **request_fields(), "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 1),
            }})
        return response
