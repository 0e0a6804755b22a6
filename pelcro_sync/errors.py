"""Typed errors. Every message is one line a person can act on, and never holds a secret."""

from collections.abc import Iterable, Mapping

import orjson

from pelcro_sync.redact import redact

# Enough of a server's message to act on; an echoed payload beyond this is noise.
_MAX_DETAIL = 300


class PelcroSyncError(Exception):
    """Base of every error pelcro-sync raises on purpose; the CLI prints its message alone."""


class ConfigError(PelcroSyncError):
    """A setting is missing or malformed."""


class TimeLimitReached(PelcroSyncError):
    """A request was not sent: the run's time limit (`sync --time-limit`) is up. Not a
    failure: a time-boxed scan stops on it and resumes next run."""


class ApiError(PelcroSyncError):
    """The API answered with a non-2xx status; `where` is "METHOD /path?site_id=N"."""

    def __init__(self, message: str, *, status: int, where: str, detail: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.where = where
        self.detail = detail


class AuthError(ApiError):
    """401: the credential was rejected (missing, revoked, deleted, mistyped or expired)."""


class PermissionDeniedError(ApiError):
    """403: the credential is valid but may not use this site or endpoint."""


class ValidationError(ApiError):
    """400/422: the request was rejected; `fields` maps each field to its messages."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        where: str,
        detail: str = "",
        fields: Mapping[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message, status=status, where=where, detail=detail)
        self.fields = dict(fields or {})


class NotFoundError(ApiError):
    """404: no such object, or it belongs to a site this credential cannot see."""


class RateLimitedError(ApiError):
    """429 after every retry (or a Retry-After too long to wait out)."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        where: str,
        detail: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, where=where, detail=detail)
        self.retry_after = retry_after


class ServerError(ApiError):
    """5xx after every retry."""


class TransportError(PelcroSyncError):
    """No usable answer after every retry: timeout, dropped connection, malformed body."""


class MalformedBodyError(PelcroSyncError):
    """A 2xx body that is not the JSON envelope we expect; retried, then a TransportError."""


def parse_error_body(body: bytes) -> tuple[str, dict[str, list[str]]]:
    """The human message and field errors of an error body, in any documented shape.

    Shapes: `{"errors": {field: [msgs]}}`, `{"error": {"message": …}}`, `{"message": …}`;
    anything else (an HTML 502 page, an empty body) becomes a short summary.
    """
    try:
        parsed = orjson.loads(body) if body.strip() else None
    except orjson.JSONDecodeError:
        return _summarise_non_json(body), {}
    if not isinstance(parsed, dict):
        return ("empty body" if parsed is None else _clip(str(parsed))), {}
    fields = _field_errors(parsed.get("errors"))
    message = ""
    error = parsed.get("error")
    if isinstance(error, dict) and error.get("message"):
        message = str(error["message"])
    elif isinstance(error, str):
        message = error
    elif parsed.get("message"):
        message = str(parsed["message"])
    if fields:
        joined = "; ".join(f"{k}: {' '.join(v)}" for k, v in fields.items())
        message = f"{message} ({joined})" if message else joined
    return _clip(message or "no message"), fields


def _field_errors(raw: object) -> dict[str, list[str]]:
    if not isinstance(raw, dict):
        return {}
    out: dict[str, list[str]] = {}
    for name, msgs in raw.items():
        items = msgs if isinstance(msgs, list) else [msgs]
        out[str(name)] = [str(m) for m in items]
    return out


def _summarise_non_json(body: bytes) -> str:
    """An HTML error page says little beyond its <title>; show that, never the markup."""
    text = body.decode("utf-8", errors="replace")
    lower = text.lower()
    start, end = lower.find("<title>"), lower.find("</title>")
    if 0 <= start < end:
        return _clip("non-JSON body: " + " ".join(text[start + 7 : end].split()))
    if "<html" in lower or "<!doctype" in lower:
        return "non-JSON body (an HTML page)"
    return _clip("non-JSON body: " + " ".join(text.split()))


def _clip(text: str) -> str:
    text = " ".join(text.split())  # one line, whatever the server sent
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"


def error_from_response(
    *,
    status: int,
    where: str,
    body: bytes,
    credential_kind: str = "API key (PELCRO_API_KEY)",
    retry_after: float | None = None,
    secrets: Iterable[str] = (),
) -> ApiError:
    """The typed error for a non-2xx answer, with a one-line message naming what to do."""
    detail, fields = parse_error_body(body)
    detail = redact(detail, secrets)
    said = f"(server said: {detail})"
    if status == 401:
        return AuthError(
            _auth_message(where, credential_kind, said), status=status, where=where, detail=detail
        )
    if status == 403:
        msg = (
            f"{where}: 403 forbidden: the credential is valid but lacks permission for this "
            f"site or endpoint; ask the account owner for an administrator key {said}"
        )
        return PermissionDeniedError(msg, status=status, where=where, detail=detail)
    if status in (400, 422):
        msg = f"{where}: {status} request rejected: {detail}"
        return ValidationError(msg, status=status, where=where, detail=detail, fields=fields)
    if status == 404:
        msg = f"{where}: 404 not found: no such object, or it is not visible to this site {said}"
        return NotFoundError(msg, status=status, where=where, detail=detail)
    if status == 429:
        wait = f"; the server asked to wait {retry_after:g} s" if retry_after is not None else ""
        msg = (
            f"{where}: 429 rate limited even after backing off{wait}; lower PELCRO_RATE_LIMIT "
            f"or run fewer syncs at once {said}"
        )
        return RateLimitedError(
            msg, status=status, where=where, detail=detail, retry_after=retry_after
        )
    if status >= 500:
        msg = f"{where}: {status} server error from Pelcro after retries; try again later {said}"
        return ServerError(msg, status=status, where=where, detail=detail)
    return ApiError(
        f"{where}: unexpected HTTP {status} {said}", status=status, where=where, detail=detail
    )


def _auth_message(where: str, credential_kind: str, said: str) -> str:
    if credential_kind.startswith("OAuth"):
        return (
            f"{where}: 401 the OAuth access token was rejected; tokens last two days: run "
            f"`pelcro-sync oauth url` then `pelcro-sync oauth exchange CODE` for a new one "
            f"and set PELCRO_ACCESS_TOKEN {said}"
        )
    return (
        f"{where}: 401 the API key was rejected (revoked, deleted or mistyped); check "
        f"PELCRO_API_KEY against Account settings > API keys in Pelcro {said}"
    )
