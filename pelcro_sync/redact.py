"""Scrub secrets from text before it is shown, logged or stored.

Every `Secret` registers its value here when created, so a message that somehow picked one
up (an exception from a library, a URL with a token in it) is still cleaned on the way out.
"""

import logging
import re
import threading

_BEARER = re.compile(r"(?i)(bearer\s+)[^\s'\",;]+")
_URL_PASSWORD = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@/\s]+(@)")
_QUERY_SECRET = re.compile(r"(?i)([?&](?:access_token|client_secret|code|api_key|token)=)[^&\s]+")

_known: set[str] = set()
_lock = threading.Lock()
MASK = "****"


def register(value: str) -> None:
    """Remember a secret value so `redact` removes it wherever it appears."""
    if len(value) >= 4:
        with _lock:
            _known.add(value)


def redact(text: str) -> str:
    """`text` with every known secret, bearer token, URL password and secret query value masked."""
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, MASK)
    text = _BEARER.sub(rf"\g<1>{MASK}", text)
    text = _URL_PASSWORD.sub(rf"\g<1>{MASK}\g<2>", text)
    return _QUERY_SECRET.sub(rf"\g<1>{MASK}", text)


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
