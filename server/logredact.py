"""Secrets never reach the logs: every log record is redacted when it is made.

A log record factory (so every logger and handler is covered, including
libraries') replaces in the formatted message:

- the configured secrets themselves (JWT secret, card-hash key, broker
  password, InfluxDB token) wherever they appear;
- bearer tokens (``Bearer …``) and anything shaped like a JWT (``eyJ….….…``);
- dynamic QR tokens (``DQ1.…``);
- ``password=…`` / ``"password": "…"`` style fields (also ``secret``,
  ``token``, ``key``);
- PEM private key blocks.

Only records that are actually created (their level is enabled) pay the cost.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import Any, Final

REDACTED: Final = "[REDACTED]"
_MIN_SECRET_CHARS: Final = 8

_PATTERNS: Final = (
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
    re.compile(r"\bDQ1\.[A-Za-z0-9_-]{20,}"),
    re.compile(
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)", re.DOTALL
    ),
    re.compile(
        r"""(?ix)
        (?P<name>["']?\b[a-z_]*(?:password|passwd|secret|token|api_key|private_key)\b["']?
        \s*[:=]\s*)
        (?P<value>"[^"]*"|'[^']*'|[^\s,;&}]+)
        """
    ),
)

_lock = threading.Lock()
_secrets: set[str] = set()
_installed = False


def redact(text: str) -> str:
    """``text`` with every known secret and secret-shaped value replaced."""
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        if pattern.groups and "name" in pattern.groupindex:
            text = pattern.sub(lambda m: m.group("name") + REDACTED, text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


def _redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except (TypeError, ValueError):
        return  # a broken format string is logging's own error to report
    cleaned = redact(message)
    if cleaned != message:
        record.msg = cleaned
        record.args = None


def install(secrets: Iterable[str | None] = ()) -> None:
    """Redact every log record of this process from now on; remember ``secrets``."""
    global _installed
    with _lock:
        _secrets.update(s for s in secrets if s and len(s) >= _MIN_SECRET_CHARS)
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            _redact_record(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True
