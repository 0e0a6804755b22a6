"""Error bodies in every documented shape become one actionable line, never with a secret."""

import pytest

from pelcro_sync.errors import (
    ApiError,
    AuthError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    ValidationError,
    error_from_response,
    parse_error_body,
)

SECRET = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.sekrit-token-value"
WHERE = "GET /customers?site_id=4996"
KEY = "API key (PELCRO_API_KEY)"
TOKEN = "OAuth access token (PELCRO_ACCESS_TOKEN)"

HTML_502 = b"""<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>
<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"""


@pytest.mark.parametrize(
    ("body", "message", "fields"),
    [
        (b'{"errors": {"email": ["The email field is required."]}}',
         "email: The email field is required.", {"email": ["The email field is required."]}),
        (b'{"errors": {"plan_id": ["Plan ID is required"], "email": ["Bad.", "Worse."]}}',
         "plan_id: Plan ID is required; email: Bad. Worse.",
         {"plan_id": ["Plan ID is required"], "email": ["Bad.", "Worse."]}),
        (b'{"message": "The given data was invalid.", "errors": {"limit": ["Too big."]}}',
         "The given data was invalid. (limit: Too big.)", {"limit": ["Too big."]}),
        (b'{"error": {"status": 401, "message": "Invalid or expired token"}}',
         "Invalid or expired token", {}),
        (b'{"message": "Unauthenticated."}', "Unauthenticated.", {}),
        (HTML_502, "non-JSON body: 502 Bad Gateway", {}),
        (b"<html><body>oops</body></html>", "non-JSON body (an HTML page)", {}),
        (b"upstream connect error", "non-JSON body: upstream connect error", {}),
        (b"", "empty body", {}),
        (b"   ", "empty body", {}),
        (b"[1, 2]", "[1, 2]", {}),
        (b"{}", "no message", {}),
    ],
    ids=["field-errors", "several-fields", "laravel-422", "wrapped-error", "message",
         "html-502", "html-no-title", "plain-text", "empty", "blank", "json-array", "empty-object"],
)  # fmt: skip
def test_parse_error_body(body: bytes, message: str, fields: dict) -> None:
    assert parse_error_body(body) == (message, fields)


def test_long_bodies_are_clipped_to_one_line() -> None:
    message, _ = parse_error_body(b'{"message": "' + b"x\\n" * 500 + b'"}')
    assert len(message) <= 300 and "\n" not in message


@pytest.mark.parametrize(
    ("status", "cls"),
    [(400, ValidationError), (422, ValidationError), (401, AuthError),
     (403, PermissionDeniedError), (404, NotFoundError), (429, RateLimitedError),
     (500, ServerError), (502, ServerError), (503, ServerError), (409, ApiError)],
    ids=lambda v: str(v) if isinstance(v, int) else v.__name__,
)  # fmt: skip
def test_status_maps_to_a_typed_error(status: int, cls: type) -> None:
    error = error_from_response(status=status, where=WHERE, body=b'{"message": "m"}')
    assert type(error) is cls
    assert error.status == status and error.where == WHERE
    assert str(error).startswith(WHERE) and "\n" not in str(error)


def test_401_for_an_api_key_says_what_to_check() -> None:
    error = error_from_response(status=401, where=WHERE, body=b"", credential_kind=KEY)
    assert "API key was rejected (revoked, deleted or mistyped)" in str(error)
    assert "PELCRO_API_KEY" in str(error)


def test_401_for_an_oauth_token_says_how_to_get_a_new_one() -> None:
    error = error_from_response(status=401, where=WHERE, body=b"", credential_kind=TOKEN)
    assert "tokens last two days" in str(error)
    assert "pelcro-sync oauth url" in str(error) and "oauth exchange CODE" in str(error)


def test_403_names_the_site_and_endpoint() -> None:
    error = error_from_response(status=403, where=WHERE, body=b'{"message":"contact owner"}')
    assert "GET /customers?site_id=4996" in str(error) and "permission" in str(error)


def test_400_joins_the_field_messages() -> None:
    body = b'{"errors": {"limit": ["The limit may not be greater than 100."]}}'
    error = error_from_response(status=400, where=WHERE, body=body)
    assert isinstance(error, ValidationError)
    assert "limit: The limit may not be greater than 100." in str(error)
    assert error.fields == {"limit": ["The limit may not be greater than 100."]}


def test_429_carries_retry_after() -> None:
    error = error_from_response(status=429, where=WHERE, body=b"", retry_after=37.0)
    assert isinstance(error, RateLimitedError) and error.retry_after == 37.0
    assert "37 s" in str(error)


def test_html_502_message_is_short_and_has_no_markup() -> None:
    error = error_from_response(status=502, where=WHERE, body=HTML_502)
    assert "502 Bad Gateway" in str(error) and "<" not in str(error)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 429, 500, 418])
def test_an_echoed_secret_is_redacted(status: int) -> None:
    body = ('{"message": "token ' + SECRET + ' is not valid"}').encode()
    error = error_from_response(status=status, where=WHERE, body=body, secrets=[SECRET])
    assert SECRET not in str(error) and SECRET not in repr(error)
    assert SECRET not in error.detail
