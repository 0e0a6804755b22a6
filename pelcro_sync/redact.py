"""Scrub secrets from text before it is shown, logged or stored: the one place that knows how.

Every `Secret` registers its value here when created, so a message that somehow picked one
up (an exception from a library, a URL with a token in it) is still cleaned on the way out.
Patterns catch the secrets we were never told about: bearer tokens, URL passwords, and
`password=` / `api_key=` / `token=` pairs.
"""

import logging
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

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
    """A logging filter that redacts each record's rendered message and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def redact_record(record: logging.LogRecord) -> None:
    """Mask secrets in `record`'s message, traceback and stack text, in place.

    A record holding no secret is left exactly as it was (its `msg` template and `args`
    intact). A traceback that holds one is rendered, masked and folded into the message,
    and `exc_info` dropped: no handler or formatter can render the raw exception again.
    """
    try:
        message = record.getMessage()
    except Exception:
        return  # a record that cannot render is the handler's to report, as logging does
    cleaned = redact(message)
    if record.exc_info and record.exc_info[0] is not None:
        trace = record.exc_text or _FORMATTER.formatException(record.exc_info)
        masked = redact(trace)
        if masked != trace:
            cleaned = f"{cleaned}\n{masked}"
            record.exc_info, record.exc_text = None, None
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    if cleaned != message:
        record.msg, record.args = cleaned, None


_FORMATTER = logging.Formatter()


def install_log_redaction() -> None:
    """Redact every log record of this process, whichever logger and handler it reaches.

    Records are masked as they are made (a record factory), so handlers this process never
    sees being added are covered too: Dagster's managed-logger handler, which it attaches to
    `pelcro_sync`'s logger for each run, the console and compute logs, and Python's
    last-resort stderr handler. The root logger's handlers also get a `RedactingFilter`, for
    records made before this was called. Idempotent; no I/O.
    """
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
    current = logging.getLogRecordFactory()
    if not isinstance(current, _RedactingFactory):
        logging.setLogRecordFactory(_RedactingFactory(current))


class _RedactingFactory:
    """Wraps the record factory in place (Dagster or a test may have set one of its own)."""

    def __init__(self, inner: Callable[..., logging.LogRecord]) -> None:
        self.inner = inner

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.inner(*args, **kwargs)
        redact_record(record)
        return record
