"""Log formatting: one configuration (settings.LOGGING), two formats.

- ``LOG_FORMAT=text`` (the default with ``DEBUG=1``)::

      2025-11-08 10:30:00,123 INFO chat.connection [conn=Ab12cdXyz… sock=Qw… user=u1] User u1 connected …

- ``LOG_FORMAT=json`` (the default with ``DEBUG=0``): one JSON object per line::

      {"time": "2025-11-08T10:30:00.123Z", "level": "INFO", "logger": "chat.connection",
       "message": "…", "pid": 4242, "worker": "Ab12cd", "connection_id": "…", "socket_id": "…",
       "user_id": "u1"}

  plus ``request_id`` for HTTP, the structured ``fields`` a call passed
  (``logger.info(..., extra={"fields": {...}})``) and ``exception`` with the traceback.

Both formatters run the final text through `redact`: session cookies, bearer tokens and
``token``/``password``/``secret``/``api_key``/``content``-like ``key=value`` or ``"key": value``
pairs are replaced by ``[redacted]``. That is a safety net: code never logs tokens, passwords or
message bodies in the first place.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from datetime import UTC, datetime
from typing import Any

from retrochat.observability.context import log_context

_SECRET_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Bearer credentials.
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1[redacted]"),
    # key=value / "key": value for secret-ish keys and message bodies.
    (
        re.compile(
            r"(?i)(\b[\w-]*(?:token|password|passwd|secret|api_?key|authorization|cookie|content|fullresponse|chunk|prompt)"
            r"[\w-]*[\"']?\s*[:=]\s*)(?!\[redacted\])(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|[^\s,;&}\]]+)"
        ),
        r"\1[redacted]",
    ),
    # pydantic validation errors quote the input.
    (re.compile(r"(input_value=)(?:\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|\{.*?\}|\[.*?\]|\S+)"), r"\1[redacted]"),
    # Session cookies (either name), signed or raw.
    (re.compile(r"((?:__Secure-)?better-auth\.session_token=)[^;\s\"',]+"), r"\1[redacted]"),
]

_CONTEXT_KEYS = ("request_id", "connection_id", "socket_id", "user_id")
_SHORT = {"request_id": "req", "connection_id": "conn", "socket_id": "sock", "user_id": "user"}
_RESERVED = {"time", "level", "logger", "message", "pid", "worker", "exception", "stack", *_CONTEXT_KEYS}


def redact(text: str) -> str:
    """``text`` with anything that looks like a secret or a message body replaced by ``[redacted]``."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _worker_id() -> str | None:
    # Read lazily: importing the engine while logging is being configured would be too early.
    session = sys.modules.get("retrochat.realtime.session")
    worker = getattr(session, "WORKER_ID", None)
    return worker if isinstance(worker, str) else None


class ContextFilter(logging.Filter):
    """Attaches ``record.context`` (request / connection / socket / user ids known here and now)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not isinstance(getattr(record, "context", None), dict):
            record.context = log_context()
        return True


def _context(record: logging.LogRecord) -> dict[str, str]:
    context = getattr(record, "context", None)
    return context if isinstance(context, dict) else log_context()


class TextFormatter(logging.Formatter):
    """``<time> <LEVEL> <logger> [req=… conn=… sock=… user=…] <message>`` for people."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(ctx)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        context = _context(record)
        parts = [f"{_SHORT[key]}={context[key]}" for key in _CONTEXT_KEYS if context.get(key)]
        record.ctx = f" [{' '.join(parts)}]" if parts else ""
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line (see the module docstring for the keys)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "pid": os.getpid(),
        }
        worker = _worker_id()
        if worker:
            out["worker"] = worker
        out.update({key: value for key, value in _context(record).items() if key in _CONTEXT_KEYS})
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            for key, value in fields.items():
                if isinstance(key, str) and key not in _RESERVED:
                    out[key] = value if isinstance(value, int | float | bool) or value is None else redact(str(value))
        if record.exc_info:
            out["exception"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            out["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(out, ensure_ascii=False, default=str)


class CapacityDropCounter(logging.Filter):
    """Counts channel-layer messages dropped because a channel was full.

    channels_redis drops them inside ``group_send`` and only says so in an INFO line
    ("<n> of <m> channels over capacity in group <g>"): this filter, attached to its logger,
    turns that line into `metrics.layer_over_capacity`. The line itself is kept. A record is
    counted once even if logging was configured twice in the process (``dictConfig`` adds a
    logger's filters again without removing the old ones).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "capacity_counted", False):
            return True
        if isinstance(record.msg, str) and "channels over capacity" in record.msg and record.args:
            record.capacity_counted = True
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            try:
                dropped = int(args[0])  # type: ignore[call-overload]
            except (TypeError, ValueError, IndexError):
                dropped = 1
            from retrochat.observability import metrics

            metrics.layer_over_capacity(dropped)
        return True


def logging_config(*, log_format: str, level: str) -> dict[str, Any]:
    """The `settings.LOGGING` dict: everything to stderr in ``log_format`` (``text`` or ``json``)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "context": {"()": "retrochat.observability.logs.ContextFilter"},
            "capacity": {"()": "retrochat.observability.logs.CapacityDropCounter"},
        },
        "formatters": {
            "text": {"()": "retrochat.observability.logs.TextFormatter"},
            "json": {"()": "retrochat.observability.logs.JsonFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["context"],
            },
        },
        "root": {"handlers": ["console"], "level": "WARNING"},
        "loggers": {
            "retrochat": {"level": level},
            "chat": {"level": level},
            "groups": {"level": level},
            "aifriend": {"level": level},
            # Its over-capacity line is INFO: let it through to the counter (and the log).
            "channels_redis.core": {"level": "INFO", "filters": ["capacity"]},
        },
    }
