"""Scrub secrets from text before it is shown, logged or stored: the one place that knows how.

Every `Secret` registers its value here when created, so a message that somehow picked one
up (an exception from a library, a URL with a token in it) is still cleaned on the way out.
Patterns catch the secrets we were never told about: bearer tokens, URL passwords, and
`password=` / `api_key=` / `token=` pairs.
"""

import logging
import re
import threading
from collections.abc import Iterable

MASK = "***"
_BEARER = re.compile(r"(?i)\bbearer\s+(?!\*\*\*)[^\s'\",;]+")
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")
_PASSWORD_KV = re.compile(r"(?i)(password\s*=\s*)('[^']*'|[^\s&]+)")
_SECRET_KV = re.compile(
    r"(?i)\b(api[_-]?key|access[_-]?token|refresh[_-]?token|client[_-]?secret|secret|token"
    r"|authorization)(\"?\s*[=:]\s*\"?)(?!bearer\b)(?!\*\*\*)[^\s&\"',;]+"
)

_known: set[str] = set()
_lock = threading.Lock()


def register(value: str) -> None:
    """Remember a secret value so `redact` removes it wherever it appears."""
    if len(value) >= 4:
        with _lock:
            _known.add(value)


def redact(text: str, extra: Iterable[str] = ()) -> str:
    """`text` with every known secret (and `extra` ones) and every secret-looking pair masked."""
    with _lock:
        values = sorted({*_known, *(v for v in extra if v)}, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, MASK)
    text = _BEARER.sub(f"Bearer {MASK}", text)
    text = _URL_PASSWORD.sub(rf"\g<1>{MASK}@", text)
    text = _PASSWORD_KV.sub(rf"\g<1>{MASK}", text)
    return _SECRET_KV.sub(rf"\g<1>\g<2>{MASK}", text)


def one_line(text: str, *, limit: int = 1000) -> str:
    """`text` redacted, on one line, at most `limit` characters: fit for a log or a table."""
    return redact(" ".join(text.split()))[:limit]


class RedactingFilter(logging.Filter):
    """A logging filter that redacts each record's rendered message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_log_redaction() -> None:
    """Redact every record that reaches the root logger's handlers."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
