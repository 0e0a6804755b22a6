"""The webhook signature recipe (INFERRED, README §14): the one place that knows it.

Pelcro documents the header `X-Pelcro-Hmac-SHA256` and a base64 value of 44 characters (a
32-byte digest), but not the algorithm text; we assume
`base64(HMAC-SHA256(key=signing secret, msg=raw request body))`. Should Pelcro's real
deliveries fail verification, this module is the only thing to change.
"""

import base64
import hashlib
import hmac
import time

HEADER = "X-Pelcro-Hmac-SHA256"
# Pelcro retries failed deliveries with exponential backoff for an undocumented while; three
# days keeps genuine late retries while refusing the replay of an old captured request.
DEFAULT_TOLERANCE_S = 3 * 24 * 3600


def sign(secret: str, body: bytes) -> str:
    """The header value Pelcro would send for `body` signed with `secret`."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """Whether `header` is the signature of `body` under `secret`, compared in constant time."""
    if not secret or not header:
        return False
    expected = sign(secret, body).encode("ascii")
    try:
        given = header.strip().encode("ascii")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(expected, given)


def is_stale(
    created: float | None, *, tolerance_s: float = DEFAULT_TOLERANCE_S, now: float | None = None
) -> bool:
    """Whether an envelope `created` (unix seconds) is older than `tolerance_s`.

    A missing `created` is not stale (the body is signed, so only Pelcro could omit it);
    a tolerance of 0 turns the check off.
    """
    if created is None or tolerance_s <= 0:
        return False
    return (time.time() if now is None else now) - created > tolerance_s
