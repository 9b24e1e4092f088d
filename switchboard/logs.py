"""Logging set-up: tokens and passwords never reach a log line."""

from __future__ import annotations

import logging
import re

_SECRETS = re.compile(
    r"(?P<key>(?:access_?token|token|password|secret|credential)\"?\s*[=:]\s*\"?)[^&\s\"',}]+"
    r"|(?P<bearer>Bearer\s+)[A-Za-z0-9._~+/=-]+",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    return _SECRETS.sub(
        lambda m: (m.group("key") or m.group("bearer")) + "[redacted]",
        text,
    )


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


def install_redaction() -> None:
    """Adds the filter to every handler of the root and uvicorn loggers."""
    redactor = RedactSecrets()
    for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(redactor)
        for handler in logger.handlers:
            if not any(isinstance(f, RedactSecrets) for f in handler.filters):
                handler.addFilter(redactor)
