"""Logs: dossier code and trace ids on every record, redaction, JSON lines."""

from __future__ import annotations

import json as jsonlib
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import opentelemetry.trace
import temporalio.activity
import temporalio.workflow

from infra.privacy import redact
from infra.telemetry.names import DOSSIER_CODE
from infra.telemetry.tracing import current_trace_ids


def _dossier_code_of(record: logging.LogRecord) -> str | None:
    given = getattr(record, "dossier_code", None)
    if given:
        return str(given)
    for extra in ("temporal_activity", "temporal_workflow"):
        info = getattr(record, extra, None)
        if isinstance(info, Mapping) and info.get("workflow_id"):
            return str(info["workflow_id"])
    if temporalio.activity.in_activity():
        return temporalio.activity.info().workflow_id
    if temporalio.workflow.in_workflow():
        return temporalio.workflow.info().workflow_id
    span = opentelemetry.trace.get_current_span()
    attributes = getattr(span, "attributes", None)
    if isinstance(attributes, Mapping) and attributes.get(DOSSIER_CODE):
        return str(attributes[DOSSIER_CODE])
    return None


class ContextFilter(logging.Filter):
    """Adds `dossier_code`, `trace_id` and `span_id` to every record (None when unknown)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            record.dossier_code = _dossier_code_of(record)
        except Exception:
            record.dossier_code = None
        if not getattr(record, "trace_id", None):
            record.trace_id, record.span_id = current_trace_ids()
        return True


_TRACEBACKS = logging.Formatter()


class RedactFilter(logging.Filter):
    """Every record's message, exception trace and stack through `privacy.redact` before
    any handler formats it: a pydantic error echoing the applicant's input, a failed
    statement's parameters, a URL with its query string, an ID number, phone or e-mail
    never reach a log line. (The record is changed in place: handlers added after this
    one, such as pytest's, see the redacted record too.)"""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: logging reports it, not us
            return True
        clean = redact(message)
        if clean != message and not self._redacted_arguments(record):
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = redact(_TRACEBACKS.formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True

    @staticmethod
    def _redacted_arguments(record: logging.LogRecord) -> bool:
        """Redact a record's arguments one by one and keep them, if the line they make
        is then clean (a clean record keeps its arguments as they are): a formatter may
        read them (uvicorn's access formatter unpacks
        them, and fails on a record whose arguments were replaced by its message)."""
        original = record.args
        if not isinstance(original, tuple) or not original:
            return False
        record.args = tuple(redact(a) if isinstance(a, str) else a for a in original)
        try:
            line = record.getMessage()
        except Exception:
            line = None
        if line is not None and redact(line) == line:
            return True
        record.args = original
        return False


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, dossier_code,
    trace_id, span_id, and the Temporal workflow/activity info when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "dossier_code": getattr(record, "dossier_code", None),
            "trace_id": getattr(record, "trace_id", None),
            "span_id": getattr(record, "span_id", None),
        }
        # Structured fields of a line (`extra={"fields": {...}}`), e.g. a supervisor's restarts.
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):
            for key, value in fields.items():
                out.setdefault(str(key), value)
        for extra in ("temporal_activity", "temporal_workflow"):
            info = getattr(record, extra, None)
            if isinstance(info, Mapping):
                out[extra.removeprefix("temporal_")] = {
                    k: v for k, v in info.items() if isinstance(v, str | int | float | bool)
                }
        if record.exc_text:
            out["exception"] = record.exc_text
        elif record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return jsonlib.dumps(out, ensure_ascii=False, default=str)


class _NoQueryString(logging.Filter):
    """uvicorn's access lines without query strings (the tracking route takes the
    applicant's ID number there)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


# Libraries that say too much at INFO (font subsetting for every rendered form).
_QUIET = {"fontTools": logging.WARNING, "alembic.runtime.plugins": logging.WARNING}
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(dossier_code)s %(trace_id)s] %(message)s"
_HANDLER_NAME = "motcua"


def log_handler(json: bool, stream: Any = None) -> logging.Handler:
    """A stream handler with motcua's context and redaction filters and format."""
    handler = logging.StreamHandler(stream)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactFilter())
    handler.setFormatter(JsonFormatter() if json else logging.Formatter(TEXT_FORMAT))
    return handler


def configure_logging(json: bool, level: str | int = "INFO") -> None:
    """Root logging for a motcua process: JSON lines (`json=True`) or text on stderr,
    with the dossier code and trace id of what is being run. Idempotent."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if h.get_name() == _HANDLER_NAME:
            root.removeHandler(h)
    root.addHandler(log_handler(json))
    root.setLevel(level)
    for name, quiet in _QUIET.items():
        logging.getLogger(name).setLevel(quiet)
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _NoQueryString) for f in access.filters):
        access.addFilter(_NoQueryString())
    # uvicorn's own handlers (text mode keeps them) must not print what ours would redact.
    for name in ("uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactFilter) for f in logger.filters):
            logger.addFilter(RedactFilter())
    if json:
        _uvicorn_logs_to_root()


def _uvicorn_logs_to_root() -> None:
    """uvicorn configures its own text handlers when it starts: have its loggers
    propagate to the root (JSON) handler instead."""
    try:
        from uvicorn.config import LOGGING_CONFIG
    except ImportError:  # pragma: no cover - uvicorn is a dependency
        return
    LOGGING_CONFIG["handlers"] = {}
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        LOGGING_CONFIG["loggers"][name] = {"level": "INFO", "propagate": True}
