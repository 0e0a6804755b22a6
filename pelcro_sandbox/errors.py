"""API errors the sandbox answers with, in the three body shapes Pelcro uses (README §10.2)."""

from typing import Any


class ApiError(Exception):
    """An HTTP error response: status, JSON body and extra headers."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def validation(field: str, message: str) -> ApiError:
    """Laravel's validation shape: {"errors": {field: [message]}}, status 400 (DOCUMENTED)."""
    return ApiError(400, {"errors": {field: [message]}})


def message(status: int, text: str) -> ApiError:
    return ApiError(status, {"message": text})


def wrapped(status: int, text: str) -> ApiError:
    """The Open API's wrapped shape; INFERRED: the Core API uses it in places too."""
    return ApiError(status, {"error": {"status": status, "message": text}})


UNAUTHENTICATED = message(401, "Unauthenticated.")
NOT_FOUND = message(404, "Not found.")
FORBIDDEN_KEY = message(403, "This action is unauthorized. Contact the account owner.")
